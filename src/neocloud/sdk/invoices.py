"""Invoices (external orgs, at price) and statements (internal orgs, at cost)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from neocloud.schemas.billing import Invoice, InvoiceGenerate
from neocloud.schemas.common import Page
from neocloud.schemas.invoice_documents import (
    CreditNote,
    CreditNoteCreate,
    CreditNoteLineIn,
    InvoicePay,
    InvoiceStatusChange,
    InvoiceVoid,
)
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment

DocumentFormat = Literal["json", "csv", "html"]
_ACCEPT = {"json": "application/json", "csv": "text/csv", "html": "text/html"}


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

    def pay(
        self,
        invoice_id: str,
        *,
        paid_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> InvoiceStatusChange:
        """Mark a finalized invoice paid, at paid_at or now (operator)."""
        return self._t.call(
            "POST",
            f"/v1/invoices/{segment(invoice_id)}/pay",
            InvoiceStatusChange,
            body=build(InvoicePay, paid_at=paid_at),
            idempotency_key=idempotency_key,
        )

    def void(
        self, invoice_id: str, reason: str, *, idempotency_key: str | None = None
    ) -> InvoiceStatusChange:
        """Void a finalized invoice (operator): its number stays used, applied credit goes back."""
        return self._t.call(
            "POST",
            f"/v1/invoices/{segment(invoice_id)}/void",
            InvoiceStatusChange,
            body=build(InvoiceVoid, reason=reason),
            idempotency_key=idempotency_key,
        )

    def credit_note(
        self,
        invoice_id: str,
        reason: str,
        lines: Sequence[CreditNoteLineIn | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> CreditNote:
        """Credit lines of a finalized or paid invoice (operator).

        Each line is {"line": position as printed (from 1), "amount": Decimal, "reason": …}.
        """
        items = [ln.model_dump() if isinstance(ln, CreditNoteLineIn) else dict(ln) for ln in lines]
        return self._t.call(
            "POST",
            f"/v1/invoices/{segment(invoice_id)}/credit-notes",
            CreditNote,
            body=build(CreditNoteCreate, reason=reason, lines=items),
            idempotency_key=idempotency_key,
        )

    def credit_notes(self, invoice_id: str) -> builtins.list[CreditNote]:
        """An invoice's credit notes, in number order."""
        return self._t.call(
            "GET", f"/v1/invoices/{segment(invoice_id)}/credit-notes", builtins.list[CreditNote]
        )

    def get_credit_note(self, note_id: str) -> CreditNote:
        """One credit note."""
        return self._t.call("GET", f"/v1/credit-notes/{segment(note_id)}", CreditNote)

    def document(self, invoice_id: str, format: DocumentFormat = "json") -> str:
        """The invoice as issued: exact JSON, CSV (one row per line) or a printable HTML page."""
        response = self._t.send(
            "GET",
            f"/v1/invoices/{segment(invoice_id)}/document",
            params={"format": format},
            accept=_ACCEPT.get(format, "*/*"),
        )
        return response.text
