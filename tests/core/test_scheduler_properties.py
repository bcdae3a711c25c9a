"""Invariants of the scheduler over random fleets, limits and histories.

A stateful `Scheduler` is driven through a random stream of events (submissions of every tier,
completions, cancellations, preempted jobs exiting and being requeued, time passing). After every
event it takes a step, and then:
- the same step taken by `schedule` on a snapshot of the state before it agrees (same starts,
  same preemptions, waits of the same kind), and does not depend on the order of its input;
- no GPU is held twice; gangs start on all their nodes at once; external work never preempts
  internal work; reserved and on-demand work is never preempted, nor internal work within its
  org's quota; spot work never preempts; quotas, borrow limits, the internal cohort, contracts
  and the sellable cap hold (lending is part of how they are counted);
- every pending job has a reason.
At the end the queue drains (every running job ends, again and again): every job still pending
could not start even alone on the empty fleet.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

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
    schedule,
)
from neocloud.scheduler.explanation.reasons import REASON_KIND
from neocloud.scheduler.state import Scheduler

GPU_TYPES = ("h100", "a100")
INTERNAL_ORGS = ("acme", "beta")
EXTERNAL_ORGS = ("globex", "initech")
CAP_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Submit:
    tier: Tier
    org_pick: int
    gpu_type: str
    gpus_per_node: int
    nodes: int
    priority: PriorityClass | None
    runtime: int


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


@dataclass(frozen=True)
class Tick:
    seconds: int


Event = Submit | Finish | Cancel | PreemptedExit | Tick


@st.composite
def fleets(draw: st.DrawFn) -> tuple[NodeState, ...]:
    # Every fleet has h100 (the type most jobs ask for); some also have a100.
    types = ["h100", "h100", "a100"] if draw(st.booleans()) else ["h100"]
    return tuple(
        NodeState(
            name=f"n{i}",
            gpu_type="h100" if i == 0 else draw(st.sampled_from(types)),
            gpus=draw(st.sampled_from([2, 4, 4, 8, 8, 8])),
            domain=draw(st.sampled_from([None, "d1", "d1", "d2"])),
            schedulable=draw(st.sampled_from([True] * 7 + [False])),
        )
        for i in range(draw(st.integers(1, 6)))
    )


@dataclass(frozen=True)
class Policy:
    quotas: dict[tuple[str, str], int]
    borrow: dict[tuple[str, str], int]
    contracts: dict[tuple[str, str], int]
    caps: dict[str, float]
    weights: dict[str, float]


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    quotas: dict[tuple[str, str], int] = {}
    borrow: dict[tuple[str, str], int] = {}
    contracts: dict[tuple[str, str], int] = {}
    for gpu_type in GPU_TYPES:
        for org in INTERNAL_ORGS:
            quota = draw(st.sampled_from([None, 0, 4, 8, 8, 16, 64]))
            if quota is not None:
                quotas[(org, gpu_type)] = quota
            limit = draw(st.sampled_from([0, 0, 4, 8, 16]))
            if limit:
                borrow[(org, gpu_type)] = limit
        for org in EXTERNAL_ORGS:
            quota = draw(st.sampled_from([None, None, None, 4, 16]))
            if quota is not None:
                quotas[(org, gpu_type)] = quota
            contract = draw(st.sampled_from([0, 0, 0, 2, 4, 8]))
            if contract:
                contracts[(org, gpu_type)] = contract
    caps = draw(st.dictionaries(st.sampled_from(GPU_TYPES), st.sampled_from(CAP_FRACTIONS)))
    orgs = (*INTERNAL_ORGS, *EXTERNAL_ORGS)
    weights = {o: draw(st.sampled_from([1.0, 1.0, 2.0, 0.5])) for o in orgs}
    return Policy(quotas, borrow, contracts, caps, weights)


submits = st.builds(
    Submit,
    tier=st.sampled_from([Tier.SPOT, Tier.SPOT, Tier.INTERNAL, Tier.INTERNAL, *Tier]),
    org_pick=st.integers(0, 1),
    # Mostly the type every fleet has; the other may be absent and then is unsatisfiable.
    gpu_type=st.sampled_from(["h100", "h100", "h100", "h100", "a100"]),
    gpus_per_node=st.sampled_from([1, 1, 2, 2, 4, 8]),
    nodes=st.sampled_from([1, 1, 1, 1, 1, 2, 3]),
    priority=st.sampled_from([None, *PriorityClass]),
    runtime=st.sampled_from([60, 600, 3600, 36_000]),
)
others = st.one_of(
    st.builds(Finish, st.integers(0, 50)),
    st.builds(Cancel, st.integers(0, 50)),
    st.builds(PreemptedExit, st.integers(0, 50), st.booleans()),
    st.builds(Tick, st.sampled_from([1, 30, 600, 4000])),
)
# Mostly submissions, so fleets fill up and jobs compete, borrow and preempt.
events = st.lists(
    st.integers(0, 9).flatmap(lambda k: submits if k < 6 else others), min_size=8, max_size=40
)


class World:
    """The server's part: it tells the scheduler what happens and checks what it decides."""

    def __init__(self, nodes: tuple[NodeState, ...], policy: Policy) -> None:
        self.nodes = nodes
        self.policy = policy
        self.base = SchedulerInput(
            nodes=nodes,
            running=(),
            pending=(),
            quotas=policy.quotas,
            sellable_cap=policy.caps,
            contracts=policy.contracts,
            borrow_limits=policy.borrow,
            weights=policy.weights,
            org_kinds={
                **{o: OrgKind.INTERNAL for o in INTERNAL_ORGS},
                **{o: OrgKind.EXTERNAL for o in EXTERNAL_ORGS},
            },
            # Re-rank at every step, so a fresh `schedule` sees the same fair-share order.
            fair_share_interval_seconds=0.0,
        )
        self.scheduler = Scheduler(self.base)
        self.now = 0.0
        self.submitted = 0

    def handle(self, event: Event) -> None:
        scheduler = self.scheduler
        if isinstance(event, Submit):
            internal = event.tier is Tier.INTERNAL
            orgs = INTERNAL_ORGS if internal else EXTERNAL_ORGS
            self.submitted += 1
            scheduler.submit(
                PendingJob(
                    id=f"j{self.submitted}",
                    org=orgs[event.org_pick],
                    org_kind=OrgKind.INTERNAL if internal else OrgKind.EXTERNAL,
                    tier=event.tier,
                    resources=Resources(event.gpu_type, event.gpus_per_node, event.nodes),
                    order=self.submitted,
                    priority_class=event.priority if internal else None,
                    max_runtime_seconds=event.runtime,
                    submitted_at=self.now,
                )
            )
        elif isinstance(event, Tick):
            self.now += event.seconds
        elif isinstance(event, Finish):
            done = [j for j in scheduler.running() if j.preempting_for is None]
            if done:
                scheduler.release(_pick(done, event.pick).id, self.now)
        elif isinstance(event, Cancel):
            pending = scheduler.pending()
            if pending:
                scheduler.withdraw(_pick(pending, event.pick).id)
        else:
            exiting = [j for j in scheduler.running() if j.preempting_for is not None]
            if exiting:
                victim = _pick(exiting, event.pick)
                scheduler.release(victim.id, self.now)
                if event.requeue:
                    self.submitted += 1
                    scheduler.submit(
                        PendingJob(
                            id=victim.id,
                            org=victim.org,
                            org_kind=victim.org_kind,
                            tier=victim.tier,
                            resources=_resources_of(victim),
                            order=self.submitted,
                            priority_class=victim.priority_class,
                            max_runtime_seconds=victim.max_runtime_seconds,
                        )
                    )

    def step(self) -> SchedulingResult:
        """One step, checked against a fresh pass over the same state."""
        before = self.scheduler.snapshot(self.now)
        fresh = schedule(before)
        reordered = dataclasses.replace(
            before,
            nodes=before.nodes[::-1],
            running=before.running[::-1],
            pending=before.pending[::-1],
        )
        assert schedule(reordered) == fresh, "the order of the input changed the decisions"
        result = self.scheduler.step(self.now)
        assert result.starts == fresh.starts, "incremental and fresh passes start differently"
        assert result.preemptions == fresh.preemptions, "they preempt differently"
        for wait in fresh.waits:
            mine = self.scheduler.wait_of(wait.job_id)
            assert mine is not None, f"{wait.job_id} has no reason"
            assert REASON_KIND[mine.reason] == REASON_KIND[wait.reason], (wait, mine)
        check_decisions(before, result)
        check_state(self, result)
        return result


