"""The GPUs of one pass: which are free, which are taken, which are set aside for promised jobs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from neocloud.scheduler.model import NodeState, Placement, RunningJob


class GpuPool:
    """Free GPUs on schedulable nodes during one pass.

    A free GPU may be set aside (reserved) for a job waiting on preempted spot work: it stays
    physically free, but no other job of this pass may be placed on it.
    """

    def __init__(self, nodes: Iterable[NodeState], running: Iterable[RunningJob]) -> None:
        schedulable = sorted((n for n in nodes if n.schedulable), key=lambda n: n.name)
        held: dict[str, set[int]] = {}
        for job in running:
            for slot in job.placement:
                held.setdefault(slot.node, set()).update(slot.gpu_indices)
        self._by_type: dict[str, list[NodeState]] = {}
        for node in schedulable:
            self._by_type.setdefault(node.gpu_type, []).append(node)
        self._domains = {n.name: n.domain for n in schedulable}
        # Lists are replaced, never mutated, so views handed out stay valid for their reader.
        self._free = {
            n.name: [i for i in range(n.gpus) if i not in held.get(n.name, ())] for n in schedulable
        }
        self._reserved: dict[str, dict[int, str]] = {}
        self._holders: dict[str, set[str]] = {}
        self._types = {n.name: n.gpu_type for n in schedulable}
        # Most jobs of a pass do not start, so the same view is asked for again and again.
        self._available: dict[str, Mapping[str, Sequence[int]]] = {}

    @property
    def domains(self) -> dict[str, str | None]:
        """Node name → topology domain, for schedulable nodes."""
        return self._domains

    def nodes_of(self, gpu_type: str) -> Sequence[NodeState]:
        """Schedulable nodes of a GPU type, by name."""
        return self._by_type.get(gpu_type, [])

    def total(self, gpu_type: str) -> int:
        """GPUs of a type over schedulable nodes."""
        return sum(n.gpus for n in self.nodes_of(gpu_type))

    def free(self, gpu_type: str) -> dict[str, Sequence[int]]:
        """Physically free GPUs of a type per node, including reserved ones."""
        return {n.name: self._free[n.name] for n in self.nodes_of(gpu_type)}

    def available(self, gpu_type: str) -> Mapping[str, Sequence[int]]:
        """Free GPUs of a type per node that this pass may still give to any job."""
        cached = self._available.get(gpu_type)
        if cached is not None:
            return cached
        result: dict[str, Sequence[int]] = {}
        for node in self.nodes_of(gpu_type):
            free = self._free[node.name]
            reserved = self._reserved.get(node.name)
            result[node.name] = [i for i in free if i not in reserved] if reserved else free
        self._available[gpu_type] = result
        return result

    def take(self, placement: Placement) -> None:
        """Hand the GPUs of a placement to a starting job."""
        self._available.clear()
        for slot in placement:
            taken = set(slot.gpu_indices)
            self._free[slot.node] = [i for i in self._free[slot.node] if i not in taken]

    def reserve(self, placement: Placement, job_id: str) -> None:
        """Set aside the free GPUs of a tentative placement for a job waiting on preemption."""
        self._available.clear()
        for slot in placement:
            free = set(self._free.get(slot.node, ()))
            reserved = self._reserved.setdefault(slot.node, {})
            for index in slot.gpu_indices:
                if index in free:
                    reserved[index] = job_id
                    self._holders.setdefault(self._types[slot.node], set()).add(job_id)

    def reserved_for(self, gpu_type: str) -> list[str]:
        """Jobs holding reservations on GPUs of a type, sorted."""
        return sorted(self._holders.get(gpu_type, ()))
