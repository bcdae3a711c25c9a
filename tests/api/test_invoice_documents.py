"""An invoice as a document: exact JSON, CSV that adds up, printable HTML with text escaped."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from neocloud.billing.render import CSV_COLUMNS
from tests.api.conftest import Api
from tests.api.invoice_flow import draft, finalized, grant

D = Decimal


def _document(api: Api, invoice_id: str, fmt: str) -> object:
    return api.http.get(f"/v1/invoices/{invoice_id}/document", params={"format": fmt})


def test_json_is_the_invoice_with_exact_amounts(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)

    r = api.http.get(f"/v1/invoices/{invoice['id']}/document")  # json by default

    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    doc = r.json()
    assert (doc["number"], doc["status"], doc["org"]) == (
        invoice["number"],
        "finalized",
        invoice["org_id"],
    )
    assert doc["customer"] == "acme" and doc["issuer"] == "neocloud"
    assert doc["total"] == invoice["total"] and isinstance(doc["total"], str)
    assert [ln["amount"] for ln in doc["lines"]] == [ln["amount"] for ln in invoice["lines"]]
    assert [ln["position"] for ln in doc["lines"]] == list(range(1, len(invoice["lines"]) + 1))
    assert D(doc["amount_due"]) == D(doc["total"]) - D(doc["credits_applied"])


def test_csv_is_a_download_whose_amounts_sum_to_the_total(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)

    r = _document(api, invoice["id"], "csv")

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="{invoice["number"]}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(invoice["lines"])
    assert sum(D(row["amount"]) for row in rows) == D(invoice["total"])
    assert {row["currency"] for row in rows} == {invoice["currency"]}


def test_a_draft_is_named_by_its_id(api: Api) -> None:
    api.new_org("acme")
    invoice = draft(api)
    r = _document(api, invoice["id"], "csv")
    assert r.status_code == 200
    assert f'filename="{invoice["id"]}.csv"' in r.headers["content-disposition"]
    assert "Draft invoice" in _document(api, invoice["id"], "html").text


def test_html_is_a_standalone_page_with_every_text_escaped(api: Api) -> None:
    hostile = '<script>alert("x")</script> & Sons'
    r = api.http.post(
        "/v1/orgs", json={"name": "acme", "kind": "external", "display_name": hostile}
    )
    assert r.status_code == 201, r.text
    invoice = finalized(api)

    r = _document(api, invoice["id"], "html")

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons" in page
    assert f"Invoice {invoice['number']}" in page
    assert invoice["total"] in page
    assert "http://" not in page and "https://" not in page  # no external assets


def test_the_document_shows_the_invoice_as_issued_after_a_credit_note(api: Api) -> None:
    api.new_org("acme")
    grant(api, "acme", "3.00")
    invoice = finalized(api)
    note = api.http.post(
        f"/v1/invoices/{invoice['id']}/credit-notes",
        json={"reason": "outage", "lines": [{"line": 1, "amount": "5.00"}]},
    )
    assert note.status_code == 201, note.text

    doc = _document(api, invoice["id"], "json").json()

    # The note lowered what is still due; the invoice itself is never rewritten.
    assert doc["total"] == invoice["total"]
    assert D(doc["credits_applied"]) == D("3.00")
    assert D(doc["amount_due"]) == D(invoice["total"]) - D("3.00")
    now_due = api.http.get(f"/v1/invoices/{invoice['id']}").json()["amount_due"]
    assert D(now_due) == D(doc["amount_due"]) - D("5.00")


def test_a_void_invoice_prints_as_void(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    api.http.post(f"/v1/invoices/{invoice['id']}/void", json={"reason": "duplicate"})
    assert _document(api, invoice["id"], "json").json()["status"] == "void"
    assert '<div class="status">void</div>' in _document(api, invoice["id"], "html").text


@pytest.mark.parametrize("fmt", ["pdf", "JSON", ""])
def test_an_unknown_format_names_the_field(api: Api, fmt: str) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    r = _document(api, invoice["id"], fmt)
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "format"
    assert "json, csv, html" in r.json()["error"]["message"]


def test_billing_roles_of_the_org_read_it_others_do_not(api: Api) -> None:
    acme_billing = api.new_org("acme", role="billing")
    r = api.http.post("/v1/keys", json={"org": "acme", "name": "dev", "role": "member"})
    acme_member = api.as_key(r.json()["secret"])
    globex = api.new_org("globex")
    invoice = finalized(api)
    path = f"/v1/invoices/{invoice['id']}/document"
    assert acme_billing.get(path, params={"format": "csv"}).status_code == 200
    assert acme_member.get(path).status_code == 403
    assert globex.get(path).status_code == 404
    assert api.http.get("/v1/invoices/inv_nope/document").status_code == 404