Job = TypeVar("Job", PendingJob, RunningJob)


def _pick(jobs: Sequence[Job], pick: int) -> Job:
    ordered = sorted(jobs, key=lambda j: j.id)
    return ordered[pick % len(ordered)]


def _resources_of(job: RunningJob) -> Resources:
    return Resources(job.gpu_type, len(job.placement[0].gpu_indices), len(job.placement))


def check_decisions(before: SchedulerInput, result: SchedulingResult) -> None:
    pending = {j.id: j for j in before.pending}
    running = {j.id: j for j in before.running}
    started = [s.job_id for s in result.starts]
    waited = [w.job_id for w in result.waits]
    assert len(started) == len(set(started)), "a job started twice"
    assert len(waited) == len(set(waited)), "a job got more than one wait"
    assert set(started) <= set(pending) and set(waited) <= set(pending)
    assert not set(started) & set(waited), "a started job also waits"

    victims = [p.job_id for p in result.preemptions]
    assert len(victims) == len(set(victims)), "a job was preempted twice in one pass"
    released: Counter[str] = Counter()
    for preempt in result.preemptions:
        victim, by = running[preempt.job_id], pending[preempt.by_job_id]
        assert victim.preempting_for is None, "a victim was preempted again"
        assert victim.tier in (Tier.SPOT, Tier.INTERNAL), "reserved/on-demand preempted"
        assert by.tier is not Tier.SPOT, "spot work never preempts"
        assert by.resources.gpu_type == victim.gpu_type
        if victim.tier is Tier.INTERNAL:
            assert by.tier is Tier.INTERNAL, "external work never preempts internal work"
            assert by.org != victim.org
            assert preempt.rule == "borrowed_reclaim"
            released[victim.org] += victim.gpus
        else:
            assert preempt.rule == f"spot_reclaim_for_{by.tier.value}"
        assert preempt.grace_seconds == victim.grace_seconds
    # Internal work within its org's quota is never a victim: what an org loses is at most
    # what it holds above its quota (not counting work already exiting).
    for org, lost in released.items():
        gpu_types = {running[p.job_id].gpu_type for p in result.preemptions}
        for gpu_type in gpu_types:
            held = sum(
                j.gpus
                for j in before.running
                if j.org == org and j.gpu_type == gpu_type and j.preempting_for is None
            )
            quota = before.quotas.get((org, gpu_type), 0)
            lost_here = sum(
                running[p.job_id].gpus
                for p in result.preemptions
                if running[p.job_id].org == org and running[p.job_id].gpu_type == gpu_type
            )
            assert held - lost_here >= quota, f"{org} lost work within its quota"
        assert lost > 0

    nodes = {n.name: n for n in before.nodes}
    for start in result.starts:
        job = pending[start.job_id]
        slots = start.placement
        assert len({s.node for s in slots}) == len(slots) == job.resources.nodes, "gang split"
        for slot in slots:
            node = nodes[slot.node]
            assert node.schedulable and node.gpu_type == job.resources.gpu_type
            assert len(set(slot.gpu_indices)) == len(slot.gpu_indices)
            assert len(slot.gpu_indices) == job.resources.gpus_per_node
            assert all(0 <= i < node.gpus for i in slot.gpu_indices)


