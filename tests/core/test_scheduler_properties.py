"""Invariants of the scheduler over random fleets and random histories.

A small simulation plays the server's part: after every event (submit, finish, cancel, a
preempted job exits) it calls `schedule`, checks the decisions, and applies them exactly as the
server would: starts become running jobs, preemptions mark their victims `preempting_for`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.domain.jobs import PriorityClass, Resources, Tier
from neocloud.domain.tenancy import OrgKind
from neocloud.scheduler import (
    NodeState,
    PendingJob,
    RunningJob,
    SchedulerInput,
    SchedulingResult,
    WaitReason,
    schedule,
)

GPU_TYPES = ("h100", "a100")
INTERNAL_ORGS = ("acme", "beta")
EXTERNAL_ORGS = ("globex", "initech")
CAP_FRACTIONS = (0.0, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0)


@dataclass(frozen=True)
class Submit:
    tier: Tier
    org_pick: int
    gpu_type: str
    gpus_per_node: int
    nodes: int
    priority: PriorityClass | None


@dataclass(frozen=True)
class Finish:
    pick: int


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class PreemptedExit:
    pick: int
    requeue: bool


Event = Submit | Finish | Cancel | PreemptedExit


@st.composite
def fleets(draw: st.DrawFn) -> tuple[NodeState, ...]:
    # Every fleet has h100 (the type most jobs ask for); some also have a100.
    types = ["h100", "h100", "a100"] if draw(st.booleans()) else ["h100"]
    return tuple(
        NodeState(
            name=f"n{i}",
            gpu_type="h100" if i == 0 else draw(st.sampled_from(types)),
            gpus=draw(st.sampled_from([1, 2, 4, 4, 8, 8])),
            domain=draw(st.sampled_from([None, "d1", "d2"])),
            schedulable=draw(st.sampled_from([True, True, True, False])),
        )
        for i in range(draw(st.integers(1, 6)))
    )


@st.composite
def quota_tables(draw: st.DrawFn) -> dict[tuple[str, str], int]:
    # Internal orgs mostly get a quota (often roomy), external orgs rarely: both are enforced.
    table: dict[tuple[str, str], int] = {}
    for gpu_type in GPU_TYPES:
        for org in INTERNAL_ORGS:
            quota = draw(st.sampled_from([None, 0, 4, 8, 16, 64, 64, 64]))
            if quota is not None:
                table[(org, gpu_type)] = quota
        for org in EXTERNAL_ORGS:
            quota = draw(st.sampled_from([None, None, None, 4, 16]))
            if quota is not None:
                table[(org, gpu_type)] = quota
    return table


caps = st.dictionaries(st.sampled_from(GPU_TYPES), st.sampled_from(CAP_FRACTIONS), max_size=2)
spot_heavy = st.sampled_from([Tier.SPOT, Tier.SPOT, *Tier])

submits = st.builds(
    Submit,
    tier=spot_heavy,
    org_pick=st.integers(0, 1),
    # Mostly the type every fleet has; the other may be absent and then is unsatisfiable.
    gpu_type=st.sampled_from(["h100", "h100", "h100", "a100"]),
    gpus_per_node=st.sampled_from([1, 1, 2, 2, 4, 8]),
    nodes=st.sampled_from([1, 1, 1, 1, 2, 3]),
    priority=st.sampled_from([None, *PriorityClass]),
)
removals = st.one_of(
    st.builds(Finish, st.integers(0, 50)),
    st.builds(Cancel, st.integers(0, 50)),
    st.builds(PreemptedExit, st.integers(0, 50), st.booleans()),
)
# Mostly submissions, so fleets fill up and jobs compete and preempt.
events = st.lists(
    st.integers(0, 9).flatmap(lambda k: submits if k < 7 else removals),
    min_size=3,
    max_size=30,
)


@dataclass
class Cluster:
    """The server's view: what runs, what waits, and the counters it stamps on jobs."""

    nodes: tuple[NodeState, ...]
    quotas: Mapping[tuple[str, str], int]
    caps: Mapping[str, float]
    running: dict[str, RunningJob] = field(default_factory=dict)
    pending: dict[str, PendingJob] = field(default_factory=dict)
    submitted: int = 0
    started: int = 0

    def snapshot(self) -> SchedulerInput:
        return SchedulerInput(
            nodes=self.nodes,
            running=tuple(self.running.values()),
            pending=tuple(self.pending.values()),
            quotas=self.quotas,
            sellable_cap=self.caps,
        )

    def handle(self, event: Event) -> None:
        if isinstance(event, Submit):
            internal = event.tier is Tier.INTERNAL
            orgs = INTERNAL_ORGS if internal else EXTERNAL_ORGS
            self.submitted += 1
            job_id = f"j{self.submitted}"
            self.pending[job_id] = PendingJob(
                id=job_id,
                org=orgs[event.org_pick],
                org_kind=OrgKind.INTERNAL if internal else OrgKind.EXTERNAL,
                tier=event.tier,
                resources=Resources(event.gpu_type, event.gpus_per_node, event.nodes),
                order=self.submitted,
                priority_class=event.priority if internal else None,
            )
        elif isinstance(event, Finish) and self.running:
            del self.running[_pick(self.running, event.pick)]
        elif isinstance(event, Cancel) and self.pending:
            del self.pending[_pick(self.pending, event.pick)]
        elif isinstance(event, PreemptedExit):
            exiting = {k: v for k, v in self.running.items() if v.preempting_for is not None}
            if exiting:
                victim = self.running.pop(_pick(exiting, event.pick))
                if event.requeue:
                    self.submitted += 1
                    self.pending[victim.id] = PendingJob(
                        id=victim.id,
                        org=victim.org,
                        org_kind=victim.org_kind,
                        tier=victim.tier,
                        resources=_resources_of(victim),
                        order=self.submitted,
                    )

    def apply(self, result: SchedulingResult) -> None:
        for start in result.starts:
            job = self.pending.pop(start.job_id)
            self.started += 1
            self.running[job.id] = RunningJob(
                id=job.id,
                org=job.org,
                org_kind=job.org_kind,
                tier=job.tier,
                gpu_type=job.resources.gpu_type,
                placement=start.placement,
                started_order=self.started,
                priority_class=job.priority_class,
                grace_seconds=job.grace_seconds,
            )
        for preempt in result.preemptions:
            victim = self.running[preempt.job_id]
            self.running[victim.id] = dataclasses.replace(victim, preempting_for=preempt.by_job_id)


