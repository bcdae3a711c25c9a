"""Meters and usage events."""

from __future__ import annotations

from fastapi import APIRouter, Query

from neocloud.schemas import metering as api
from neocloud.schemas.common import Page
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx, ProjectCaller
from neocloud.server.http.pagination import Limit
from neocloud.server.http.params import window
from neocloud.server.metering import meters as meter_svc
from neocloud.server.metering import usage_events as event_svc

router = APIRouter(prefix="/v1", tags=["metering"])


@router.get("/meters", response_model=list[api.Meter])
def list_meters(ctx: Ctx, p: ProjectCaller) -> list[api.Meter]:
    """Every meter: the platform's GPU meter and the declared ones."""
    with ctx.db.session() as s:
        return meter_svc.list_meters(s, p)


@router.get("/meters/{name}", response_model=api.Meter)
def get_meter(name: str, ctx: Ctx, p: ProjectCaller) -> api.Meter:
    """One meter."""
    with ctx.db.session() as s:
        return meter_svc.get_meter(s, p, name)


@router.put("/meters/{name}", response_model=api.Meter)
def set_meter(name: str, body: api.MeterSet, ctx: Ctx, p: Caller) -> api.Meter:
    """Declare a meter (operator); safe to repeat, so configuration can be applied again."""
    with ctx.db.session() as s:
        return meter_svc.set_meter(s, p, name, body, utcnow())


@router.post("/usage/events", response_model=api.UsageEventsAccepted)
def post_events(body: api.UsageEventBatch, ctx: Ctx, p: Caller) -> api.UsageEventsAccepted:
    """Report a batch of usage events (operator); each (org, id) counts once, forever."""
    settings = ctx.settings
    with ctx.db.session() as s:
        return event_svc.ingest(
            s,
            p,
            body,
            settings.usage_max_age_seconds,
            settings.usage_max_future_seconds,
        )


@router.get("/usage/events", response_model=Page[api.UsageEvent])
def list_events(
    ctx: Ctx,
    p: Caller,
    from_: str | None = Query(None, alias="from"),
    to: str | None = None,
    org: str | None = None,
    meter: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.UsageEvent]:
    """An org's usage events in the window (default: this month so far)."""
    lo, hi = window(from_, to, utcnow())
    with ctx.db.session() as s:
        items, nxt = event_svc.list_events(s, p, org, meter, lo, hi, cursor, limit)
    return Page(items=items, next_cursor=nxt)
