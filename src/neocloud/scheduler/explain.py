"""Sentences for people: why a pending job is waiting (the reason code travels alongside)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from neocloud.domain.jobs import Resources


def quota_message(
    org: str, gpu_type: str, held: int, promised: int, quota: int | None, need: int
) -> str:
    """E.g. "quota: org acme holds 16/16 h100, needs 8 more"."""
    if quota is None:
        return f"quota: org {org} has no {gpu_type} quota, needs {need}"
    holding = f"holds {held}/{quota} {gpu_type}{_promised(promised)}"
    return f"quota: org {org} {holding}, needs {need} more"


def cap_message(
    gpu_type: str, held: int, promised: int, cap: int, fraction: Decimal, total: int, need: int
) -> str:
    """E.g. "sellable cap: external work holds 12/16 h100 (50% of 32), needs 8 more"."""
    return (
        f"sellable cap: external work holds {held}/{cap} {gpu_type} "
        f"({_percent(fraction)} of {total}){_promised(promised)}, needs {need} more"
    )


def capacity_message(resources: Resources, largest: int, nodes_fitting: int) -> str:
    """E.g. "capacity: needs 2 nodes × 8 h100, largest free block is 6 GPUs on one node"."""
    g, k, gpu_type = resources.gpus_per_node, resources.nodes, resources.gpu_type
    need = f"{g} {gpu_type} on one node" if k == 1 else f"{k} nodes × {g} {gpu_type}"
    sentence = f"capacity: needs {need}, largest free block is {largest} GPUs on one node"
    if k > 1 and nodes_fitting > 0:
        sentence += f"; only {nodes_fitting} {_plural(nodes_fitting, 'node')} with {g} free"
    return sentence


def preempting_message(victims: int, gpus: int, gpu_type: str) -> str:
    """E.g. "preempting: waiting for 2 spot jobs to release 4 h100 (preempted)"."""
    return (
        f"preempting: waiting for {victims} spot {_plural(victims, 'job')} "
        f"to release {gpus} {gpu_type} (preempted)"
    )


def priority_message(gpu_type: str, holders: Sequence[str]) -> str:
    """Free GPUs exist but are set aside for jobs that preempted spot work to start."""
    return (
        f"priority: the free {gpu_type} GPUs that fit are held for {', '.join(holders)}, "
        "waiting for preempted spot work to exit"
    )


def _promised(promised: int) -> str:
    return f" with {promised} more promised to jobs waiting on preemption" if promised > 0 else ""


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
