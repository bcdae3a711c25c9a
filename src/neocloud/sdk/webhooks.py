"""Webhook endpoints, their deliveries, and checking a delivery's signature on the receiving end."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence

from neocloud.domain.webhooks import DEFAULT_TOLERANCE_SECONDS, verify_headers
from neocloud.schemas.common import Page
from neocloud.schemas.events import BillingEventType
from neocloud.schemas.webhooks import (
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
)
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True if a received webhook's body is signed with `secret` and its timestamp is fresh.

    Pass the raw body bytes as received, before any JSON parsing.
    """
    return verify_headers(secret, headers, body, time.time(), tolerance_seconds)


class Webhooks(Resource):
    """Webhook endpoints (`/v1/webhooks`)."""

    def create(
        self,
        url: str,
        event_types: Sequence[BillingEventType | str],
        *,
        org: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookCreated:
        """Register an endpoint; the returned `secret` is the only time it can be seen."""
        body = build(WebhookCreate, url=url, event_types=list(event_types), org=org)
        return self._t.call(
            "POST", "/v1/webhooks", WebhookCreated, body=body, idempotency_key=idempotency_key
        )

    def list(
        self, *, org: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[Webhook]:
        """One page of endpoints (of one org, if given)."""
        return self._t.call(
            "GET",
            "/v1/webhooks",
            Page[Webhook],
            params={"org": org, "cursor": cursor, "limit": limit},
        )

    def iter(self, *, org: str | None = None, page_size: int | None = None) -> Iterator[Webhook]:
        """Every endpoint the caller can see."""
        return follow_pages(lambda c: self.list(org=org, cursor=c, limit=page_size))

    def delete(self, webhook_id: str) -> Webhook:
        """Disable an endpoint; its pending deliveries are cancelled."""
        return self._t.call("DELETE", f"/v1/webhooks/{segment(webhook_id)}", Webhook)

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[WebhookDelivery]:
        """One page of an endpoint's deliveries, oldest first."""
        return self._t.call(
            "GET",
            f"/v1/webhooks/{segment(webhook_id)}/deliveries",
            Page[WebhookDelivery],
            params={"status": status, "cursor": cursor, "limit": limit},
        )

    def iter_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[WebhookDelivery]:
        """Every delivery of an endpoint."""
        return follow_pages(
            lambda c: self.deliveries(webhook_id, status=status, cursor=c, limit=page_size)
        )

    def test(self, webhook_id: str) -> WebhookDelivery:
        """Queue a signed `webhook.test` ping to the endpoint."""
        return self._t.call("POST", f"/v1/webhooks/{segment(webhook_id)}/test", WebhookDelivery)
