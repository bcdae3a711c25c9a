"""A job's output: the latest attempt's log, read from the engine that ran it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.jobs import JobState
from neocloud.domain.tenancy import Permission
from neocloud.engines.base import EngineHandle
from neocloud.schemas import jobs as api
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.http.auth import Principal
from neocloud.server.jobs.service import visible_job
from neocloud.store.db import Database
from neocloud.store.models import AllocationRow, JobRow


def read_logs(
    db: Database, engines: EngineRegistry, p: Principal, job_id: str, offset: int, limit: int
) -> api.JobLogs:
    """A chunk of the latest attempt's output from a byte offset (404 if not the caller's job).

    The engine is read outside the database session: a slow log store holds no transaction.
    """
    with db.session() as s:
        p.require(Permission.READ)
        job = visible_job(s, p, job_id)
        state = JobState(job.state)
        handle_text = _latest_handle(s, job)
    if handle_text is None:
        return api.JobLogs(
            job_id=job_id, offset=offset, next_offset=offset, data="", complete=state.terminal
        )
    handle = EngineHandle.from_str(handle_text)
    chunk = engines.for_handle(handle).logs(handle, offset, limit)
    return api.JobLogs(
        job_id=job_id,
        offset=offset,
        next_offset=chunk.next_offset,
        data=chunk.data.decode("utf-8", errors="replace"),
        complete=chunk.complete and state.terminal,
    )


def _latest_handle(s: Session, job: JobRow) -> str | None:
    """The engine handle of the job's latest launched attempt (its logs live there)."""
    return s.scalars(
        select(AllocationRow.engine_handle)
        .where(AllocationRow.job_id == job.id, AllocationRow.engine_handle.is_not(None))
        .order_by(AllocationRow.attempt.desc())
        .limit(1)
    ).first()
