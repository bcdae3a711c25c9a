"""Sentences for people: why a pending job is waiting (the reason code travels alongside)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from neocloud.domain.jobs import Resources

# How many job ids a sentence names before it says "and N more".
_NAMED = 3


def quota_message(
    org: str, gpu_type: str, held: int, promised: int, quota: int | None, need: int
) -> str:
    """E.g. "quota: org acme holds 16/16 h100, needs 8 more"."""
    if quota is None:
        return f"quota: org {org} has no {gpu_type} quota, needs {need}"
    holding = f"holds {held}/{quota} {gpu_type}{_promised(promised)}"
    return f"quota: org {org} {holding}, needs {need} more"


def borrow_limit_message(
    org: str, gpu_type: str, held: int, quota: int, limit: int, need: int
) -> str:
    """E.g. "borrow limit: org acme holds 20 h100 (quota 16, may borrow 4 more), needs 8 more"."""
    return (
        f"borrow limit: org {org} holds {held} {gpu_type} "
        f"(quota {quota}, may borrow {limit} more), needs {need} more"
    )


def cohort_message(
    org: str, gpu_type: str, borrow: int, quota: int, held_all: int, quota_all: int
) -> str:
    """An internal org would borrow, but the other internal orgs leave too little unused."""
    unused = max(0, quota_all - held_all)
    return (
        f"borrow limit: org {org} would borrow {borrow} {gpu_type} beyond its quota of {quota}, "
        f"but internal orgs leave only {unused} unused "
        f"(they hold {held_all} of {quota_all} {gpu_type} quota)"
    )


def lent_message(
    org: str, gpu_type: str, held: int, quota: int, held_all: int, quota_all: int
) -> str:
    """A job within its quota whose unused quota other internal orgs borrowed."""
    return (
        f"quota: org {org} holds {held}/{quota} {gpu_type}, the rest of its quota is lent to "
        f"other internal orgs (they hold {held_all} of {quota_all} {gpu_type} quota); batch "
        "work waits for it to be returned, production and research work reclaims it"
    )


def contract_message(org: str, gpu_type: str, held: int, contract: int, need: int) -> str:
    """E.g. "contract: org acme holds 16/16 reserved h100, needs 8 more"."""
    if contract <= 0:
        return f"contract: org {org} has no active reserved {gpu_type} contract, needs {need}"
    return f"contract: org {org} holds {held}/{contract} reserved {gpu_type}, needs {need} more"


def cap_message(
    gpu_type: str,
    counted: int,
    held: int,
    promised: int,
    cap: int,
    fraction: Decimal,
    total: int,
    need: int,
) -> str:
    """E.g. "sellable cap: external work holds 12/16 h100 (50% of 32), needs 8 more".

    `counted` is what counts against the cap (reserved contracts in full); `held` is what
    external work physically holds. When they differ, the sentence shows both.
    """
    of = f"({_percent(fraction)} of {total})"
    if counted == held:
        usage = f"holds {counted}/{cap} {gpu_type} {of}"
    else:
        usage = (
            f"counts {counted}/{cap} {gpu_type} {of}: {held} held, "
            f"{counted - held} more under reserved contracts"
        )
    return f"sellable cap: external work {usage}{_promised(promised)}, needs {need} more"


def capacity_message(resources: Resources, largest: int, nodes_fitting: int) -> str:
    """E.g. "capacity: needs 2 nodes × 8 h100, largest free block is 6 GPUs on one node"."""
    sentence = (
        f"capacity: needs {_shape(resources)}, largest free block is {largest} GPUs on one node"
    )
    g, k = resources.gpus_per_node, resources.nodes
    if k > 1 and nodes_fitting > 0:
        sentence += f"; only {nodes_fitting} {_plural(nodes_fitting, 'node')} with {g} free"
    return sentence


def planned_message(
    resources: Resources,
    largest: int,
    nodes_fitting: int,
    wait_seconds: float,
    waits_for: Sequence[str],
) -> str:
    """E.g. "capacity: needs 2 nodes × 8 h100, largest free block is 6 GPUs on one node;
    planned to start in 12 min when jobs j1, j2 end"."""
    sentence = capacity_message(resources, largest, nodes_fitting)
    sentence += f"; planned to start {_in(wait_seconds)}"
    if len(waits_for) == 1:
        sentence += f" when job {waits_for[0]} ends"
    elif waits_for:
        sentence += f" when jobs {_names(waits_for)} end"
    return sentence


def delay_message(holder: str, wait_seconds: float, runtime: int) -> str:
    """A job that fits now but would delay the reserved job's planned start."""
    return (
        f"planned start: starting now would delay job {holder}, planned to start "
        f"{_in(wait_seconds)}; this job may run {duration(runtime)}, and the GPUs it fits "
        "are the ones that job needs"
    )


def fair_share_message(
    org: str, own_share: float, ahead: str, ahead_share: float, gpu_type: str
) -> str:
    """A job held back because free GPUs went first to an org with a lower share."""
    return (
        f"fair share: the free {gpu_type} went first to org {ahead} "
        f"({_gpu_hours(ahead_share)} GPU-h of decayed usage per unit of weight) before org "
        f"{org} ({_gpu_hours(own_share)})"
    )


def preempting_message(victims: int, gpus: int, gpu_type: str, kind: str) -> str:
    """E.g. "preempting: waiting for 2 spot jobs to release 4 h100 (preempted)"."""
    return (
        f"preempting: waiting for {victims} {kind} {_plural(victims, 'job')} "
        f"to release {gpus} {gpu_type} (preempted)"
    )


def priority_message(gpu_type: str, holders: Sequence[str]) -> str:
    """Free GPUs exist but are set aside for jobs that preempted work to start."""
    return (
        f"priority: the free {gpu_type} GPUs that fit are held for {_names(holders)}, "
        "waiting for preempted work to exit"
    )


def isolation_message(resources: Resources, clusters: Sequence[str], free: bool) -> str:
    """An external job that would fit only on clusters closed to external work, e.g.
    "isolation: no cluster that isolates tenants has 4 free h100; cluster ray-1 runs external
    work only if the operator allows it"."""
    g, k, gpu_type = resources.gpus_per_node, resources.nodes, resources.gpu_type
    if free:
        need = f"{g} free {gpu_type}" if k == 1 else f"{k} nodes × {g} free {gpu_type}"
    else:
        need = f"a node with {g} {gpu_type}" if k == 1 else f"{k} nodes with {g} {gpu_type} each"
    which = (
        f"cluster {clusters[0]} runs" if len(clusters) == 1 else f"clusters {_names(clusters)} run"
    )
    return (
        f"isolation: no cluster that isolates tenants has {need}; "
        f"{which} external work only if the operator allows it"
    )


def duration(seconds: float) -> str:
    """A duration for people: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _in(seconds: float) -> str:
    return "now" if seconds <= 0 else f"in {duration(seconds)}"


def _shape(resources: Resources) -> str:
    g, k, gpu_type = resources.gpus_per_node, resources.nodes, resources.gpu_type
    return f"{g} {gpu_type} on one node" if k == 1 else f"{k} nodes × {g} {gpu_type}"


def _names(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_NAMED])
    return shown if len(ids) <= _NAMED else f"{shown} and {len(ids) - _NAMED} more"


def _gpu_hours(gpu_seconds: float) -> str:
    return f"{gpu_seconds / 3600:,.1f}"


def _promised(promised: int) -> str:
    return f" with {promised} more promised to jobs waiting on preemption" if promised > 0 else ""


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
