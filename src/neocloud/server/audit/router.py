"""`GET /v1/audit`: pages of the audit log; `GET /v1/audit/export`: all of it as JSON Lines."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from neocloud.schemas.audit import AuditEntry
from neocloud.schemas.common import Page
from neocloud.server.audit import service as svc
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.params import parse_instant

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _filter(
    org: str | None,
    key: str | None,
    action: str | None,
    target: str | None,
    start: str | None,
    end: str | None,
    outcome: str | None,
) -> svc.AuditFilter:
    return svc.AuditFilter(
        org=org,
        key=key,
        action=action,
        target=target,
        since=parse_instant("from", start) if start else None,
        until=parse_instant("to", end) if end else None,
        outcome=outcome,
    )


@router.get("", response_model=Page[AuditEntry])
def list_audit(
    ctx: Ctx,
    p: Caller,
    org: str | None = None,
    key: str | None = None,
    action: str | None = None,
    target: str | None = None,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    outcome: str | None = None,
    cursor: str | None = None,
    limit: int = Query(100),
) -> Page[AuditEntry]:
    """Audit entries, oldest first: everything for the operator, its own org for an owner/admin.

    Filters: org, key (id), action (`POST /v1/keys`, or a method), target (`table:id`, or a
    table), [from, to), outcome (success, refused, failed).
    """
    f = _filter(org, key, action, target, from_, to, outcome)
    with ctx.db.session() as s:
        items, nxt = svc.list_entries(s, p, f, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_audit(
    ctx: Ctx,
    p: Caller,
    org: str | None = None,
    key: str | None = None,
    action: str | None = None,
    target: str | None = None,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    outcome: str | None = None,
) -> StreamingResponse:
    """The selected entries as JSON Lines (one entry per line, oldest first), streamed."""
    f = _filter(org, key, action, target, from_, to, outcome)
    svc.check(ctx.db, p, f)
    return StreamingResponse(svc.export_lines(ctx.db, p, f), media_type="application/x-ndjson")
