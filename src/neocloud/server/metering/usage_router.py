"""Usage and spend routes: immutable usage records, summaries and spend so far this period."""

from __future__ import annotations

from fastapi import APIRouter, Query

from neocloud.schemas import billing as api
from neocloud.schemas.common import Page
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Ctx, ProjectCaller
from neocloud.server.http.org_failures import ORG_FAILED_RESPONSE
from neocloud.server.http.pagination import Limit
from neocloud.server.http.params import window
from neocloud.server.metering import spend as spend_svc
from neocloud.server.metering import usage as usage_svc

router = APIRouter(prefix="/v1", tags=["billing"])


@router.get("/usage/records", response_model=Page[api.UsageRecord])
def usage_records(
    ctx: Ctx,
    p: ProjectCaller,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    org: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.UsageRecord]:
    """Immutable usage records overlapping the window."""
    lo, hi = window(from_, to, utcnow())
    with ctx.db.session() as s:
        items, nxt = usage_svc.list_records(s, p, lo, hi, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/usage/summary", response_model=list[api.UsageSummaryRow])
def usage_summary(
    ctx: Ctx,
    p: ProjectCaller,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    org: str | None = None,
    group_by: str = "org,gpu_type,tier",
) -> list[api.UsageSummaryRow]:
    """GPU-seconds grouped by org, project, GPU type, tier and/or day."""
    lo, hi = window(from_, to, utcnow())
    keys = [k.strip() for k in group_by.split(",") if k.strip()]
    with ctx.db.session() as s:
        return usage_svc.summary(s, p, lo, hi, org, keys)


@router.get("/spend", response_model=api.Spend, responses=ORG_FAILED_RESPONSE)
def spend(
    ctx: Ctx, p: ProjectCaller, org: str | None = None, project: str | None = None
) -> api.Spend:
    """Spend so far this period (running work counted up to now), before tax and credits."""
    with ctx.db.session() as s:
        return spend_svc.spend_now(s, p, org, project, utcnow())
