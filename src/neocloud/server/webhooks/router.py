"""Webhook endpoints and their deliveries."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.schemas import webhooks as api
from neocloud.schemas.common import Page
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.idempotency import Create
from neocloud.server.http.pagination import Limit
from neocloud.server.webhooks import service as svc

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=201, response_model=api.WebhookCreated)
def create_webhook(
    body: api.WebhookCreate,
    op: Create,
) -> object:
    """Register an endpoint; its signing secret is in this response only."""
    return op.run(
        body,
        lambda s: svc.create(s, op.caller, body, op.now, op.ctx.outbound(), op.ctx.secrets),
        replay_body=False,
        permission=svc.require_manager,
    )


@router.get("", response_model=Page[api.Webhook])
def list_webhooks(
    ctx: Ctx,
    p: Caller,
    org: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.Webhook]:
    """Endpoints the caller may see."""
    with ctx.db.session() as s:
        items, nxt = svc.list_webhooks(s, p, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.delete("/{webhook_id}", response_model=api.Webhook)
def delete_webhook(webhook_id: str, ctx: Ctx, p: Caller) -> api.Webhook:
    """Disable an endpoint; its pending deliveries are cancelled."""
    with ctx.db.session() as s:
        return svc.disable(s, p, webhook_id, utcnow())


@router.get("/{webhook_id}/deliveries", response_model=Page[api.WebhookDelivery])
def list_deliveries(
    webhook_id: str,
    ctx: Ctx,
    p: Caller,
    status: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.WebhookDelivery]:
    """An endpoint's deliveries: status, attempts, last error."""
    with ctx.db.session() as s:
        items, nxt = svc.list_deliveries(s, p, webhook_id, status, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.post("/{webhook_id}/test", status_code=202, response_model=api.WebhookDelivery)
def test_webhook(webhook_id: str, ctx: Ctx, p: Caller) -> api.WebhookDelivery:
    """Queue a signed `webhook.test` ping to the endpoint."""
    with ctx.db.session() as s:
        return svc.send_test(s, p, webhook_id, utcnow())
