"""Job transitions, allocations and usage records: the only code that changes a job's state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neocloud.billing.intervals import seconds_between
from neocloud.domain.jobs import JobState, check_transition
from neocloud.store.models import AllocationRow, JobEventRow, JobRow, UsageRecordRow
from neocloud.store.usage_lock import hold_shared


def record_event(
    s: Session,
    job: JobRow,
    to_state: JobState,
    reason: str,
    now: datetime,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    from_state: JobState | None = None,
) -> None:
    """Append an event to a job's history (append-only; seq numbers are per job)."""
    last = s.scalar(select(func.max(JobEventRow.seq)).where(JobEventRow.job_id == job.id))
    s.add(
        JobEventRow(
            job_id=job.id,
            seq=(last or 0) + 1,
            at=now,
            from_state=from_state.value if from_state else None,
            to_state=to_state.value,
            reason=reason,
            message=message,
            details={k: str(v) for k, v in (details or {}).items()},
        )
    )


def transition(
    s: Session,
    job: JobRow,
    to_state: JobState,
    reason: str,
    now: datetime,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move a job to a new state, checked against the state machine, and record why."""
    current = JobState(job.state)
    check_transition(current, to_state)
    job.state = to_state.value
    job.reason = reason
    job.message = message
    if to_state.terminal or to_state is JobState.PREEMPTED:
        job.ended_at = now
    record_event(s, job, to_state, reason, now, message, details, from_state=current)


def open_allocations(s: Session, job: JobRow) -> list[AllocationRow]:
    """Allocations of the job's current attempt that have not ended."""
    return list(
        s.scalars(
            select(AllocationRow)
            .where(
                AllocationRow.job_id == job.id,
                AllocationRow.attempt == job.attempts,
                AllocationRow.ended_at.is_(None),
            )
            .order_by(AllocationRow.node)
        ).all()
    )


def gpu_seconds(gpus: int, start: datetime, end: datetime) -> Decimal:
    """GPUs × exact elapsed seconds (microsecond precision, no float)."""
    return Decimal(gpus) * max(seconds_between(start, end), Decimal(0))


def close_allocations(
    s: Session, job: JobRow, started_at: datetime | None, ended_at: datetime, now: datetime
) -> Decimal:
    """End the current attempt's allocations and write their usage once; returns GPU-seconds."""
    total = Decimal(0)
    # Stamped once the usage lock is held, so an invoice's cutoff orders it exactly (see
    # store.usage_lock); never before `now`, so a test clock ahead of the wall clock still holds.
    stamp = hold_shared(s, not_before=now)
    for alloc in open_allocations(s, job):
        start = alloc.started_at or started_at
        alloc.ended_at = max(ended_at, start) if start else ended_at
        if start is None:
            # Never started on the engine: the GPUs were reserved but nothing ran; nothing to bill.
            alloc.started_at = alloc.ended_at
            continue
        alloc.started_at = start
        if s.scalars(
            select(UsageRecordRow.id).where(UsageRecordRow.allocation_id == alloc.id)
        ).first():
            continue
        used = gpu_seconds(len(alloc.gpu_indices), start, alloc.ended_at)
        total += used
        s.add(
            UsageRecordRow(
                id="use_" + alloc.id.split("_", 1)[1],
                allocation_id=alloc.id,
                org_id=job.org_id,
                project_id=job.project_id,
                job_id=job.id,
                gpu_type=alloc.gpu_type,
                tier=job.tier,
                region=alloc.region,
                gpus=len(alloc.gpu_indices),
                started_at=start,
                ended_at=alloc.ended_at,
                gpu_seconds=used,
                recorded_at=stamp,
            )
        )
    return total
