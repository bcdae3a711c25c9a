"""Each job record keeps its allocations (grace included), and its retry policy is honoured."""

from __future__ import annotations

import pytest

from neocloud.domain.jobs import JobState
from neocloud.sim.simulator import simulate
from tests.sim.helpers import config, generic_jobs, policy_jobs, shape


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
    assert outcome.records[0].state is JobState.PENDING


# One node; a long spot job is preempted by internal work at 10, 200 and 400 (30 s grace each),
# restarting from scratch at 140, 330 and 530 while its retry policy lets it.
RECLAIMS = (
    "a1,10,100,8,acme,internal,,",
    "a2,200,100,8,acme,internal,,",
    "a3,400,100,8,acme,internal,,",
)


@pytest.mark.parametrize(
    ("requeue", "max_attempts", "attempts", "state"),
    [
        (
            "",
            "",
            ((0.0, 40.0), (140.0, 230.0), (330.0, 430.0), (530.0, 1530.0)),
            JobState.SUCCEEDED,
        ),
        (
            "true",
            "4",
            ((0.0, 40.0), (140.0, 230.0), (330.0, 430.0), (530.0, 1530.0)),
            JobState.SUCCEEDED,
        ),
        ("true", "3", ((0.0, 40.0), (140.0, 230.0), (330.0, 430.0)), JobState.PREEMPTED),
        ("true", "2", ((0.0, 40.0), (140.0, 230.0)), JobState.PREEMPTED),
        ("true", "1", ((0.0, 40.0),), JobState.PREEMPTED),
        ("false", "", ((0.0, 40.0),), JobState.PREEMPTED),
    ],
)
def test_a_preempted_job_runs_again_only_while_its_retry_policy_allows(
    requeue: str, max_attempts: str, attempts: tuple[tuple[float, float], ...], state: JobState
) -> None:
    fleet = shape(nodes=1)
    jobs = policy_jobs(fleet, f"s,0,1000,8,globex,spot,{requeue},{max_attempts}", *RECLAIMS)
    outcome = simulate(jobs, config(fleet, jobs))
    s = next(r for r in outcome.records if r.job.id == "s")
    assert (s.attempts, s.state, s.preemptions) == (attempts, state, min(len(attempts), 3))
    # A job that gives up never finishes, and never runs more than max_attempts times.
    assert s.finished is (state is JobState.SUCCEEDED)
    assert not max_attempts or len(s.attempts) <= int(max_attempts)
    assert all(r.state is JobState.SUCCEEDED for r in outcome.records if r.job.id != "s")


def test_a_job_cut_at_its_max_runtime_ends_failed_as_the_server_ends_it() -> None:
    fleet = shape(nodes=1)
    jobs = generic_jobs(fleet, "a,0,100,8,acme,internal,60", "b,0,100,8,acme,internal,100")
    by_id = {r.job.id: r for r in simulate(jobs, config(fleet, jobs)).records}
    assert (by_id["a"].state, by_id["a"].timed_out, by_id["a"].end) == (JobState.FAILED, True, 60.0)
    assert (by_id["b"].state, by_id["b"].timed_out) == (JobState.SUCCEEDED, False)
