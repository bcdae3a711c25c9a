"""Billing events: the log webhooks deliver from, readable without a webhook."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.schemas.common import Page
from neocloud.schemas.events import BillingEvent
from neocloud.server.events import service as svc
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.pagination import Limit

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get("", response_model=Page[BillingEvent])
def list_events(
    ctx: Ctx,
    p: Caller,
    org: str | None = None,
    type: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[BillingEvent]:
    """The org's billing events, oldest first, optionally of one type."""
    with ctx.db.session() as s:
        items, nxt = svc.list_events(s, p, org, type, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/{event_id}", response_model=BillingEvent)
def get_event(event_id: str, ctx: Ctx, p: Caller) -> BillingEvent:
    """One billing event."""
    with ctx.db.session() as s:
        return svc.get_event(s, p, event_id)
