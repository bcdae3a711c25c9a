"""Invariants over random mixed-tier traces: every job ends once, no GPU is held twice."""

from __future__ import annotations

import random

import pytest

from neocloud.domain.jobs import Tier
from neocloud.scheduler.model import SchedulerInput, SchedulingResult
from neocloud.scheduler.state import Scheduler
from neocloud.sim.metrics import summarize
from neocloud.sim.simulator import simulate
from neocloud.sim.trace import TraceJob
from tests.sim.helpers import config, generic_jobs, shape

ORGS = {Tier.INTERNAL: ("acme", "initech"), Tier.ON_DEMAND: ("globex",), Tier.SPOT: ("hooli",)}


class Checking(Scheduler):
    """The real scheduler, its every decision checked against the GPUs held right now."""

    def __init__(self, snapshot: SchedulerInput) -> None:
        super().__init__(snapshot)
        self.held: dict[tuple[str, int], str] = {}
        self.releases: dict[str, int] = {}
        self.gpus = {n.name: n.gpus for n in snapshot.nodes}

    def step(self, now: float) -> SchedulingResult:
        result = super().step(now)
        for start in result.starts:
            for slot in start.placement:
                for gpu in slot.gpu_indices:
                    assert 0 <= gpu < self.gpus[slot.node]
                    assert (slot.node, gpu) not in self.held, f"GPU held twice at {now}"
                    self.held[(slot.node, gpu)] = start.job_id
        return result

    def release(self, job_id: str, now: float) -> None:
        super().release(job_id, now)
        self.held = {k: v for k, v in self.held.items() if v != job_id}
        self.releases[job_id] = self.releases.get(job_id, 0) + 1


def random_trace(seed: int) -> tuple[TraceJob, ...]:
    rng = random.Random(seed)
    fleet = shape(nodes=3)
    rows = []
    t = 0
    for i in range(60):
        t += rng.choice([0, 0, 5, 30, 120])
        tier = rng.choice([Tier.INTERNAL, Tier.INTERNAL, Tier.ON_DEMAND, Tier.SPOT, Tier.SPOT])
        org = rng.choice(ORGS[tier])
        gpus = rng.choice([1, 1, 2, 4, 8, 16])
        rows.append(f"j{i},{t},{rng.randint(1, 600)},{gpus},{org},{tier.value}")
    return generic_jobs(fleet, *rows)


@pytest.mark.parametrize("seed", range(8))
def test_every_job_ends_exactly_once_and_gpus_are_never_double_booked(seed: int) -> None:
    fleet = shape(nodes=3)
    jobs = random_trace(seed)
    schedulers: list[Checking] = []

    def factory(snapshot: SchedulerInput) -> Checking:
        schedulers.append(Checking(snapshot))
        return schedulers[0]

    quotas = {("acme", "h100"): 16, ("initech", "h100"): 16}
    outcome = simulate(jobs, config(fleet, jobs, quotas=quotas, sellable_cap={"h100": 0.75}),
                       scheduler=factory)  # fmt: skip
    (checking,) = schedulers
    assert not checking.held
    for record in outcome.records:
        job = record.job
        assert record.finished, job.id
        assert record.first_start is not None and record.end is not None
        assert job.submit_time <= record.first_start < record.end
        # One release per attempt: each preemption, then the completion.
        assert checking.releases[job.id] == record.preemptions + 1
        if record.preemptions:
            assert job.tier is Tier.SPOT
        else:
            assert record.jct == pytest.approx(record.pending_s + job.run_time)
            assert record.gpu_seconds == pytest.approx(job.gpus * job.run_time)
    metrics = summarize(outcome)
    assert metrics.total.preemptions > 0  # the traces are busy enough to exercise preemption
    assert 0 < metrics.total.gpu_utilisation <= 1
    assert sum(m.gpu_utilisation for m in metrics.tiers.values()) == pytest.approx(
        metrics.total.gpu_utilisation
    )
    assert sum(m.jobs for m in metrics.tiers.values()) == metrics.total.jobs == len(jobs)
    busy = sum(r.gpu_seconds for r in outcome.records)
    assert busy <= outcome.fleet_gpus * (outcome.end - outcome.start) + 1e-6


def test_the_same_trace_gives_the_same_outcome() -> None:
    fleet = shape(nodes=3)
    jobs = random_trace(42)
    first = simulate(jobs, config(fleet, jobs))
    second = simulate(tuple(reversed(jobs)), config(fleet, jobs))
    assert first == second
