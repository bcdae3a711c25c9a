"""The audit log: one append-only entry per state-changing call, written in one place.

`scope` holds who is calling (set by the middleware and the auth dependency), `listener` turns
the request's database changes into an entry inside the same transaction, `middleware` records
refused and failed calls, `service` and `router` read the log back.
"""
