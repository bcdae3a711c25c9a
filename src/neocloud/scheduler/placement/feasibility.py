"""Requests that no set of schedulable nodes could ever hold, whatever else is running."""

from __future__ import annotations

from collections.abc import Sequence

from neocloud.domain.jobs import Resources
from neocloud.scheduler.model import NodeState


def unsatisfiable_reason(resources: Resources, nodes: Sequence[NodeState]) -> str | None:
    """Why `resources` can never be placed on `nodes` (schedulable, of its type), or None."""
    return unsatisfiable_for(resources, [n.gpus for n in nodes])


def unsatisfiable_for(resources: Resources, capacities: Sequence[int]) -> str | None:
    """Why `resources` can never be placed on nodes of these GPU counts, or None."""
    g, k, gpu_type = resources.gpus_per_node, resources.nodes, resources.gpu_type
    if g < 1 or k < 1:
        return f"unsatisfiable: requests {g} GPUs per node on {k} nodes"
    if not capacities:
        return f"unsatisfiable: no schedulable node has {gpu_type} GPUs"
    largest = max(capacities)
    if g > largest:
        return (
            f"unsatisfiable: needs {g} {gpu_type} on one node, "
            f"the largest {gpu_type} node has {largest}"
        )
    big_enough = sum(1 for gpus in capacities if gpus >= g)
    if big_enough < k:
        return (
            f"unsatisfiable: needs {k} nodes with {g} {gpu_type} each, "
            f"the fleet has {big_enough} such schedulable {_nodes(big_enough)}"
        )
    return None


def _nodes(count: int) -> str:
    return "node" if count == 1 else "nodes"
