"""Request plumbing every slice shares: the caller (auth, throttle, scope), errors, pagination,
parameters, idempotency, the request clock, body limits, downloads, outbound guard, secrets at
rest, per-org failure isolation and metrics.
"""
