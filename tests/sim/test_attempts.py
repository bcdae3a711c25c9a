"""Each job record keeps its allocations: when every attempt held its GPUs, grace included."""

from __future__ import annotations

from neocloud.sim.simulator import simulate
from tests.sim.helpers import config, generic_jobs, shape


def test_a_preempted_job_has_two_attempts_and_the_others_one() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "s,0,1000,8,globex,spot", "a,10,100,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs))
    by_id = {r.job.id: r for r in outcome.records}
    # a reclaims the node at 10; s keeps it through its 30 s grace, exits at 40 and restarts
    # from scratch when a ends at 140.
    assert by_id["s"].attempts == ((0.0, 40.0), (140.0, 1140.0))
    assert by_id["a"].attempts == ((40.0, 140.0),)
    for record in outcome.records:
        held = sum(end - start for start, end in record.attempts) * record.job.gpus
        assert held == record.gpu_seconds


def test_a_job_that_never_starts_has_no_attempts() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "a,0,100,8,acme,internal")
    outcome = simulate(jobs, config(fleet, jobs, quotas={}))
    assert outcome.records[0].attempts == ()
