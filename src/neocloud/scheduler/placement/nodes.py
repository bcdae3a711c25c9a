"""The nodes of one GPU type: which GPUs are free, which are set aside, which jobs run where.

GPUs are free or held. A free GPU may be set aside for a job of this pass: for a job waiting on
preempted work to exit (`aside_promised`), or for the job holding the backfill reservation
(`aside_planned`). What is neither held nor set aside is available, and the placement index
and the ready-time timeline are kept in step with it on every change.
"""

from __future__ import annotations

from collections.abc import Sequence

from neocloud.scheduler.model import NodeState
from neocloud.scheduler.placement.index import CountIndex, NodeIndex
from neocloud.scheduler.placement.timeline import Timeline


def canonical_key(node: NodeState) -> tuple[int, str, str]:
    """Nodes without a topology domain first, then by domain, then by name."""
    return (0, "", node.name) if node.domain is None else (1, node.domain, node.name)


class TypeNodes:
    """All nodes of one GPU type, numbered in canonical order."""

    def __init__(self, nodes: Sequence[NodeState]) -> None:
        ordered = sorted(nodes, key=canonical_key)
        self.names = [n.name for n in ordered]
        self.number = {name: i for i, name in enumerate(self.names)}
        self.capacity = [n.gpus for n in ordered]
        self.schedulable = [n.schedulable for n in ordered]
        # Nodes external work may not use (see `isolation`), and their clusters.
        self.closed = [i for i, n in enumerate(ordered) if not n.hosts_external]
        self.closed_clusters = tuple(sorted({n.cluster for n in ordered if not n.hosts_external}))
        self.domain_names = sorted({n.domain for n in ordered if n.domain is not None})
        domain_number = {d: i for i, d in enumerate(self.domain_names)}
        self.domain = [-1 if n.domain is None else domain_number[n.domain] for n in ordered]
        self.free_mask = [(1 << n.gpus) - 1 for n in ordered]
        self.free = list(self.capacity)
        self.aside_promised = [0] * len(ordered)
        self.aside_planned = [0] * len(ordered)
        # node → running job id → (end by max runtime, GPUs on this node); victims excluded.
        self.jobs: list[dict[str, tuple[float, int]]] = [{} for _ in ordered]
        self.index = NodeIndex(self.capacity, self.domain, len(self.domain_names))
        self.timeline = Timeline(len(ordered), self.index.top, self.domain)
        top = self.index.top
        # GPUs of running spot work and of running internal work per node (victims excluded):
        # what preemption could free there at most.
        self.spot_on = [0] * len(ordered)
        self.internal_on = [0] * len(ordered)
        # Nodes with at least g free (set-asides ignored), available + spot, and available +
        # spot + internal: O(1) answers to "could this fit if …?".
        self.free_view = CountIndex(len(ordered), top)
        self.spot_view = CountIndex(len(ordered), top)
        self.reclaim_view = CountIndex(len(ordered), top)
        # Schedulable nodes by physically free GPUs (fragmentation reads it).
        self.free_hist = [0] * (top + 1)
        # Bumped whenever a node's state is brought in line (answers read before may differ).
        self.version = 0
        for i in range(len(ordered)):
            if self.schedulable[i]:
                self.free_hist[self.free[i]] += 1
            self.touch(i)

    def __len__(self) -> int:
        return len(self.names)

    def total(self) -> int:
        """GPUs over schedulable nodes."""
        return sum(c for c, ok in zip(self.capacity, self.schedulable, strict=True) if ok)

    def free_total(self) -> int:
        """Free GPUs over schedulable nodes."""
        return sum(f for f, ok in zip(self.free, self.schedulable, strict=True) if ok)

    def touch(self, node: int, timeline: bool = True) -> None:
        """Bring the index (and the timeline) in line with a node's state."""
        self.version += 1
        schedulable = self.schedulable[node]
        base = self.free[node] - self.aside_promised[node]
        value = max(0, base - self.aside_planned[node]) if schedulable else 0
        self.index.set(node, value)
        if schedulable:
            spot = value + self.spot_on[node]
            self.free_view.set(node, self.free[node])
            self.spot_view.set(node, spot)
            self.reclaim_view.set(node, spot + self.internal_on[node])
        else:
            self.free_view.set(node, 0)
            self.spot_view.set(node, 0)
            self.reclaim_view.set(node, 0)
        if timeline:
            ends = sorted(self.jobs[node].values())
            self.timeline.set(node, max(0, base), ends, schedulable)

    def take(self, node: int, count: int) -> tuple[int, ...]:
        """Hand the `count` lowest free GPUs of a node to a starting job."""
        mask = self.free_mask[node]
        taken: list[int] = []
        index = 0
        while len(taken) < count:
            if mask >> index & 1:
                taken.append(index)
            index += 1
        for gpu in taken:
            mask &= ~(1 << gpu)
        self.free_mask[node] = mask
        self._move(node, -count)
        return tuple(taken)

    def hold(self, node: int, gpus: Sequence[int]) -> None:
        """Mark GPUs held by a job known from the snapshot."""
        mask = self.free_mask[node]
        count = 0
        for gpu in gpus:
            if mask >> gpu & 1:
                mask &= ~(1 << gpu)
                count += 1
        self.free_mask[node] = mask
        self._move(node, -count)

    def give(self, node: int, gpus: Sequence[int]) -> None:
        """GPUs of an ending job are free again."""
        mask = self.free_mask[node]
        count = 0
        for gpu in gpus:
            if 0 <= gpu < self.capacity[node] and not mask >> gpu & 1:
                mask |= 1 << gpu
                count += 1
        self.free_mask[node] = mask
        self._move(node, count)

    def set_schedulable(self, node: int, schedulable: bool) -> None:
        """Open or close a node to new work."""
        if self.schedulable[node] == schedulable:
            return
        if self.schedulable[node]:
            self.free_hist[self.free[node]] -= 1
        self.schedulable[node] = schedulable
        if schedulable:
            self.free_hist[self.free[node]] += 1
        self.touch(node)

    def _move(self, node: int, delta: int) -> None:
        if self.schedulable[node]:
            self.free_hist[self.free[node]] -= 1
            self.free_hist[self.free[node] + delta] += 1
        self.free[node] += delta
