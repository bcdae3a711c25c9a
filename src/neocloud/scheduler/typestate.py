"""The state of one GPU type kept between passes: its nodes, pending groups and pass results.

A pass over the type (`typepass`) reads and leaves these; `world.World` holds one per
type and keeps them consistent as jobs start, end and arrive.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field

from neocloud.domain.jobs import Resources
from neocloud.scheduler.admission.groups import Group, GroupKey
from neocloud.scheduler.admission.ordering import EntryKey, entry_key
from neocloud.scheduler.explanation.reasons import Blocked
from neocloud.scheduler.model import PendingJob
from neocloud.scheduler.placement.feasibility import unsatisfiable_for
from neocloud.scheduler.placement.nodes import TypeNodes
from neocloud.scheduler.placement.timeline import Plan
from neocloud.scheduler.preemption.victims import Candidates


@dataclass(slots=True)
class TypeState:
    """Everything about one GPU type: its nodes, its pending groups, its pass results."""

    name: str
    nodes: TypeNodes
    candidates: Candidates = field(default_factory=Candidates)
    groups: dict[GroupKey, Group] = field(default_factory=dict)
    # Pending jobs of this type with preempted victims still exiting for them.
    promised: dict[str, PendingJob] = field(default_factory=dict)
    # Promised jobs whose GPUs are counted in the limits' future (re-counted every pass).
    counted: dict[str, PendingJob] = field(default_factory=dict)
    # Something changed that could change a decision: the next step re-examines the type.
    dirty: bool = True
    plan: Plan | None = None
    holder: str | None = None
    # Admission key of the job that took (or tried to take) the reservation in the last pass.
    hold_key: EntryKey | None = None
    # Jobs submitted since the last pass: decided alone if nothing else can change.
    arrivals: list[PendingJob] = field(default_factory=list)
    # Groups by the admission key of their first job, kept between passes; groups whose
    # first job may have changed since, and the org ranks the keys were made with.
    order: list[tuple[EntryKey, Group]] = field(default_factory=list)
    stale: dict[int, Group] = field(default_factory=dict)
    order_ranks: dict[str, int] | None = None
    # Nodes with GPUs set aside in the last pass.
    aside: set[int] = field(default_factory=set)
    # Waits decided job by job in the last pass (promised jobs, the reservation holder).
    individual: dict[str, Blocked] = field(default_factory=dict)
    unsatisfiable: dict[tuple[int, int, bool], str | None] = field(default_factory=dict)
    # Largest GPUs per node among jobs waiting for capacity in the last pass.
    largest_need: int = 0
    # GPUs of running spot work not yet preempted.
    spot_gpus: int = 0

    def unsatisfiable_reason(self, g: int, k: int, external: bool = False) -> str | None:
        """Why g × k of this type can never be placed (cached until nodes change); for
        external work, on the nodes open to it."""
        key = (g, k, external and bool(self.nodes.closed))
        if key not in self.unsatisfiable:
            nodes = self.nodes
            closed = set(nodes.closed) if key[2] else set()
            capacities = [
                c
                for i, (c, ok) in enumerate(zip(nodes.capacity, nodes.schedulable, strict=True))
                if ok and i not in closed
            ]
            resources = Resources(self.name, g, k)
            self.unsatisfiable[key] = unsatisfiable_for(resources, capacities)
        return self.unsatisfiable[key]

    def ordered(self, org_rank: Mapping[str, int]) -> list[tuple[EntryKey, Group]]:
        """The groups by the key of their first job: the persisted order, brought up to date
        (re-sorted when the org ranks moved, else only the stale groups moved)."""
        if self.order_ranks != org_rank:
            self.order = []
            for group in self.groups.values():
                head = group.head()
                group.order_key = None if head is None else entry_key(head, 0, org_rank)
                if group.order_key is not None:
                    self.order.append((group.order_key, group))
            self.order.sort(key=lambda entry: entry[0])
            self.order_ranks = dict(org_rank)
        else:
            order = self.order
            for group in self.stale.values():
                if group.order_key is not None:
                    at = bisect.bisect_left(order, (group.order_key,))
                    if at < len(order) and order[at][1] is group:
                        del order[at]
                head = group.head() if group.key in self.groups else None
                group.order_key = None if head is None else entry_key(head, 0, org_rank)
                if group.order_key is not None:
                    bisect.insort(order, (group.order_key, group), key=lambda entry: entry[0])
        self.stale = {}
        return list(self.order)
