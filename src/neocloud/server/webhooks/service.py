"""Webhook endpoints: where an org's billing events go, signed with a secret shown once."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import Permission, allows
from neocloud.domain.webhooks import SECRET_PREFIX
from neocloud.schemas import webhooks as api
from neocloud.schemas.events import WEBHOOK_TEST
from neocloud.server.events.service import iso, queue_delivery, webhook_body
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import conflict, forbidden, invalid, not_found
from neocloud.server.http.outbound import OutboundGuard, OutboundRefused
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.http.secret_box import SecretBox
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.ids import new_id
from neocloud.store.models import WebhookDeliveryRow, WebhookEndpointRow


def require_manager(p: Principal) -> None:
    """Webhooks are org configuration that exports billing data: owners, admins, billing, operator.

    Admins manage the org (MANAGE_ORG), the billing role manages billing (MANAGE_BILLING); both
    may already read billing, so a webhook shows them nothing new. Members and viewers may not.
    """
    if not (allows(p.role, Permission.MANAGE_ORG) or allows(p.role, Permission.MANAGE_BILLING)):
        raise forbidden(f"role {p.role} may not manage webhooks")


def webhook_out(row: WebhookEndpointRow) -> api.Webhook:
    """Wire form of an endpoint, without its secret."""
    return api.Webhook(
        id=row.id,
        org_id=row.org_id,
        url=row.url,
        event_types=list(row.event_types),
        enabled=row.disabled_at is None,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def delivery_out(row: WebhookDeliveryRow) -> api.WebhookDelivery:
    """Wire form of a delivery."""
    pending = row.status == api.DeliveryStatus.PENDING.value
    return api.WebhookDelivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=api.DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if pending else None,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def check_url(guard: OutboundGuard, url: str) -> None:
    """422 on `url` unless it may be called: public addresses only, or the operator's allow-list.

    A name that does not resolve yet is accepted: every send checks the URL again.
    """
    try:
        guard.check(url, unresolved_ok=True)
    except OutboundRefused as exc:
        raise invalid("url", exc.reason) from None


def create(
    s: Session,
    p: Principal,
    body: api.WebhookCreate,
    now: datetime,
    guard: OutboundGuard,
    box: SecretBox,
) -> api.WebhookCreated:
    """Register an endpoint; the response carries its signing secret, which is never shown again."""
    require_manager(p)
    check_url(guard, body.url)
    org_id = resolve_org(s, p, body.org).id if body.org else p.org_id
    endpoint_id = new_id("whe")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = WebhookEndpointRow(
        id=endpoint_id,
        org_id=org_id,
        url=body.url,
        secret=box.seal(secret, endpoint_id),
        event_types=[t.value for t in body.event_types],
        created_at=now,
        disabled_at=None,
    )
    s.add(row)
    s.flush()
    return api.WebhookCreated(**webhook_out(row).model_dump(), secret=secret)


def _visible(s: Session, p: Principal, endpoint_id: str) -> WebhookEndpointRow:
    row = s.get(WebhookEndpointRow, endpoint_id)
    if row is None or not p.can_see_org(row.org_id):
        raise not_found("webhook", endpoint_id)
    return row


def list_webhooks(
    s: Session, p: Principal, org_ident: str | None, cursor: str | None, limit: int
) -> tuple[list[api.Webhook], str | None]:
    """Endpoints the caller may see, deleted (disabled) ones included."""
    require_manager(p)
    stmt = select(WebhookEndpointRow)
    if org_ident:
        stmt = stmt.where(WebhookEndpointRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(WebhookEndpointRow.org_id == p.org_id)
    rows = s.scalars(paginate(stmt, WebhookEndpointRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [webhook_out(r) for r in items], nxt


def disable(s: Session, p: Principal, endpoint_id: str, now: datetime) -> api.Webhook:
    """Delete an endpoint: it is disabled (kept for its history) and its pending deliveries stop."""
    require_manager(p)
    row = _visible(s, p, endpoint_id)
    if row.disabled_at is None:
        row.disabled_at = now
        s.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.endpoint_id == row.id,
                WebhookDeliveryRow.status == api.DeliveryStatus.PENDING.value,
            )
            .values(status=api.DeliveryStatus.CANCELLED.value, last_error="endpoint deleted")
        )
    s.flush()
    return webhook_out(row)


def list_deliveries(
    s: Session,
    p: Principal,
    endpoint_id: str,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[api.WebhookDelivery], str | None]:
    """An endpoint's deliveries, oldest first, optionally in one status."""
    require_manager(p)
    row = _visible(s, p, endpoint_id)
    stmt = select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == row.id)
    if status:
        try:
            wanted = api.DeliveryStatus(status)
        except ValueError:
            known = ", ".join(d.value for d in api.DeliveryStatus)
            raise invalid("status", f"unknown status {status!r}; known: {known}") from None
        stmt = stmt.where(WebhookDeliveryRow.status == wanted.value)
    rows = s.scalars(paginate(stmt, WebhookDeliveryRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [delivery_out(r) for r in items], nxt


def send_test(s: Session, p: Principal, endpoint_id: str, now: datetime) -> api.WebhookDelivery:
    """Queue a `webhook.test` ping to one endpoint, signed and retried like any delivery."""
    require_manager(p)
    row = _visible(s, p, endpoint_id)
    if row.disabled_at is not None:
        raise conflict(f"webhook {row.id} is deleted", {"disabled_at": iso(row.disabled_at)})
    event_id = new_id("evt")
    body = webhook_body(event_id, WEBHOOK_TEST, row.org_id, {"webhook_id": row.id}, now)
    delivery = queue_delivery(s, row.id, event_id, WEBHOOK_TEST, body, now)
    s.flush()
    return delivery_out(delivery)
