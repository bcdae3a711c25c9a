"""Billing events and the webhook outbox: an event and its deliveries commit together or not at all.

`emit` runs inside the caller's transaction (the one that finalizes the invoice, records the
alert, exhausts the credit). If that transaction rolls back, the event and its deliveries vanish
with it; if it commits, the delivery loop will find the deliveries. No event is lost, and none is
announced for a change that did not happen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.money import to_cents
from neocloud.domain.tenancy import Permission
from neocloud.schemas.events import BillingEvent, BillingEventType
from neocloud.schemas.webhooks import DeliveryStatus
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import invalid, not_found
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.ids import new_id
from neocloud.store.models import (
    BillingEventRow,
    InvoiceRow,
    WebhookDeliveryRow,
    WebhookEndpointRow,
)


def iso(at: datetime) -> str:
    """ISO 8601 UTC with a `Z`, as the API writes times."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """JSON-ready data: Decimals as strings (never floats), datetimes as ISO UTC."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"billing event data cannot hold a {type(value).__name__}")


def webhook_body(event_id: str, type_: str, org_id: str, data: Any, created_at: datetime) -> str:
    """The exact JSON text a webhook sends (and signs) for an event."""
    envelope = {
        "id": event_id,
        "type": type_,
        "org_id": org_id,
        "created_at": iso(created_at),
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)


def queue_delivery(
    s: Session, endpoint_id: str, event_id: str, type_: str, body: str, now: datetime
) -> WebhookDeliveryRow:
    """One pending delivery of a body to an endpoint, due now."""
    row = WebhookDeliveryRow(
        id=new_id("whd"),
        endpoint_id=endpoint_id,
        event_id=event_id,
        event_type=type_,
        payload=body,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        last_error=None,
        created_at=now,
        delivered_at=None,
    )
    s.add(row)
    return row


def subscribers(s: Session, org_id: str, type_: str) -> list[WebhookEndpointRow]:
    """Enabled endpoints of an org subscribed to an event type."""
    rows = s.scalars(
        select(WebhookEndpointRow)
        .where(WebhookEndpointRow.org_id == org_id, WebhookEndpointRow.disabled_at.is_(None))
        .order_by(WebhookEndpointRow.id)
    ).all()
    # event_types is a JSON list; filtering it in SQL differs per backend, and an org has few.
    return [r for r in rows if type_ in r.event_types]


def emit(
    s: Session,
    org_id: str,
    type: BillingEventType | str,
    data: Mapping[str, Any],
    now: datetime,
) -> BillingEventRow:
    """Record an event and queue a delivery per subscribed endpoint, in the caller's transaction."""
    kind = BillingEventType(type)
    plain = _plain(data)
    event = BillingEventRow(
        id=new_id("evt"), org_id=org_id, type=kind.value, data=plain, created_at=now
    )
    s.add(event)
    body = webhook_body(event.id, kind.value, org_id, plain, now)
    for endpoint in subscribers(s, org_id, kind.value):
        queue_delivery(s, endpoint.id, event.id, kind.value, body, now)
    s.flush()
    return event


def invoice_finalized_data(row: InvoiceRow) -> dict[str, Any]:
    """Payload of `invoice.finalized`."""
    return {
        "invoice_id": row.id,
        "number": row.number,
        "kind": row.kind,
        "org_id": row.org_id,
        "period": row.period,
        "total": to_cents(row.total),
        "amount_due": to_cents(row.amount_due),
        "currency": row.currency,
    }


def credit_exhausted_data(grant_ids: Iterable[str], org_id: str, at: datetime) -> dict[str, Any]:
    """Payload of `credit.exhausted`: the grants now used up, the org, and when."""
    return {"grant_ids": list(grant_ids), "org_id": org_id, "at": at}


def event_out(row: BillingEventRow) -> BillingEvent:
    """Wire form of a billing event."""
    return BillingEvent(
        id=row.id, org_id=row.org_id, type=row.type, data=row.data, created_at=row.created_at
    )


def list_events(
    s: Session,
    p: Principal,
    org_ident: str | None,
    type_: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[BillingEvent], str | None]:
    """Billing events the caller may see, oldest first, optionally of one type."""
    p.require(Permission.READ_BILLING)
    stmt = select(BillingEventRow)
    if org_ident:
        stmt = stmt.where(BillingEventRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(BillingEventRow.org_id == p.org_id)
    if type_:
        try:
            kind = BillingEventType(type_)
        except ValueError:
            known = ", ".join(t.value for t in BillingEventType)
            raise invalid("type", f"unknown event type {type_!r}; known: {known}") from None
        stmt = stmt.where(BillingEventRow.type == kind.value)
    rows = s.scalars(paginate(stmt, BillingEventRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [event_out(r) for r in items], nxt


def get_event(s: Session, p: Principal, event_id: str) -> BillingEvent:
    """One billing event of the caller's org (404 for another org's)."""
    p.require(Permission.READ_BILLING)
    row = s.get(BillingEventRow, event_id)
    if row is None or not p.can_see_org(row.org_id):
        raise not_found("event", event_id)
    return event_out(row)
