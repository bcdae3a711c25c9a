"""Billing events: the log webhooks deliver from, for clients without a webhook."""

from __future__ import annotations

from collections.abc import Iterator

from neocloud.schemas.common import Page
from neocloud.schemas.events import BillingEvent, BillingEventType
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, segment


class Events(Resource):
    """Billing events (`/v1/events`)."""

    def list(
        self,
        *,
        type: BillingEventType | str | None = None,
        org: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[BillingEvent]:
        """One page of events, oldest first, optionally of one type."""
        return self._t.call(
            "GET",
            "/v1/events",
            Page[BillingEvent],
            params={"type": type, "org": org, "cursor": cursor, "limit": limit},
        )

    def iter(
        self,
        *,
        type: BillingEventType | str | None = None,
        org: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[BillingEvent]:
        """Every event the caller can see, oldest first."""
        return follow_pages(lambda c: self.list(type=type, org=org, cursor=c, limit=page_size))

    def get(self, event_id: str) -> BillingEvent:
        """One event."""
        return self._t.call("GET", f"/v1/events/{segment(event_id)}", BillingEvent)