def check_state(world: World, result: SchedulingResult) -> None:
    scheduler, policy = world.scheduler, world.policy
    running = scheduler.running()
    seen: set[tuple[str, int]] = set()
    for job in running:
        for slot in job.placement:
            for index in slot.gpu_indices:
                assert (slot.node, index) not in seen, f"GPU {slot.node}/{index} held twice"
                seen.add((slot.node, index))
    for job in scheduler.pending():
        assert scheduler.wait_of(job.id) is not None, f"{job.id} has no reason"
    for gpu_type in GPU_TYPES:
        check_limits(world, [j for j in running if j.gpu_type == gpu_type], gpu_type, policy)


def check_limits(world: World, running: list[RunningJob], gpu_type: str, policy: Policy) -> None:
    held: Counter[str] = Counter()
    reserved: Counter[str] = Counter()
    on_demand = spot = 0
    for job in running:
        held[job.org] += job.gpus
        if job.tier is Tier.RESERVED:
            reserved[job.org] += job.gpus
        elif job.tier is Tier.ON_DEMAND:
            on_demand += job.gpus
        elif job.tier is Tier.SPOT:
            spot += job.gpus
    quotas = policy.quotas
    for org in INTERNAL_ORGS:
        limit = quotas.get((org, gpu_type), 0) + policy.borrow.get((org, gpu_type), 0)
        assert held[org] <= limit, f"{org} above quota + borrow limit"
    cohort = sum(quotas.get((org, gpu_type), 0) for org in INTERNAL_ORGS)
    assert sum(held[o] for o in INTERNAL_ORGS) <= cohort, "internal orgs hold above the cohort"
    for org in EXTERNAL_ORGS:
        if (org, gpu_type) in quotas:
            assert held[org] <= quotas[(org, gpu_type)], f"{org} above its quota"
        assert reserved[org] <= policy.contracts.get((org, gpu_type), 0), "above the contract"
    contracts = {o: policy.contracts.get((o, gpu_type), 0) for o in EXTERNAL_ORGS}
    contracted = sum(max(c, reserved[o]) for o, c in contracts.items())
    unused = sum(max(0, c - reserved[o]) for o, c in contracts.items())
    counted = on_demand + contracted + max(0, spot - unused)
    if on_demand + spot + sum(reserved.values()) == 0:
        return  # nothing external runs: contracts alone may exceed a small cap
    total = sum(n.gpus for n in world.nodes if n.gpu_type == gpu_type and n.schedulable)
    fraction = Decimal(str(policy.caps.get(gpu_type, 1.0)))
    assert counted <= math.floor(fraction * total), f"sellable cap of {gpu_type} broken"


def drain(world: World) -> None:
    """Everything running ends, again and again, until nothing more starts."""
    for _ in range(len(world.scheduler.pending()) + 2):
        for job in world.scheduler.running():
            world.scheduler.release(job.id, world.now)
        world.now += 1
        result = world.step()
        if not result.starts and not result.preemptions:
            break
    for job in world.scheduler.pending():
        alone = dataclasses.replace(world.base, pending=(job,), now=world.now)
        assert not schedule(alone).starts, f"{job.id} could run on the empty fleet but waits"


@settings(max_examples=200, deadline=None)
@given(nodes=fleets(), policy=policies(), history=events)
def test_invariants_hold_over_any_history(
    nodes: tuple[NodeState, ...], policy: Policy, history: list[Event]
) -> None:
    world = World(nodes, policy)
    for event in history:
        world.handle(event)
        world.step()
    drain(world)
