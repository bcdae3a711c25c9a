"""The audit log: who changed what, from where, and how each changing call ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from neocloud.schemas.audit import AuditEntry, AuditOutcome
from neocloud.schemas.common import Page
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import QueryValue, Resource, iso

When = date | datetime | str


def _filters(
    org: str | None,
    key: str | None,
    action: str | None,
    target: str | None,
    start: When | None,
    end: When | None,
    outcome: AuditOutcome | str | None,
) -> dict[str, QueryValue]:
    return {
        "org": org,
        "key": key,
        "action": action,
        "target": target,
        "from": iso(start) if start is not None else None,
        "to": iso(end) if end is not None else None,
        "outcome": outcome,
    }


class Audit(Resource):
    """Audit entries (`/v1/audit`): the operator reads all, an org's owner or admin its own."""

    def list(
        self,
        *,
        org: str | None = None,
        key: str | None = None,
        action: str | None = None,
        target: str | None = None,
        start: When | None = None,
        end: When | None = None,
        outcome: AuditOutcome | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[AuditEntry]:
        """One page of entries, oldest first.

        `action` is `"POST /v1/keys"` (one route) or a method; `target` is `"table:id"` or a
        table; [start, end) bounds the time.
        """
        params = _filters(org, key, action, target, start, end, outcome)
        return self._t.call(
            "GET",
            "/v1/audit",
            Page[AuditEntry],
            params={**params, "cursor": cursor, "limit": limit},
        )

    def iter(
        self,
        *,
        org: str | None = None,
        key: str | None = None,
        action: str | None = None,
        target: str | None = None,
        start: When | None = None,
        end: When | None = None,
        outcome: AuditOutcome | str | None = None,
        page_size: int | None = None,
    ) -> Iterator[AuditEntry]:
        """Every selected entry, oldest first, a page at a time."""
        return follow_pages(
            lambda c: self.list(
                org=org,
                key=key,
                action=action,
                target=target,
                start=start,
                end=end,
                outcome=outcome,
                cursor=c,
                limit=page_size,
            )
        )

    def export(
        self,
        *,
        org: str | None = None,
        key: str | None = None,
        action: str | None = None,
        target: str | None = None,
        start: When | None = None,
        end: When | None = None,
        outcome: AuditOutcome | str | None = None,
    ) -> str:
        """The selected entries as JSON Lines, as the server streams them (`/v1/audit/export`)."""
        response = self._t.send(
            "GET",
            "/v1/audit/export",
            params=_filters(org, key, action, target, start, end, outcome),
            accept="application/x-ndjson",
        )
        return response.text
