"""Getting an invoice to a status through the API, for tests of what happens after finalization."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from neocloud.server.billing.credits import apply_to_invoice, transactions_of
from neocloud.server.http.clock import utcnow
from neocloud.store.models import InvoiceRow
from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

PERIOD = "2026-11"
NOV = datetime(2026, 11, 1, tzinfo=UTC)


def draft(api: Api, org: str = "acme", period_start: datetime = NOV) -> dict[str, Any]:
    """A draft with two lines: 10 h100 on demand for an hour ($29.90), 2 spot for an hour."""
    period = f"{period_start:%Y-%m}"
    record_usage(api, org, "on_demand", "h100", 10, period_start + timedelta(days=2), 3600)
    record_usage(api, org, "spot", "h100", 2, period_start + timedelta(days=3), 3600)
    r = api.http.post("/v1/invoices/generate", json={"period": period, "org": org})
    assert r.status_code == 200, r.text
    (invoice,) = r.json()
    return dict(invoice)


def finalize(api: Api, invoice_id: str) -> dict[str, Any]:
    """Finalize a draft; the invoice as returned."""
    r = api.http.post(f"/v1/invoices/{invoice_id}/finalize")
    assert r.status_code == 200, r.text
    return dict(r.json())


def finalized(api: Api, org: str = "acme", period_start: datetime = NOV) -> dict[str, Any]:
    """A finalized invoice of the org (the org must exist)."""
    return finalize(api, draft(api, org, period_start)["id"])


def in_status(api: Api, status: str, org: str = "acme") -> dict[str, Any]:
    """An invoice brought to draft, finalized, paid or void through the API."""
    if status == "draft":
        return draft(api, org)
    invoice = finalized(api, org)
    if status == "paid":
        r = api.http.post(f"/v1/invoices/{invoice['id']}/pay")
        assert r.status_code == 200, r.text
    elif status == "void":
        r = api.http.post(f"/v1/invoices/{invoice['id']}/void", json={"reason": "test"})
        assert r.status_code == 200, r.text
    return dict(api.http.get(f"/v1/invoices/{invoice['id']}").json())


def apply_credit(api: Api, invoice_id: str) -> dict[str, Any]:
    """Make sure the org's credit has been applied to a finalized invoice, as finalizing does.

    Finalizing applies credit once it is wired to the ledger; until then this does it, and it
    never applies twice.
    """
    with api.ctx.db.session() as s:
        row = s.get(InvoiceRow, invoice_id)
        assert row is not None
        recorded = any(
            tx.ref == invoice_id and tx.kind.value == "invoice"
            for tx in transactions_of(s, row.org_id)
        )
        if not recorded:
            apply_to_invoice(s, row, utcnow())
    return dict(api.http.get(f"/v1/invoices/{invoice_id}").json())


def grant(api: Api, org: str, amount: str, kind: str = "prepaid", **extra: Any) -> dict[str, Any]:
    """Give an org credit."""
    r = api.http.post(
        "/v1/credits/grants", json={"org": org, "kind": kind, "amount": amount, **extra}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
