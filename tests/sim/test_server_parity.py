"""The simulator and the server agree on what repeated preemptions make of a job's retry policy.

The same jobs are preempted three times in the simulator; each one's attempts are then fed,
start by start and end by end, through the server's own code for an attempt the engine reports
over (`server.jobs.attempt_end.finish_attempt`, the control loop's step), on a real database.
Both must leave every job in the same state after the same number of attempts.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from neocloud.domain.jobs import JobState
from neocloud.engines.base import EngineState, EngineStatus
from neocloud.server.jobs.attempt_end import finish_attempt
from neocloud.server.jobs.lifecycle import transition
from neocloud.sim.records import JobRecord
from neocloud.sim.simulator import simulate
from neocloud.store.db import Database
from neocloud.store.models import JobEventRow, JobRow, OrgRow
from tests.sim.helpers import config, policy_jobs, shape

T0 = datetime(2026, 12, 1, tzinfo=UTC)
# Five nodes, a spot job on each, and internal work wanting the whole fleet three times.
ROWS = (
    "unlimited,0,1000,8,globex,spot,,",
    "twice,0,1000,8,globex,spot,true,2",
    "thrice,0,1000,8,globex,spot,true,3",
    "no-requeue,0,1000,8,globex,spot,false,",
    "five,0,1000,8,globex,spot,true,5",
    "reclaim-1,10,100,40,acme,internal,,",
    "reclaim-2,200,100,40,acme,internal,,",
    "reclaim-3,400,100,40,acme,internal,,",
)


def _records() -> list[JobRecord]:
    fleet = shape(nodes=5)
    jobs = policy_jobs(fleet, *ROWS)
    outcome = simulate(jobs, config(fleet, jobs))
    return [r for r in outcome.records if r.job.org == "globex"]


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _replay(database: Database, seq: int, record: JobRecord) -> tuple[str, int, list[str]]:
    """Feed the record's attempts through the server; its job's state, attempts and reasons."""
    job = record.job
    with database.session() as s:
        if s.get(OrgRow, "org_g") is None:
            s.add(OrgRow(id="org_g", name="globex", kind="external", created_at=T0))
            s.flush()
        row = JobRow(
            id=job.id,
            seq=seq,
            org_id="org_g",
            command=["train"],
            env={},
            gpu_type=job.gpu_type,
            gpus_per_node=job.gpus_per_node,
            nodes=job.nodes,
            tier=job.tier.value,
            max_runtime_seconds=math.ceil(job.max_runtime),
            grace_seconds=30,
            requeue_on_preemption=job.requeue_on_preemption,
            max_attempts=job.max_attempts,
            state=JobState.PENDING.value,
            attempts=0,
            created_at=_at(job.submit_time),
        )
        s.add(row)
        s.flush()
        for i, (start, end) in enumerate(record.attempts):
            # Only a pending job is started: the server must have requeued it as the simulator did.
            assert row.state == JobState.PENDING.value, (job.id, i)
            row.attempts += 1
            transition(s, row, JobState.SCHEDULED, "scheduled", _at(start))
            row.engine_handle = f"local:{job.id}-{row.attempts}"
            transition(s, row, JobState.RUNNING, "started", _at(start))
            last = i == len(record.attempts) - 1
            if last and record.state is not JobState.PREEMPTED:
                st = EngineStatus(EngineState.EXITED, exit_code=0, ended_at=_at(end))
            else:
                # The preemption notice is delivered as a stop, which the engine reports.
                row.preempting_for = "reclaim"
                st = EngineStatus(
                    EngineState.EXITED, signal=15, ended_at=_at(end), reason="cancelled"
                )
            finish_attempt(s, row, st, _at(end), _at(end), {}, credit_stop=False)
        reasons = s.scalars(
            select(JobEventRow.reason).where(JobEventRow.job_id == job.id).order_by(JobEventRow.seq)
        ).all()
        return row.state, row.attempts, list(reasons)


def test_the_simulator_and_the_server_leave_preempted_jobs_alike(database: Database) -> None:
    records = _records()
    assert {r.job.id: (r.state, len(r.attempts)) for r in records} == {
        "unlimited": (JobState.SUCCEEDED, 4),
        "twice": (JobState.PREEMPTED, 2),
        "thrice": (JobState.PREEMPTED, 3),
        "no-requeue": (JobState.PREEMPTED, 1),
        "five": (JobState.SUCCEEDED, 4),
    }
    for seq, record in enumerate(records, start=1):
        state, attempts, reasons = _replay(database, seq, record)
        assert (state, attempts) == (record.state.value, len(record.attempts)), record.job.id
        # Each preemption but a final one is followed by a requeue, as in the simulator.
        assert reasons.count("preempted") == record.preemptions
        requeues = record.preemptions - (record.state is JobState.PREEMPTED)
        assert reasons.count("requeued") == requeues
