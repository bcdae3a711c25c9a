"""The scheduler's state between passes, and the primitive changes every decision is made of.

Everything here is bookkeeping that must stay consistent: a start takes GPUs, counts against
the limits and becomes a possible victim; a preemption marks a victim exiting (it keeps its GPUs
but no longer counts in the future, and no longer frees GPUs in the timeline); a release frees
GPUs. Which decisions to take is the business of `typepass`; the state of one GPU type is
`typestate.TypeState`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler.admission.groups import Group, group_key
from neocloud.scheduler.admission.limits import LimitCheck, Limits
from neocloud.scheduler.model import (
    GpuSlot,
    NodeState,
    PendingJob,
    RunningJob,
    SchedulerInput,
    Start,
    WaitReason,
)
from neocloud.scheduler.placement.nodes import TypeNodes
from neocloud.scheduler.preemption.victims import Held
from neocloud.scheduler.typestate import TypeState


class World:
    """Nodes, running and pending jobs, limits, and what each pending job was last told."""

    def __init__(self, snapshot: SchedulerInput) -> None:
        kinds = dict(snapshot.org_kinds)
        for run in snapshot.running:
            kinds.setdefault(run.org, run.org_kind)
        for wait in snapshot.pending:
            kinds.setdefault(wait.org, wait.org_kind)
        self.limits = Limits(snapshot, kinds)
        by_type: dict[str, list[NodeState]] = {}
        for node in sorted(snapshot.nodes, key=lambda n: n.name):
            by_type.setdefault(node.gpu_type, []).append(node)
        self.types: dict[str, TypeState] = {}
        self.node_type: dict[str, str] = {}
        for gpu_type, nodes in sorted(by_type.items()):
            self._add_type(gpu_type, nodes)
        self.running: dict[str, Held] = {}
        self.pending: dict[str, PendingJob] = {}
        self.group_of: dict[str, Group] = {}
        # Promised job id → ids of its victims still running.
        self.victims_of: dict[str, set[str]] = {}
        self.emitted: dict[str, WaitReason] = {}
        self.held_by_org: dict[str, int] = {}
        self.started_order = max((j.started_order for j in snapshot.running), default=0)

    # -- types and nodes -------------------------------------------------------------------
    def type_of(self, gpu_type: str) -> TypeState:
        """The state of a GPU type (an empty one for a type no node has)."""
        state = self.types.get(gpu_type)
        return state if state is not None else self._add_type(gpu_type, [])

    def _add_type(self, gpu_type: str, nodes: Sequence[NodeState]) -> TypeState:
        state = TypeState(gpu_type, TypeNodes(nodes))
        self.types[gpu_type] = state
        for name in state.nodes.names:
            self.node_type[name] = gpu_type
        self.limits.set_total(gpu_type, state.nodes.total())
        return state

    def set_schedulable(self, name: str, schedulable: bool) -> None:
        """Open or close a node; the cap and what is satisfiable follow."""
        state = self.types[self.node_type[name]]
        state.nodes.set_schedulable(state.nodes.number[name], schedulable)
        state.unsatisfiable.clear()
        for group in state.groups.values():
            group.last = None
            group.settled = group.for_gpus = False
        self.limits.set_total(state.name, state.nodes.total())
        state.dirty = True

    # -- running work ----------------------------------------------------------------------
    def add_running(self, job: RunningJob) -> Held:
        """Track a running job (from the snapshot, or one that starts)."""
        state = self.type_of(job.gpu_type)
        nodes = state.nodes
        slots = tuple(
            (nodes.number[s.node], s.gpu_indices) for s in job.placement if s.node in nodes.number
        )
        gpus_held = job.gpus
        held = Held(
            job,
            slots,
            job.started_at + job.max_runtime_seconds,
            job.tier is Tier.INTERNAL,
            gpus_held,
        )
        self.running[job.id] = held
        exiting = job.preempting_for is not None
        candidate = not exiting and job.tier in (Tier.SPOT, Tier.INTERNAL)
        for node, gpus in slots:
            nodes.hold(node, gpus)
            if not exiting:
                nodes.jobs[node][job.id] = (held.end, len(gpus))
        if candidate:
            state.candidates.add(held)
            self._reclaimable(state, held, +1)
        for node, _ in slots:
            nodes.touch(node)
        self.limits.add(
            job.org, job.org_kind, job.tier, job.gpu_type, gpus_held, now=True, future=not exiting
        )
        self.held_by_org[job.org] = self.held_by_org.get(job.org, 0) + gpus_held
        return held

    def start(self, job: PendingJob, chosen: Iterable[int], now: float) -> Start:
        """Start a pending job on `chosen` nodes (node numbers of its type)."""
        state = self.types[job.resources.gpu_type]
        nodes = state.nodes
        g = job.resources.gpus_per_node
        slots = [GpuSlot(nodes.names[n], nodes.take(n, g)) for n in chosen]
        placement = tuple(sorted(slots, key=lambda s: s.node))
        self.remove_pending(job.id)
        self.started_order += 1
        running = RunningJob(
            id=job.id,
            org=job.org,
            org_kind=job.org_kind,
            tier=job.tier,
            gpu_type=job.resources.gpu_type,
            placement=placement,
            started_order=self.started_order,
            priority_class=job.priority_class,
            grace_seconds=job.grace_seconds,
            started_at=now,
            max_runtime_seconds=job.max_runtime_seconds,
        )
        # The GPUs were taken above; add_running marks them held again, which changes nothing.
        self.add_running(running)
        return Start(job_id=job.id, placement=placement)

    def preempt(self, victim: Held, by: PendingJob) -> None:
        """Mark a victim exiting for `by`: it keeps its GPUs until it is released."""
        job = victim.job
        state = self.types[job.gpu_type]
        state.candidates.discard(victim)
        self._reclaimable(state, victim, -1)
        victim.job = replace(job, preempting_for=by.id)
        for node, _ in victim.slots:
            state.nodes.jobs[node].pop(job.id, None)
            state.nodes.touch(node)
        self.limits.add(
            job.org, job.org_kind, job.tier, job.gpu_type, -victim.gpus, now=False, future=True
        )
        self.victims_of.setdefault(by.id, set()).add(job.id)

    def release(self, job_id: str) -> Held:
        """A running job's GPUs are free (it ended, or a preempted victim exited)."""
        held = self.running.pop(job_id)
        job = held.job
        state = self.types[job.gpu_type]
        exiting = job.preempting_for is not None
        if not exiting and job.tier in (Tier.SPOT, Tier.INTERNAL):
            state.candidates.discard(held)
            self._reclaimable(state, held, -1)
        for node, gpus in held.slots:
            state.nodes.jobs[node].pop(job.id, None)
            state.nodes.give(node, gpus)
            state.nodes.touch(node)
        self.limits.add(
            job.org, job.org_kind, job.tier, job.gpu_type, -held.gpus, now=True, future=not exiting
        )
        self.held_by_org[job.org] -= held.gpus
        if exiting and job.preempting_for is not None:
            self._victim_gone(job.preempting_for, job_id)
        state.dirty = True
        return held

    def _reclaimable(self, state: TypeState, held: Held, sign: int) -> None:
        """Count a possible victim's GPUs per node (the caller touches the nodes)."""
        counts = state.nodes.spot_on if held.job.tier is Tier.SPOT else state.nodes.internal_on
        for node, gpus in held.slots:
            counts[node] += sign * len(gpus)
        if held.job.tier is Tier.SPOT:
            state.spot_gpus += sign * held.gpus

    def _victim_gone(self, promised_id: str, victim_id: str) -> None:
        victims = self.victims_of.get(promised_id)
        if victims is None:
            return
        victims.discard(victim_id)
        if victims:
            return
        del self.victims_of[promised_id]
        job = self.pending.get(promised_id)
        if job is not None:
            # No victim left: the job is an ordinary pending job again.
            state = self.types[job.resources.gpu_type]
            state.promised.pop(job.id, None)
            self._join_group(state, job)

    # -- pending work ----------------------------------------------------------------------
    def add_pending(self, job: PendingJob) -> None:
        """A job starts waiting."""
        state = self.type_of(job.resources.gpu_type)
        self.pending[job.id] = job
        if self.limits.learn_kind(job.org, job.org_kind):
            # The cohort's quota changed: every internal verdict is to be read again.
            for other in self.types.values():
                other.dirty = True
                for group in other.groups.values():
                    group.last = None
                    group.settled = group.for_gpus = False
        if job.id in self.victims_of:
            state.promised[job.id] = job
            state.dirty = True
        else:
            self._join_group(state, job)
            state.arrivals.append(job)

    def remove_pending(self, job_id: str) -> PendingJob:
        """A job stops waiting (it starts, or is withdrawn)."""
        job = self.pending.pop(job_id)
        state = self.types[job.resources.gpu_type]
        group = self.group_of.pop(job_id, None)
        if group is not None:
            self._leave(state, group, job_id)
        state.promised.pop(job_id, None)
        state.individual.pop(job_id, None)
        counted = state.counted.pop(job_id, None)
        if counted is not None:
            self.count_promised(counted, -1)
        self.victims_of.pop(job_id, None)
        self.emitted.pop(job_id, None)
        return job

    def promise(self, job: PendingJob) -> None:
        """A job that preempted: it leaves its group and is decided first from now on."""
        state = self.types[job.resources.gpu_type]
        group = self.group_of.pop(job.id, None)
        if group is not None:
            self._leave(state, group, job.id)
        state.promised[job.id] = job

    def count_promised(self, job: PendingJob, sign: int) -> None:
        """Count (or stop counting) a promised job's GPUs in the limits' future."""
        r = job.resources
        self.limits.add(
            job.org,
            job.org_kind,
            job.tier,
            r.gpu_type,
            sign * r.total_gpus,
            now=False,
            future=True,
        )

    def judge(self, group: Group, job: PendingJob) -> LimitCheck:
        """The limits' verdict on a group (by its first job), watched while it holds."""
        limits = self.limits
        verdict = group.verdict = limits.check(job)
        group.stamp = limits.stamp(job)
        limits.watch.forget(group.token)
        if verdict.ranges is None:
            group.token, group.limits_ok = None, False
        else:
            group.token = limits.watch.watch(group, verdict.ranges.spans)
        return verdict

    def rewatch(self, group: Group) -> bool:
        """Is a group's verdict, whose ranges holdings left, right again (they came back)?"""
        verdict = group.verdict
        if group.limits_ok:
            return True
        limits = self.limits
        if verdict is None or verdict.ranges is None or group.token is None:
            return False
        if not limits.watch.renewable(group.token) or not limits.holds(verdict.ranges):
            return False
        group.token = limits.watch.watch(group, verdict.ranges.spans)
        return True

    def _leave(self, state: TypeState, group: Group, job_id: str) -> None:
        group.remove(job_id)
        state.stale[id(group)] = group
        if not group.members:
            del state.groups[group.key]
            self.limits.watch.forget(group.token)
            group.token, group.limits_ok = None, False

    def _join_group(self, state: TypeState, job: PendingJob) -> None:
        key = group_key(job)
        group = state.groups.get(key)
        if group is None:
            group = state.groups[key] = Group(key)
        group.add(job)
        self.group_of[job.id] = group
        state.stale[id(group)] = group

    # -- reading ---------------------------------------------------------------------------
    def kind_of(self, org: str) -> OrgKind:
        """An org's kind as the limits know it."""
        return OrgKind.INTERNAL if self.limits.is_internal(org) else OrgKind.EXTERNAL
