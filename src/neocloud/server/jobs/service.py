"""Submitting, listing, showing and cancelling jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neocloud.domain import job_limits
from neocloud.domain.attempts import runs_again
from neocloud.domain.jobs import JobState, PriorityClass, Tier
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import jobs as api
from neocloud.server.billing import credits
from neocloud.server.fleet import contracts
from neocloud.server.http.auth import Principal
from neocloud.server.http.disclosure import disclose
from neocloud.server.http.errors import conflict, invalid, not_found
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.jobs.lifecycle import record_event, transition
from neocloud.server.tenancy.service import project_in_scope, resolve_org
from neocloud.store.ids import new_id
from neocloud.store.models import (
    AllocationRow,
    JobEventRow,
    JobRow,
    JobSeqRow,
    NodeRow,
    OrgRow,
)

# Set by the engine for every job; a user value would lie to the job about what it holds.
RESERVED_ENV = ("CUDA_VISIBLE_DEVICES", "NEOCLOUD_")
EXTERNAL_TIERS = (Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT)


def job_out(p: Principal, job: JobRow, allocations: list[AllocationRow]) -> api.Job:
    """Wire form of a job with its allocations, its reason as `p` may see it."""
    message, _ = disclose(
        p,
        job.reason,
        job.message,
        None,
        gpu_type=job.gpu_type,
        gpus_per_node=job.gpus_per_node,
        nodes=job.nodes,
    )
    return api.Job(
        id=job.id,
        org_id=job.org_id,
        project_id=job.project_id,
        name=job.name,
        command=job.command,
        env=job.env,
        working_dir=job.working_dir,
        gpu_type=job.gpu_type,
        gpus_per_node=job.gpus_per_node,
        nodes=job.nodes,
        tier=Tier(job.tier),
        priority_class=PriorityClass(job.priority_class) if job.priority_class else None,
        max_runtime_seconds=job.max_runtime_seconds,
        grace_seconds=job.grace_seconds,
        requeue_on_preemption=job.requeue_on_preemption,
        max_attempts=job.max_attempts,
        state=JobState(job.state),
        reason=job.reason,
        message=message,
        exit_code=job.exit_code,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        allocations=[
            api.Allocation(
                id=a.id,
                node=a.node,
                gpu_indices=a.gpu_indices,
                started_at=a.started_at,
                ended_at=a.ended_at,
            )
            for a in allocations
        ],
    )


def _allocations(s: Session, job_ids: list[str]) -> dict[str, list[AllocationRow]]:
    out: dict[str, list[AllocationRow]] = {j: [] for j in job_ids}
    if job_ids:
        rows = s.scalars(
            select(AllocationRow)
            .where(AllocationRow.job_id.in_(job_ids))
            .order_by(AllocationRow.attempt, AllocationRow.node)
        ).all()
        for a in rows:
            out[a.job_id].append(a)
    return out


def _next_seq(s: Session) -> int:
    row = s.scalars(select(JobSeqRow).where(JobSeqRow.id == 1).with_for_update()).first()
    if row is None:
        row = JobSeqRow(id=1, next_value=1)
        s.add(row)
    value = row.next_value
    row.next_value = value + 1
    return value


def _check_resources(s: Session, body: api.JobCreate) -> None:
    r = body.resources
    nodes = s.execute(
        select(NodeRow.gpus).where(NodeRow.gpu_type == r.gpu_type, NodeRow.retired.is_(False))
    ).all()
    if not nodes:
        known = sorted(
            set(s.scalars(select(NodeRow.gpu_type).where(NodeRow.retired.is_(False))).all())
        )
        raise invalid(
            "resources.gpu_type",
            f"unknown GPU type {r.gpu_type!r}; this fleet offers {', '.join(known) or 'none'}",
        )
    largest = max(g for (g,) in nodes)
    if r.gpus_per_node > largest:
        raise invalid(
            "resources.gpus_per_node",
            f"{r.gpus_per_node} {r.gpu_type} per node requested; the largest node has {largest}",
        )
    fitting = sum(1 for (g,) in nodes if g >= r.gpus_per_node)
    if r.nodes > fitting:
        raise invalid(
            "resources.nodes",
            f"{r.nodes} nodes × {r.gpus_per_node} {r.gpu_type} requested; "
            f"only {fitting} node(s) can hold {r.gpus_per_node}",
        )


def _check_launchable(command: list[str], env: dict[str, str]) -> None:
    """422 naming the argument or variable a launch would fail on (domain.job_limits)."""
    problem = job_limits.spec_problem(command, env)
    if problem is not None:
        raise invalid(*problem)
    for name in env:
        if name.startswith(RESERVED_ENV):
            raise invalid(f"env.{name}", "set by neocloud for every job; it cannot be overridden")


def submit(s: Session, p: Principal, body: api.JobCreate, now: datetime) -> api.Job:
    """Validate a job completely, then store it pending; nothing is stored if any check fails."""
    p.require(Permission.RUN_JOBS)
    if body.org is not None:
        if not p.is_operator:
            raise invalid("org", "only the operator may submit on behalf of another org")
        org = resolve_org(s, p, body.org)
    else:
        org_row = s.get(OrgRow, p.org_id)
        assert org_row is not None
        org = org_row
    kind = OrgKind(org.kind)
    if kind is OrgKind.INTERNAL and body.tier is not Tier.INTERNAL:
        raise invalid("tier", f"internal org {org.name} runs on tier internal, not {body.tier}")
    if kind is OrgKind.EXTERNAL and body.tier not in EXTERNAL_TIERS:
        raise invalid("tier", "external orgs choose reserved, on_demand or spot")
    if body.tier is Tier.RESERVED:
        contracted = contracts.active_gpus(s, org.id, body.resources.gpu_type, now)
        needed = body.resources.gpus_per_node * body.resources.nodes
        if contracted < needed:
            raise invalid(
                "tier",
                f"org {org.name} has {contracted} {body.resources.gpu_type} under an active "
                f"contract; this job needs {needed}. Use on_demand or spot, "
                "or sign a reservation",
            )
    _check_launchable(body.command, body.env)
    _check_resources(s, body)
    project_id = project_in_scope(s, p, org, body.project)
    if kind is OrgKind.EXTERNAL:
        credits.require_headroom(
            s,
            org,
            body.resources.gpu_type,
            body.tier,
            body.resources.gpus_per_node * body.resources.nodes,
            body.max_runtime_seconds,
            now,
        )
    priority = body.priority_class
    if body.tier is Tier.INTERNAL and priority is None:
        priority = PriorityClass.RESEARCH
    job = JobRow(
        id=new_id("job"),
        seq=_next_seq(s),
        org_id=org.id,
        project_id=project_id,
        name=body.name,
        command=list(body.command),
        env=dict(body.env),
        working_dir=body.working_dir,
        gpu_type=body.resources.gpu_type,
        gpus_per_node=body.resources.gpus_per_node,
        nodes=body.resources.nodes,
        tier=body.tier.value,
        priority_class=priority.value if priority else None,
        max_runtime_seconds=body.max_runtime_seconds,
        grace_seconds=body.grace_seconds,
        requeue_on_preemption=body.requeue_on_preemption,
        max_attempts=body.max_attempts,
        state=JobState.PENDING.value,
        reason="submitted",
        message="waiting for the scheduler",
        attempts=0,
        cancel_requested=False,
        created_at=now,
    )
    s.add(job)
    s.flush()
    record_event(s, job, JobState.PENDING, "submitted", now, "job submitted")
    return job_out(p, job, [])


def visible_job(s: Session, p: Principal, job_id: str, lock: bool = False) -> JobRow:
    """The job, if the caller may see it (404 otherwise, as if it did not exist)."""
    job = s.get(JobRow, job_id, with_for_update=lock)
    if job is None or not p.can_see_project(job.org_id, job.project_id):
        raise not_found("job", job_id)
    return job


def get(s: Session, p: Principal, job_id: str) -> api.Job:
    """One job the caller may see."""
    p.require(Permission.READ)
    job = visible_job(s, p, job_id)
    return job_out(p, job, _allocations(s, [job.id])[job.id])


def list_jobs(
    s: Session,
    p: Principal,
    state: JobState | None,
    org_ident: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[api.Job], str | None]:
    """Jobs the caller may see, oldest first."""
    p.require(Permission.READ)
    stmt = select(JobRow)
    if org_ident:
        stmt = stmt.where(JobRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(JobRow.org_id == p.org_id)
    if p.project_scope is not None:
        stmt = stmt.where(JobRow.project_id == p.project_scope)
    if state is not None:
        stmt = stmt.where(JobRow.state == state.value)
    rows = s.scalars(paginate(stmt, JobRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    allocs = _allocations(s, [j.id for j in items])
    return [job_out(p, j, allocs[j.id]) for j in items], nxt


def events(s: Session, p: Principal, job_id: str) -> list[api.JobEvent]:
    """A job's recorded transitions, in order."""
    p.require(Permission.READ)
    job = visible_job(s, p, job_id)
    rows = s.scalars(
        select(JobEventRow).where(JobEventRow.job_id == job.id).order_by(JobEventRow.seq)
    ).all()
    return [_event_out(p, job, e) for e in rows]


