"""Jobs: submit, list, show, events, logs, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from neocloud.domain.jobs import JobState
from neocloud.domain.tenancy import Permission
from neocloud.schemas import jobs as api
from neocloud.schemas.common import Page
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Ctx, ProjectCaller
from neocloud.server.http.idempotency import ProjectCreate
from neocloud.server.http.pagination import Limit
from neocloud.server.jobs import logs as job_logs
from neocloud.server.jobs import service as svc

# Log offsets past any file a filesystem holds are refused rather than sought (EINVAL).
MAX_LOG_OFFSET = 2**40
MAX_LOG_CHUNK = 1_048_576

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post("", status_code=201, response_model=api.Job)
def submit(
    body: api.JobCreate,
    op: ProjectCreate,
) -> object:
    """Submit a job; it waits for the scheduler."""
    return op.run(
        body,
        lambda s: svc.submit(s, op.caller, body, op.now),
        permission=Permission.RUN_JOBS,
    )


@router.get("", response_model=Page[api.Job])
def list_jobs(
    ctx: Ctx,
    p: ProjectCaller,
    state: JobState | None = None,
    org: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.Job]:
    """Jobs the caller may see, oldest first."""
    with ctx.db.session() as s:
        items, nxt = svc.list_jobs(s, p, state, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/{job_id}", response_model=api.Job)
def get_job(job_id: str, ctx: Ctx, p: ProjectCaller) -> api.Job:
    """One job, with why it waits if it is pending."""
    with ctx.db.session() as s:
        return svc.get(s, p, job_id)


@router.get("/{job_id}/events", response_model=list[api.JobEvent])
def job_events(job_id: str, ctx: Ctx, p: ProjectCaller) -> list[api.JobEvent]:
    """Every recorded transition of a job."""
    with ctx.db.session() as s:
        return svc.events(s, p, job_id)


@router.post("/{job_id}/cancel", response_model=api.Job)
def cancel(job_id: str, ctx: Ctx, p: ProjectCaller) -> api.Job:
    """Cancel a job (running jobs get SIGTERM, then SIGKILL after their grace period)."""
    with ctx.db.session() as s:
        return svc.cancel(s, p, job_id, utcnow())


@router.get("/{job_id}/logs", response_model=api.JobLogs)
def logs(
    job_id: str,
    ctx: Ctx,
    p: ProjectCaller,
    offset: Annotated[int, Query(ge=0, le=MAX_LOG_OFFSET, description="byte offset")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LOG_CHUNK, description="bytes at most")] = 65536,
) -> api.JobLogs:
    """A chunk of the latest attempt's output, from a byte offset."""
    return job_logs.read_logs(ctx.db, ctx.engines, p, job_id, offset, limit)
