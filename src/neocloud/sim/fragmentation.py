"""Fragmentation: free GPUs that the largest job waiting for capacity cannot use.

A job needing `g` GPUs per node cannot use a node with fewer than `g` free GPUs, so the free
GPUs on such nodes are stranded for it. Per GPU type, the simulator measures this against the
largest per-node need among jobs that wait for capacity (a job held back by its quota or the
sellable cap is not blocked by fragmentation), and reports the time-weighted mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from neocloud.scheduler.model import NodeState, Placement


class FreeGpus:
    """Free GPUs per node and, per GPU type, how many nodes have each number free."""

    def __init__(self, nodes: Iterable[NodeState]) -> None:
        usable = [n for n in nodes if n.schedulable]
        self._free = {n.name: n.gpus for n in usable}
        self._type = {n.name: n.gpu_type for n in usable}
        self._histogram: dict[str, list[int]] = {}
        for node in usable:
            counts = self._histogram.setdefault(node.gpu_type, [])
            if len(counts) <= node.gpus:
                counts.extend([0] * (node.gpus + 1 - len(counts)))
            counts[node.gpus] += 1

    def take(self, placement: Placement) -> None:
        """GPUs of a starting job are no longer free."""
        for slot in placement:
            self._move(slot.node, -len(slot.gpu_indices))

    def give(self, placement: Placement) -> None:
        """GPUs of an ending job are free again."""
        for slot in placement:
            self._move(slot.node, len(slot.gpu_indices))

    def stranded(self, gpu_type: str, per_node: int) -> int:
        """Free GPUs of a type on nodes with fewer than `per_node` free."""
        counts = self._histogram.get(gpu_type, [])
        return sum(free * counts[free] for free in range(min(per_node, len(counts))))

    def _move(self, node: str, delta: int) -> None:
        if node not in self._free:
            return  # not schedulable here: the scheduler placed nothing on it
        counts = self._histogram[self._type[node]]
        counts[self._free[node]] -= 1
        self._free[node] += delta
        counts[self._free[node]] += 1


def stranded_gpus(free: FreeGpus, needs: Mapping[str, int]) -> int:
    """Stranded GPUs over all types, given the largest per-node need waiting on each type."""
    return sum(free.stranded(gpu_type, per_node) for gpu_type, per_node in needs.items())