def _pick(jobs: Mapping[str, object], pick: int) -> str:
    ids = sorted(jobs)
    return ids[pick % len(ids)]


def _resources_of(job: RunningJob) -> Resources:
    return Resources(job.gpu_type, len(job.placement[0].gpu_indices), len(job.placement))


def free_gpus(cluster: Cluster, also: Iterable[RunningJob] = ()) -> dict[str, int]:
    """Free GPUs per schedulable node, counting GPUs of `also` as free."""
    held = Counter(
        s.node for j in cluster.running.values() for s in j.placement for _ in s.gpu_indices
    )
    released = Counter(s.node for j in also for s in j.placement for _ in s.gpu_indices)
    return {
        n.name: n.gpus - held[n.name] + released[n.name] for n in cluster.nodes if n.schedulable
    }


def fits(cluster: Cluster, job: PendingJob, free: Mapping[str, int]) -> bool:
    """Some `nodes` distinct schedulable nodes of the type each have `gpus_per_node` free."""
    r = job.resources
    of_type = {n.name for n in cluster.nodes if n.gpu_type == r.gpu_type and n.schedulable}
    return sum(1 for name in of_type if free[name] >= r.gpus_per_node) >= r.nodes


def check_decisions(before: Cluster, result: SchedulingResult) -> None:
    pending = set(before.pending)
    started = [s.job_id for s in result.starts]
    waited = [w.job_id for w in result.waits]
    assert len(started) == len(set(started)), "a job started twice"
    assert len(waited) == len(set(waited)), "a job got more than one wait"
    assert set(started) | set(waited) == pending, "a pending job got no decision"
    assert not set(started) & set(waited), "a started job also waits"

    reasons = {w.job_id: w.reason for w in result.waits}
    victims = [p.job_id for p in result.preemptions]
    assert len(victims) == len(set(victims)), "a job was preempted twice in one pass"
    for preempt in result.preemptions:
        victim = before.running[preempt.job_id]
        assert victim.tier is Tier.SPOT, "only spot work is preempted"
        assert victim.preempting_for is None, "a victim was preempted again"
        by = before.pending[preempt.by_job_id]
        assert by.tier is not Tier.SPOT, "spot work never preempts"
        assert by.resources.gpu_type == victim.gpu_type
        assert reasons.get(by.id) is WaitReason.PREEMPTING
        assert preempt.rule == f"spot_reclaim_for_{by.tier.value}"
        assert preempt.grace_seconds == victim.grace_seconds

    nodes = {n.name: n for n in before.nodes}
    for start in result.starts:
        job = before.pending[start.job_id]
        slots = start.placement
        assert len({s.node for s in slots}) == len(slots) == job.resources.nodes
        for slot in slots:
            node = nodes[slot.node]
            assert node.schedulable and node.gpu_type == job.resources.gpu_type
            assert len(set(slot.gpu_indices)) == len(slot.gpu_indices)
            assert len(slot.gpu_indices) == job.resources.gpus_per_node
            assert all(0 <= i < node.gpus for i in slot.gpu_indices)


