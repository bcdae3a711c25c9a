"""Usage records (immutable GPU-seconds per allocation) and their summaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.usage import UsageSpan, summarize
from neocloud.domain.jobs import Tier
from neocloud.domain.tenancy import Permission
from neocloud.schemas import billing as api
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import invalid
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.models import UsageRecordRow

GROUP_KEYS = ("org", "project", "gpu_type", "tier", "day")


def record_out(r: UsageRecordRow) -> api.UsageRecord:
    """Wire form of a usage record."""
    return api.UsageRecord(
        id=r.id,
        org_id=r.org_id,
        project_id=r.project_id,
        job_id=r.job_id,
        gpu_type=r.gpu_type,
        tier=Tier(r.tier),
        region=r.region,
        gpus=r.gpus,
        started_at=r.started_at,
        ended_at=r.ended_at,
        gpu_seconds=r.gpu_seconds,
    )


def span_of(r: UsageRecordRow) -> UsageSpan:
    """The pure billing view of a usage record."""
    return UsageSpan(
        id=r.id,
        org=r.org_id,
        project=r.project_id,
        job=r.job_id,
        gpu_type=r.gpu_type,
        tier=Tier(r.tier),
        region=r.region,
        gpus=r.gpus,
        start=r.started_at,
        end=r.ended_at,
    )


def check_window(start: datetime, end: datetime) -> None:
    """422 unless start < end and both carry a timezone."""
    if start.tzinfo is None or end.tzinfo is None:
        raise invalid("from", "times must include a timezone (use Z for UTC)")
    if start >= end:
        raise invalid("to", "must be after 'from'")


def records_in(
    s: Session, start: datetime, end: datetime, org_id: str | None
) -> list[UsageRecordRow]:
    """Records overlapping [start, end)."""
    stmt = select(UsageRecordRow).where(
        UsageRecordRow.started_at < end, UsageRecordRow.ended_at > start
    )
    if org_id is not None:
        stmt = stmt.where(UsageRecordRow.org_id == org_id)
    return list(s.scalars(stmt.order_by(UsageRecordRow.id)).all())


def _scope(s: Session, p: Principal, org_ident: str | None) -> str | None:
    if org_ident:
        return resolve_org(s, p, org_ident).id
    return None if p.is_operator else p.org_id


def list_records(
    s: Session,
    p: Principal,
    start: datetime,
    end: datetime,
    org_ident: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[api.UsageRecord], str | None]:
    """Usage records the caller may see, overlapping the window."""
    p.require(Permission.READ)
    check_window(start, end)
    org_id = _scope(s, p, org_ident)
    stmt = select(UsageRecordRow).where(
        UsageRecordRow.started_at < end, UsageRecordRow.ended_at > start
    )
    if org_id is not None:
        stmt = stmt.where(UsageRecordRow.org_id == org_id)
    if p.project_scope is not None:
        stmt = stmt.where(UsageRecordRow.project_id == p.project_scope)
    rows = s.scalars(paginate(stmt, UsageRecordRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [record_out(r) for r in items], nxt


def summary(
    s: Session,
    p: Principal,
    start: datetime,
    end: datetime,
    org_ident: str | None,
    group_by: Sequence[str],
) -> list[api.UsageSummaryRow]:
    """GPU-seconds grouped by org, project, GPU type, tier and/or day, clipped to the window."""
    p.require(Permission.READ)
    check_window(start, end)
    for key in group_by:
        if key not in GROUP_KEYS:
            raise invalid("group_by", f"unknown key {key!r}; use {', '.join(GROUP_KEYS)}")
    rows = records_in(s, start, end, _scope(s, p, org_ident))
    if p.project_scope is not None:
        rows = [r for r in rows if r.project_id == p.project_scope]
    out = []
    for row in summarize([span_of(r) for r in rows], list(group_by), start, end):
        out.append(
            api.UsageSummaryRow(
                org_id=row.org,
                project_id=row.project,
                gpu_type=row.gpu_type,
                tier=row.tier,
                day=row.day,
                gpu_seconds=row.gpu_seconds,
                gpu_hours=row.gpu_hours,
            )
        )
    return out
