"""What a customer is told about why its job waits or stopped: nothing about other tenants.

The scheduler writes sentences for the operator: they name other orgs, their jobs, their usage
and how long they will still run ("external work holds 4/4 a100", "planned to start in 12 min
when job j1 ends", "the free h100 went first to org acme"). Every job reason a non-operator
reads passes through `disclose`, which keeps the operator's full view and gives everyone else a
sentence built only from the job itself. It is deny-by-default: a reason code it does not know
(one added later) gets a sentence that names the code and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neocloud.server.http.auth import Principal

# Sentences for reasons a job waits; `{gpus}` is the job's own need, e.g. "2 nodes × 8 h100".
_WAITING = {
    "quota": "quota: your org's {gpu_type} quota has no room for it now",
    "borrow_limit": "borrow limit: it needs more {gpu_type} than your org's quota and "
    "borrowing limit allow now",
    "contract": "contract: your org's reserved {gpu_type} contracts have no room for it now",
    "sellable_cap": "sellable cap: the {gpu_type} capacity offered to customers is in use now",
    "capacity": "capacity: {gpus} are not free now",
    "fair_share": "fair share: free {gpu_type} went first to work with less recent usage; "
    "it starts as GPUs free up",
    "planned_start": "planned start: it is next in line for {gpus} and starts when running "
    "work ends",
    "priority": "priority: the free {gpu_type} are held for work of a higher priority",
    "preempting": "preempting: waiting for preempted work to release {gpus}",
    "isolation": "isolation: no cluster that isolates tenants can run {gpus} now",
    "unsatisfiable": "unsatisfiable: no node open to your org can ever hold {gpus}",
}
# Events whose operator sentence names the work that displaced this job.
_DISPLACED = {
    "preempted": "preempted to make room for work of a higher priority",
    "preemption_notice": "preempted for work of a higher priority; SIGTERM now, SIGKILL after "
    "its grace period",
}
# Reasons whose sentence speaks of the job alone (its own lifecycle), shown as written.
_OWN = frozenset(
    {
        "submitted",
        "scheduled",
        "starting",
        "started",
        "running",
        "exited",
        "failed",
        "lost",
        "launch_failed",
        "max_runtime_exceeded",
        "cancelled",
        "cancel_requested",
        "requeued",
        "credit_limit",
        "credit_limit_notice",
        "credit_limit_stop",
        "credit_restored",
        "gpus_assigned",
        "node_failed",
        "node_drained",
    }
)
# Detail keys that identify other work.
_HIDDEN_DETAILS = frozenset({"by_job", "by_org", "holder", "waits_for"})


def disclose(
    p: Principal,
    reason: str | None,
    message: str | None,
    details: Mapping[str, Any] | None,
    *,
    gpu_type: str,
    gpus_per_node: int,
    nodes: int,
) -> tuple[str | None, dict[str, Any]]:
    """A job reason's sentence and details as `p` may see them (the operator sees all)."""
    shown = dict(details or {})
    if p.is_operator or reason is None:
        return message, shown
    for key in _HIDDEN_DETAILS:
        shown.pop(key, None)
    if reason in _OWN:
        return message, shown
    if reason in _DISPLACED:
        return _DISPLACED[reason], shown
    gpus = (
        f"{gpus_per_node} {gpu_type} on one node"
        if nodes == 1
        else f"{nodes} nodes × {gpus_per_node} {gpu_type}"
    )
    template = _WAITING.get(reason)
    if template is None:
        return f"{reason.replace('_', ' ')}: waiting or stopped for a reason of the platform", {}
    return template.format(gpu_type=gpu_type, gpus=gpus), {}
