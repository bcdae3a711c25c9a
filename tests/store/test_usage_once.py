"""Usage is written once per allocation, even if the control plane closes it twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from neocloud.server.jobs.lifecycle import close_allocations, gpu_seconds
from neocloud.store.db import Database
from neocloud.store.models import AllocationRow, JobRow, OrgRow, UsageRecordRow

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _job(s) -> JobRow:  # type: ignore[no-untyped-def]
    s.add(OrgRow(id="org_a", name="acme", kind="external", created_at=T0))
    s.flush()
    job = JobRow(
        id="job_1",
        seq=1,
        org_id="org_a",
        command=["x"],
        env={},
        gpu_type="h100",
        gpus_per_node=2,
        nodes=1,
        tier="spot",
        max_runtime_seconds=60,
        grace_seconds=30,
        requeue_on_preemption=True,
        state="running",
        attempts=1,
        created_at=T0,
    )
    s.add(job)
    s.flush()
    s.add(
        AllocationRow(
            id="alc_1",
            job_id="job_1",
            attempt=1,
            node="n1",
            gpu_indices=[0, 1],
            gpu_type="h100",
            region="r",
            started_at=T0,
        )
    )
    s.flush()
    return job


def test_closing_twice_records_once(database: Database) -> None:
    end = T0 + timedelta(seconds=90, microseconds=250_000)
    with database.session() as s:
        job = _job(s)
        assert close_allocations(s, job, T0, end, end) == Decimal("180.5")
    with database.session() as s:
        job = s.get(JobRow, "job_1")
        assert job is not None
        assert close_allocations(s, job, T0, end + timedelta(hours=1), end) == 0
    with database.session() as s:
        records = s.scalars(select(UsageRecordRow)).all()
        assert len(records) == 1
        assert records[0].gpu_seconds == Decimal("180.5")
        assert records[0].ended_at == end


def test_gpu_seconds_is_exact_to_the_microsecond() -> None:
    assert gpu_seconds(3, T0, T0 + timedelta(days=1, microseconds=1)) == Decimal("259200.000003")
    assert gpu_seconds(2, T0, T0 - timedelta(seconds=5)) == 0
