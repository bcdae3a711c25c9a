"""Measured usage: the immutable records and summaries grouped by org, GPU type, tier, day."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from neocloud.schemas.billing import UsageRecord, UsageSummaryRow
from neocloud.schemas.common import Page
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, When

GROUP_KEYS = ("org", "gpu_type", "tier", "day", "project")


class Usage(Resource):
    """Usage (`/v1/usage`); `start`/`end` are sent as the `from`/`to` query parameters."""

    def records(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[UsageRecord]:
        """One page of usage records."""
        return self._t.call(
            "GET",
            "/v1/usage/records",
            Page[UsageRecord],
            params={"from": start, "to": end, "org": org, "cursor": cursor, "limit": limit},
        )

    def iter_records(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[UsageRecord]:
        """Every usage record in the range."""
        return follow_pages(
            lambda c: self.records(start=start, end=end, org=org, cursor=c, limit=page_size)
        )

    def summary(
        self,
        *,
        start: When | None = None,
        end: When | None = None,
        org: str | None = None,
        group_by: Sequence[str] | None = None,
    ) -> list[UsageSummaryRow]:
        """GPU-seconds and GPU-hours grouped by any of org, gpu_type, tier, day, project."""
        return self._t.call(
            "GET",
            "/v1/usage/summary",
            list[UsageSummaryRow],
            params={"from": start, "to": end, "org": org, "group_by": group_by},
        )
