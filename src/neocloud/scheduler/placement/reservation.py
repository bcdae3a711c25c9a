"""EASY backfill: one reservation per GPU type and pass, for the first job that waits for GPUs.

The reserved job gets a planned start from running jobs' max runtimes (`timeline`) and planned
nodes; on each planned node, the GPUs it will need there that are free now, and that jobs ending
before the planned start will not give back, are set aside. A later job may start only in GPUs
that are not set aside, unless it ends (by its max runtime) before the planned start: then it may
use them, since it cannot delay the reserved job. A later job that fits only in set-aside GPUs
and runs longer waits `planned_start`.
"""

from __future__ import annotations

from neocloud.scheduler.model import PendingJob
from neocloud.scheduler.placement.nodes import TypeNodes
from neocloud.scheduler.placement.timeline import Plan


class Reservation:
    """The reservation of one GPU type during one pass."""

    def __init__(self, nodes: TypeNodes, now: float) -> None:
        self._nodes = nodes
        self._now = now
        self.plan: Plan | None = None
        self.holder: PendingJob | None = None
        self.tried = False
        # Nodes whose set-aside this reservation changed (reset at the next pass).
        self.touched: set[int] = set()
        self._nodes_set: frozenset[int] = frozenset()

    def resume(self, plan: Plan | None, holder: PendingJob | None) -> None:
        """Continue the reservation a pass left (its GPUs are still set aside)."""
        self.tried = True
        self.plan, self.holder = plan, holder
        self._nodes_set = frozenset(plan.nodes) if plan is not None else frozenset()

    def hold(self, job: PendingJob) -> bool:
        """Give the reservation to `job` if a planned start exists (once per pass)."""
        self.tried = True
        r = job.resources
        plan = self._nodes.timeline.plan(r.gpus_per_node, r.nodes, self._now)
        if plan is None:
            return False
        self.plan, self.holder = plan, job
        self._nodes_set = frozenset(plan.nodes)
        self.set_aside(True)
        return True

    def reserved(self, node: int) -> bool:
        """Is this node planned for the reserved job?"""
        return node in self._nodes_set

    def ends_before(self, job: PendingJob) -> bool:
        """Would `job`, started now, end (by its max runtime) before the planned start?"""
        plan = self.plan
        return plan is not None and self._now + job.max_runtime_seconds <= plan.start

    def fits_lifted(self, g: int, k: int) -> bool:
        """Would g × k fit if the GPUs set aside for the planned start were available?"""
        plan, nodes = self.plan, self._nodes
        index = nodes.index
        if plan is None or g > index.top:
            return False
        count = index.count_ge[g]
        for node in plan.nodes:
            if nodes.schedulable[node]:
                lifted = nodes.free[node] - nodes.aside_promised[node]
                count += (lifted >= g) - (index.avail[node] >= g)
        return count >= k

    def set_aside(self, on: bool) -> None:
        """Set aside (or give back) on the planned nodes what the reserved job needs there."""
        plan, holder, nodes = self.plan, self.holder, self._nodes
        if plan is None or holder is None:
            return
        need = holder.resources.gpus_per_node
        for node in plan.nodes:
            aside = 0
            if on:
                freed = sum(g for end, g in nodes.jobs[node].values() if end <= plan.start)
                base = nodes.free[node] - nodes.aside_promised[node]
                aside = min(max(0, need - freed), max(0, base))
            if nodes.aside_planned[node] != aside:
                nodes.aside_planned[node] = aside
                nodes.touch(node, timeline=False)
            self.touched.add(node)

    def replanned(self) -> bool:
        """Would the reservation be planned differently on the nodes as they are now? (Work
        started on planned nodes after it was planned may move it; elsewhere, starts only make
        nodes ready later, which cannot beat the plan.)"""
        plan, holder = self.plan, self.holder
        if plan is None or holder is None:
            return False
        r = holder.resources
        return self._nodes.timeline.plan(r.gpus_per_node, r.nodes, self._now) != plan

    def waits_for(self) -> list[str]:
        """Running jobs on the planned nodes that end by the planned start, by end."""
        plan, nodes = self.plan, self._nodes
        if plan is None:
            return []
        ending = {
            (end, job_id)
            for node in plan.nodes
            for job_id, (end, _) in nodes.jobs[node].items()
            if end <= plan.start
        }
        return [job_id for _, job_id in sorted(ending)]
