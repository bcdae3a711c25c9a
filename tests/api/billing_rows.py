"""Usage rows written straight into the store, as the control loop would write them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from neocloud.store.models import AllocationRow, JobRow, OrgRow, UsageRecordRow
from tests.api.conftest import Api

_ids = itertools.count(1)


def record_usage(
    api: Api,
    org: str,
    tier: str,
    gpu_type: str,
    gpus: int,
    start: datetime,
    seconds: int | None,
    project_id: str | None = None,
) -> str:
    """Record usage as the control loop would once an allocation ends; returns the job id.

    With `seconds=None` the allocation is still running: no end, no usage record yet.
    """
    n = next(_ids)
    end = start + timedelta(seconds=seconds) if seconds is not None else None
    with api.ctx.db.session() as s:
        org_id = s.scalars(select(OrgRow.id).where(OrgRow.name == org)).one()
        s.add(
            JobRow(
                id=f"job_t{n:04d}",
                seq=10_000 + n,
                org_id=org_id,
                project_id=project_id,
                command=["x"],
                env={},
                gpu_type=gpu_type,
                gpus_per_node=gpus,
                nodes=1,
                tier=tier,
                max_runtime_seconds=60,
                grace_seconds=30,
                requeue_on_preemption=True,
                state="succeeded" if end else "running",
                attempts=1,
                created_at=start,
            )
        )
        s.flush()
        s.add(
            AllocationRow(
                id=f"alc_t{n:04d}",
                job_id=f"job_t{n:04d}",
                attempt=1,
                node="h100-01",
                gpu_indices=list(range(gpus)),
                gpu_type=gpu_type,
                region="local",
                started_at=start,
                ended_at=end,
            )
        )
        s.flush()
        if end is None:
            return f"job_t{n:04d}"
        s.add(
            UsageRecordRow(
                id=f"use_t{n:04d}",
                allocation_id=f"alc_t{n:04d}",
                org_id=org_id,
                project_id=project_id,
                job_id=f"job_t{n:04d}",
                gpu_type=gpu_type,
                tier=tier,
                region="local",
                gpus=gpus,
                started_at=start,
                ended_at=end,
                gpu_seconds=Decimal(gpus * seconds),
                recorded_at=end,
            )
        )
    return f"job_t{n:04d}"