def _event_out(p: Principal, job: JobRow, e: JobEventRow) -> api.JobEvent:
    message, details = disclose(
        p,
        e.reason,
        e.message,
        e.details,
        gpu_type=job.gpu_type,
        gpus_per_node=job.gpus_per_node,
        nodes=job.nodes,
    )
    return api.JobEvent(
        seq=e.seq,
        at=e.at,
        from_state=JobState(e.from_state) if e.from_state else None,
        to_state=JobState(e.to_state),
        reason=e.reason,
        message=message,
        details=details,
    )


def cancel(s: Session, p: Principal, job_id: str, now: datetime) -> api.Job:
    """Cancel: a pending job ends now; a running one is asked to stop (SIGTERM, grace, SIGKILL)."""
    p.require(Permission.RUN_JOBS)
    # Locked so the control loop cannot schedule the job between our read and our write.
    job = visible_job(s, p, job_id, lock=True)
    state = JobState(job.state)
    if state.terminal or (
        state is JobState.PREEMPTED
        and not runs_again(job.requeue_on_preemption, job.attempts, job.max_attempts)
    ):
        raise conflict(f"job {job.id} already {state}", {"state": state.value})
    if state in (JobState.PENDING, JobState.PREEMPTED):
        if state is JobState.PREEMPTED:
            transition(s, job, JobState.PENDING, "requeued", now)
        transition(s, job, JobState.CANCELLED, "cancelled", now, "cancelled by the user")
    elif not job.cancel_requested:
        job.cancel_requested = True
        record_event(
            s,
            job,
            state,
            "cancel_requested",
            now,
            "stop requested; SIGTERM then SIGKILL after grace",
            from_state=state,
        )
    return job_out(p, job, _allocations(s, [job.id])[job.id])


def active_gpu_count(s: Session) -> int:
    """GPUs held by jobs right now (for metrics)."""
    rows = s.scalars(
        select(AllocationRow.gpu_indices).where(AllocationRow.ended_at.is_(None))
    ).all()
    return sum(len(r) for r in rows)


def count_by_state(s: Session) -> dict[str, int]:
    """Jobs per state (for metrics)."""
    rows = s.execute(select(JobRow.state, func.count()).group_by(JobRow.state)).all()
    return {state: int(count) for state, count in rows}