def check_state(after: Cluster, result: SchedulingResult) -> None:
    seen: set[tuple[str, int]] = set()
    for job in after.running.values():
        for slot in job.placement:
            for index in slot.gpu_indices:
                assert (slot.node, index) not in seen, f"GPU {slot.node}/{index} held twice"
                seen.add((slot.node, index))

    held: Counter[tuple[str, str]] = Counter()
    external: Counter[str] = Counter()
    for job in after.running.values():
        held[(job.org, job.gpu_type)] += job.gpus
        if job.tier is not Tier.INTERNAL:
            external[job.gpu_type] += job.gpus
    for (org, gpu_type), gpus in held.items():
        if org in INTERNAL_ORGS or (org, gpu_type) in after.quotas:
            assert gpus <= after.quotas.get((org, gpu_type), 0), f"quota of {org} broken"
    for gpu_type, gpus in external.items():
        total = sum(n.gpus for n in after.nodes if n.gpu_type == gpu_type and n.schedulable)
        fraction = Decimal(str(after.caps.get(gpu_type, 1.0)))
        assert gpus <= math.floor(fraction * total), f"sellable cap of {gpu_type} broken"

    reclaimable = [
        j for j in after.running.values() if j.tier is Tier.SPOT and not j.preempting_for
    ]
    for wait in result.waits:
        job = after.pending[wait.job_id]
        if wait.reason is WaitReason.CAPACITY:
            # Had the job fit in the GPUs left free (or freeable from spot work, for the tiers
            # that may preempt), capacity would not be the reason it waits.
            also = reclaimable if job.tier is not Tier.SPOT else []
            assert not fits(after, job, free_gpus(after, also)), f"{job.id} fits yet waits"
        if wait.reason is WaitReason.PREEMPTING:
            assert any(j.preempting_for == job.id for j in after.running.values())


@settings(max_examples=200, deadline=None)
@given(nodes=fleets(), quotas=quota_tables(), caps=caps, history=events)
def test_invariants_hold_over_any_history(
    nodes: tuple[NodeState, ...],
    quotas: dict[tuple[str, str], int],
    caps: dict[str, float],
    history: list[Event],
) -> None:
    cluster = Cluster(nodes=nodes, quotas=quotas, caps=caps)
    for event in history:
        cluster.handle(event)
        snapshot = cluster.snapshot()
        result = schedule(snapshot)
        reordered = dataclasses.replace(
            snapshot,
            nodes=snapshot.nodes[::-1],
            running=snapshot.running[::-1],
            pending=snapshot.pending[::-1],
        )
        assert schedule(reordered) == result, "the order of the input changed the decisions"
        check_decisions(cluster, result)
        cluster.apply(result)
        check_state(cluster, result)
