"""The simulator on tiny traces whose every figure is computed by hand."""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import Tier
from neocloud.sim.metrics import summarize
from neocloud.sim.records import JobRecord, SimOutcome
from neocloud.sim.simulator import simulate
from tests.sim.helpers import config, generic_jobs, shape


def by_id(outcome: SimOutcome) -> dict[str, JobRecord]:
    return {r.job.id: r for r in outcome.records}


def test_two_whole_node_jobs_on_one_node_run_one_after_the_other() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "a,0,100,8,acme,internal", "b,10,50,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    a, b = by_id(outcome)["a"], by_id(outcome)["b"]
    assert (a.first_start, a.end, a.jct, a.pending_s) == (0, 100, 100, 0)
    assert (b.first_start, b.end, b.jct, b.pending_s) == (100, 150, 140, 90)
    m = summarize(outcome).total
    assert (m.jobs, m.finished, m.unfinished, m.preemptions) == (2, 2, 0, 0)
    assert (m.jct_avg_s, m.wait_avg_s, m.makespan_s) == (120, 45, 150)
    # p95 interpolates between the two values: 100 + 0.95 × 40 and 0 + 0.95 × 90.
    assert m.jct_p95_s == pytest.approx(138)
    assert m.wait_p95_s == pytest.approx(85.5)
    # 8 GPUs busy for 100 s then 50 s, out of 8 GPUs × 150 s.
    assert m.gpu_utilisation == pytest.approx(1.0)


def test_small_jobs_share_a_node() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "a,0,100,4,acme,internal", "b,0,60,4,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    assert [r.first_start for r in outcome.records] == [0, 0]
    m = summarize(outcome).total
    assert m.gpu_utilisation == pytest.approx((4 * 100 + 4 * 60) / (8 * 100))


def test_a_spot_job_preempted_by_internal_work_exits_after_its_grace_and_restarts() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "s,0,1000,8,globex,spot", "i,100,100,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    s, i = by_id(outcome)["s"], by_id(outcome)["i"]
    # At 100 the spot job is told to go; it exits at 130 (30 s grace) and is requeued.
    # The internal job starts at 130 and ends at 230; the spot job restarts from scratch.
    assert (i.first_start, i.end, i.jct, i.pending_s) == (130, 230, 130, 30)
    assert (s.first_start, s.end, s.preemptions) == (0, 1230, 1)
    assert s.jct == 1230 and s.pending_s == 100  # requeued at 130, restarted at 230
    assert s.gpu_seconds == 8 * 130 + 8 * 1000
    metrics = summarize(outcome)
    assert metrics.tiers[Tier.SPOT].preemptions == 1
    assert metrics.tiers[Tier.INTERNAL].preemptions == 0
    assert metrics.total.gpu_utilisation == pytest.approx((8 * 1130 + 8 * 100) / (8 * 1230))
    assert list(metrics.tiers) == [Tier.INTERNAL, Tier.SPOT]


def test_a_victim_that_finishes_within_its_grace_simply_completes() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "s,0,110,8,globex,spot", "i,100,100,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    s, i = by_id(outcome)["s"], by_id(outcome)["i"]
    assert (s.end, s.preemptions) == (110, 0)
    assert (i.first_start, i.end) == (110, 210)


def test_the_grace_period_is_configurable() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "s,0,1000,8,globex,spot", "i,100,100,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs, spot_grace_s=5))
    assert by_id(outcome)["i"].first_start == 105


def test_a_gang_takes_two_nodes_at_once() -> None:
    fleet = shape(nodes=2)
    jobs = generic_jobs(fleet, "small,0,100,4,acme,internal", "gang,10,50,16,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    gang = by_id(outcome)["gang"]
    assert (gang.job.nodes, gang.job.gpus_per_node) == (2, 8)
    assert (gang.first_start, gang.end, gang.gpu_seconds) == (100, 150, 16 * 50)


def test_fragmentation_is_the_time_weighted_mean_of_stranded_gpus() -> None:
    fleet = shape(nodes=2)
    # a and b take 6 GPUs on each node; c (another org, within its quota) needs a whole node
    # and waits 100 s while 2 + 2 free GPUs are stranded; then it runs 10 s, nothing stranded.
    jobs = generic_jobs(
        fleet, "a,0,100,6,acme,internal", "b,0,100,6,acme,internal", "c,0,10,8,other,internal"
    )
    outcome = simulate(jobs, config(fleet, jobs))
    assert by_id(outcome)["c"].first_start == 100
    metrics = summarize(outcome)
    assert metrics.total.fragmentation_gpus == pytest.approx(4 * 100 / 110)
    # Free GPUs belong to no tier: fragmentation is a fleet-wide figure.
    assert metrics.tiers[Tier.INTERNAL].fragmentation_gpus is None


def test_a_job_waiting_on_its_quota_strands_nothing() -> None:
    fleet = shape(nodes=2)
    jobs = generic_jobs(fleet, "a,0,100,6,acme,internal", "c,0,10,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs, quotas={("acme", "h100"): 8}))
    assert by_id(outcome)["c"].first_start == 100
    assert summarize(outcome).total.fragmentation_gpus == 0


def test_an_internal_org_without_quota_never_starts_and_is_reported_unfinished() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "a,0,100,1,acme,internal", "b,0,100,1,other,internal")
    outcome = simulate(jobs, config(fleet, jobs, quotas={("acme", "h100"): 8}))
    b = by_id(outcome)["b"]
    assert (b.first_start, b.end, b.jct) == (None, None, None)
    m = summarize(outcome).total
    assert (m.jobs, m.finished, m.unfinished, m.jct_avg_s, m.makespan_s) == (2, 1, 1, 100, 100)


def test_a_job_is_stopped_at_its_max_runtime() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "a,0,100,8,acme,internal,40", "b,0,10,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    a, b = by_id(outcome)["a"], by_id(outcome)["b"]
    assert (a.end, a.timed_out, b.first_start) == (40, True, 40)
    assert summarize(outcome).total.timed_out == 1


def test_external_work_is_held_to_the_sellable_cap() -> None:
    fleet = shape(nodes=2)
    jobs = generic_jobs(fleet, "x,0,100,8,globex,on_demand", "y,0,100,8,globex,on_demand")
    outcome = simulate(jobs, config(fleet, jobs, sellable_cap={"h100": 0.5}))
    assert [r.first_start for r in outcome.records] == [0, 100]


def test_an_empty_trace_is_an_empty_outcome() -> None:
    fleet = shape()
    outcome = simulate((), config(fleet, ()))
    m = summarize(outcome).total
    assert (m.jobs, m.gpu_utilisation, m.jct_avg_s, m.makespan_s) == (0, 0, None, 0)
