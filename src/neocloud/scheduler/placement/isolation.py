"""External work only on nodes that isolate tenants, or whose operator lets external work in.

A node of a cluster that does not isolate tenants (`NodeState.hosts_external` False) is hidden
from an external job while the pass decides it: it is closed for that one decision and opened
again after, so every placement, preemption and planned start that job gets is on nodes open to
it, while internal work sees every node. A fleet where every node hosts external work (the
simulator's, and any fleet without such a cluster) hides nothing and decides exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.explanation import sentences
from neocloud.scheduler.explanation.reasons import Blocked
from neocloud.scheduler.model import PendingJob, WaitReason
from neocloud.scheduler.placement.nodes import TypeNodes


class OneType(Protocol):
    """What isolation reads of one GPU type (`typestate.TypeState` is one): its nodes, and
    which shapes they could ever hold."""

    @property
    def nodes(self) -> TypeNodes:
        """The type's nodes."""
        ...

    def unsatisfiable_reason(self, g: int, k: int, external: bool = False) -> str | None:
        """Why g × k can never be placed (for external work, on the nodes open to it)."""
        ...


@dataclass(frozen=True, slots=True)
class Hidden:
    """What an external job would have had with the closed nodes open."""

    # It would fit the available GPUs now.
    fits: bool
    # Some set of schedulable nodes could ever hold it.
    possible: bool


class Isolation:
    """Hiding the closed nodes of one GPU type from external jobs during one pass, and saying
    so when that is why they wait."""

    def __init__(self, state: OneType) -> None:
        self._state = state
        self._nodes = state.nodes
        # Set while an external job is being decided with the closed nodes hidden.
        self._hidden: Hidden | None = None

    def hides(self, job: PendingJob) -> bool:
        """True if deciding `job` hides nodes from it (external work, a type with closed nodes)."""
        return job.org_kind is not OrgKind.INTERNAL and bool(self._nodes.closed)

    @contextmanager
    def isolated(self, job: PendingJob) -> Iterator[None]:
        """Decide `job` with the nodes closed to it hidden (a no-op for internal work)."""
        if not self.hides(job):
            yield
            return
        nodes = self._nodes
        g, k = job.resources.gpus_per_node, job.resources.nodes
        self._hidden = Hidden(
            fits=nodes.index.fits(g, k),
            possible=self._state.unsatisfiable_reason(g, k) is None,
        )
        closed = [node for node in nodes.closed if nodes.schedulable[node]]
        for node in closed:
            nodes.set_schedulable(node, False)
        try:
            yield
        finally:
            for node in closed:
                nodes.set_schedulable(node, True)
            self._hidden = None

    def unsatisfiable(self, job: PendingJob) -> Blocked | None:
        """Why `job` can never be placed on the nodes open to it, or None."""
        g, k = job.resources.gpus_per_node, job.resources.nodes
        hidden = self._hidden
        why = self._state.unsatisfiable_reason(g, k, external=hidden is not None)
        if why is None:
            return None
        if hidden is not None and hidden.possible:
            return self._blocked(job, free=False)
        return Blocked(WaitReason.UNSATISFIABLE, lambda: why)

    def block(self, job: PendingJob) -> Blocked | None:
        """The isolation reason of an external job that would fit now on closed nodes."""
        hidden = self._hidden
        if hidden is None or not hidden.fits:
            return None
        return self._blocked(job, free=True)

    def _blocked(self, job: PendingJob, *, free: bool) -> Blocked:
        clusters = self._nodes.closed_clusters
        sentence = partial(sentences.isolation_message, job.resources, clusters, free)
        return Blocked(WaitReason.ISOLATION, sentence)
