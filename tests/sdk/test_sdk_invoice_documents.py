"""SDK: paying, voiding and crediting invoices, their documents, and period exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from neocloud.schemas.invoice_documents import CreditNote, CreditNoteLineIn, InvoiceStatusChange
from neocloud.sdk.errors import NeocloudError
from tests.sdk import invoice_samples as samples
from tests.sdk.api_double import Api


def test_pay_sends_paid_at_when_given(api: Api) -> None:
    api.on("POST", "/v1/invoices/inv_1/pay", samples.status_change("pay"))

    change = api.client().invoices.pay("inv_1", paid_at=datetime(2026, 12, 3, 9, tzinfo=UTC))

    assert isinstance(change, InvoiceStatusChange)
    assert change.invoice.status == "paid" and change.by.role == "operator"
    assert api.last_json() == {"paid_at": "2026-12-03T09:00:00Z"}
    api.client().invoices.pay("inv_1", idempotency_key="k1")
    assert api.last_json() == {}
    assert api.requests[-1].headers["Idempotency-Key"] == "k1"


def test_void_sends_the_reason(api: Api) -> None:
    api.on("POST", "/v1/invoices/inv_1/void", samples.status_change("void"))

    change = api.client().invoices.void("inv_1", "duplicate")

    assert api.last_json() == {"reason": "duplicate"}
    assert change.credits_returned == Decimal("1.50")
    assert change.ledger_transaction_id == "reversal:inv_1:1"


def test_void_without_a_reason_is_refused_before_sending(api: Api) -> None:
    with pytest.raises(NeocloudError) as err:
        api.client().invoices.void("inv_1", "")
    assert err.value.details["field"] == "reason"
    assert api.requests == []


def test_a_credit_note_from_dicts_or_models_keeps_exact_amounts(api: Api) -> None:
    api.on("POST", "/v1/invoices/inv_1/credit-notes", samples.credit_note(), 201)

    note = api.client().invoices.credit_note(
        "inv_1",
        "outage",
        [
            {"line": 1, "amount": Decimal("1.10"), "reason": "GPU down"},
            CreditNoteLineIn(line=2, amount=Decimal("0.05")),
        ],
    )

    assert isinstance(note, CreditNote) and note.amount_due_reduced == Decimal("1.10")
    assert api.last_json() == {
        "reason": "outage",
        "lines": [
            {"line": 1, "amount": "1.10", "reason": "GPU down"},
            {"line": 2, "amount": "0.05", "reason": ""},
        ],
    }


def test_a_bad_credit_line_names_its_field_before_sending(api: Api) -> None:
    with pytest.raises(NeocloudError) as err:
        api.client().invoices.credit_note("inv_1", "x", [{"line": 1, "amount": "1.001"}])
    assert err.value.details["field"] == "lines.0.amount"
    assert api.requests == []


def test_credit_notes_are_listed_and_fetched(api: Api) -> None:
    api.on("GET", "/v1/invoices/inv_1/credit-notes", [samples.credit_note()])
    api.on("GET", "/v1/credit-notes/cn_1", samples.credit_note())
    client = api.client()

    (listed,) = client.invoices.credit_notes("inv_1")
    fetched = client.invoices.get_credit_note("cn_1")

    assert listed == fetched and fetched.number == "CN-2026-000001"


@pytest.mark.parametrize(("fmt", "accept"), [("csv", "text/csv"), ("html", "text/html")])
def test_a_document_comes_back_as_sent(api: Api, fmt: str, accept: str) -> None:
    api.handle(
        "GET",
        "/v1/invoices/inv_1/document",
        lambda _: httpx.Response(200, text=samples.DOCUMENT_CSV, headers={"content-type": accept}),
    )

    text = api.client().invoices.document("inv_1", fmt)  # type: ignore[arg-type]

    assert text == samples.DOCUMENT_CSV
    assert dict(api.requests[-1].url.params) == {"format": fmt}
    assert api.requests[-1].headers["accept"] == accept


def test_a_json_document_is_its_exact_text(api: Api) -> None:
    api.on("GET", "/v1/invoices/inv_1/document", {"total": "2.20"})
    text = api.client().invoices.document("inv_1")
    assert json.loads(text) == {"total": "2.20"}
    assert dict(api.requests[-1].url.params) == {"format": "json"}


def test_focus_export_is_bytes_and_sends_its_filters(api: Api) -> None:
    api.handle(
        "GET",
        "/v1/exports/focus",
        lambda _: httpx.Response(200, content=samples.FOCUS_CSV.encode()),
    )

    data = api.client().exports.focus("2026-11", org="acme", format="parquet")

    assert data == samples.FOCUS_CSV.encode()
    assert dict(api.requests[-1].url.params) == {
        "period": "2026-11",
        "org": "acme",
        "format": "parquet",
    }


def test_usage_export_is_text(api: Api) -> None:
    api.handle(
        "GET", "/v1/exports/usage.csv", lambda _: httpx.Response(200, text="invoice_number\n")
    )
    assert api.client().exports.usage("2026-11") == "invoice_number\n"
    assert dict(api.requests[-1].url.params) == {"period": "2026-11"}


def test_an_export_refused_by_the_server_raises_its_error(api: Api) -> None:
    error = {"code": "invalid_request", "message": "format: needs pyarrow", "details": {}}
    api.on("GET", "/v1/exports/focus", {"error": error}, 422)
    with pytest.raises(NeocloudError) as err:
        api.client().exports.focus("2026-11", format="parquet")
    assert err.value.status == 422 and "pyarrow" in err.value.message
