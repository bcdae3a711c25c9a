"""Invoices (external orgs, at price) and statements (internal orgs, at cost)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from neocloud.schemas.billing import Invoice, InvoiceGenerate
from neocloud.schemas.common import Page
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment


class Invoices(Resource):
    """Invoices (`/v1/invoices`)."""

    def generate(
        self, period: str, *, org: str | None = None, idempotency_key: str | None = None
    ) -> builtins.list[Invoice]:
        """Generate (or regenerate) drafts for a month `YYYY-MM`, for one org or all (operator)."""
        body = build(InvoiceGenerate, period=period, org=org)
        return self._t.call(
            "POST",
            "/v1/invoices/generate",
            builtins.list[Invoice],
            body=body,
            idempotency_key=idempotency_key,
        )

    def list(
        self,
        *,
        org: str | None = None,
        period: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[Invoice]:
        """One page of invoices, optionally of one org or period."""
        return self._t.call(
            "GET",
            "/v1/invoices",
            Page[Invoice],
            params={"org": org, "period": period, "cursor": cursor, "limit": limit},
        )

    def iter(
        self, *, org: str | None = None, period: str | None = None, page_size: int | None = None
    ) -> Iterator[Invoice]:
        """Every invoice, optionally of one org or period."""
        return follow_pages(lambda c: self.list(org=org, period=period, cursor=c, limit=page_size))

    def get(self, invoice_id: str) -> Invoice:
        """One invoice with its lines."""
        return self._t.call("GET", f"/v1/invoices/{segment(invoice_id)}", Invoice)

    def finalize(self, invoice_id: str) -> Invoice:
        """Finalize a draft: it gets a number and never changes again (operator)."""
        return self._t.call("POST", f"/v1/invoices/{segment(invoice_id)}/finalize", Invoice)
