"""Jobs: submit, list, show, events, logs, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from neocloud.domain.jobs import JobState
from neocloud.domain.tenancy import Permission
from neocloud.engines.base import EngineHandle
from neocloud.schemas import jobs as api
from neocloud.schemas.common import Page
from neocloud.server.clock import utcnow
from neocloud.server.context import Ctx, ProjectCaller
from neocloud.server.idempotency import idempotent
from neocloud.server.pagination import Limit
from neocloud.server.services import jobs as svc

# Log offsets past any file a filesystem holds are refused rather than sought (EINVAL).
MAX_LOG_OFFSET = 2**40
MAX_LOG_CHUNK = 1_048_576

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


@router.post("", status_code=201, response_model=api.Job)
def submit(
    body: api.JobCreate,
    ctx: Ctx,
    p: ProjectCaller,
    response: Response,
    key: str | None = Header(default=None, alias="Idempotency-Key"),
) -> object:
    """Submit a job; it waits for the scheduler."""
    return idempotent(
        ctx,
        p,
        key,
        "POST /v1/jobs",
        body,
        response,
        201,
        lambda s: svc.submit(s, p, body, utcnow()),
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
    with ctx.db.session() as s:
        job = svc.job_for_logs(s, p, job_id)
        state = JobState(job.state)
        handle_text = svc.latest_handle(s, job)
    if handle_text is None:
        return api.JobLogs(
            job_id=job_id, offset=offset, next_offset=offset, data="", complete=state.terminal
        )
    handle = EngineHandle.from_str(handle_text)
    chunk = ctx.engines.for_handle(handle).logs(handle, offset, limit)
    return api.JobLogs(
        job_id=job_id,
        offset=offset,
        next_offset=chunk.next_offset,
        data=chunk.data.decode("utf-8", errors="replace"),
        complete=chunk.complete and state.terminal,
    )
