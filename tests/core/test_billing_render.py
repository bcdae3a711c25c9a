"""Invoice renderers: exact JSON, CSV that reads back to the total, escaped standalone HTML."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from decimal import Decimal

import pytest

from neocloud.billing.document import BillingDocument
from neocloud.billing.invoice import InvoiceStatus
from neocloud.billing.render import (
    CSV_COLUMNS,
    InvoiceView,
    render_csv,
    render_html,
    render_json,
)
from tests.exports.samples import CREDITS, DOC, VIEW

D = Decimal


def test_json_round_trips_to_the_exact_decimals() -> None:
    data = json.loads(json.dumps(render_json(DOC, VIEW)))
    assert [D(ln["amount"]) for ln in data["lines"]] == [ln.amount for ln in DOC.lines]
    assert D(data["total"]) == DOC.total == sum((D(ln["amount"]) for ln in data["lines"]), D(0))
    assert (D(data["subtotal"]), D(data["tax"])) == (DOC.subtotal, DOC.tax)
    assert D(data["credits_applied"]) == CREDITS
    assert D(data["amount_due"]) == DOC.total - CREDITS
    assert data["lines"][1]["quantity"] == "0.333333"
    assert data["lines"][5]["unit_price"] is None
    assert data["period_start"] == "2026-11-01T00:00:00Z"
    assert (data["number"], data["status"], data["issued_on"]) == (
        "NC-2026-000042",
        "finalized",
        "2026-12-01",
    )


def test_json_never_holds_a_float() -> None:
    def walk(value: object) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(render_json(DOC, VIEW))


def test_csv_parses_back_and_its_amounts_sum_to_the_total() -> None:
    text = render_csv(DOC, VIEW)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(rows) == len(DOC.lines)
    assert sum((D(r["amount"]) for r in rows), D(0)) == DOC.total
    assert [int(r["position"]) for r in rows] == list(range(1, len(DOC.lines) + 1))
    assert rows[0]["tier"] == "on_demand" and rows[-1]["kind"] == "tax"
    assert rows[5]["unit_price"] == ""


def test_csv_keeps_commas_quotes_and_newlines_in_descriptions() -> None:
    line = dataclasses.replace(DOC.lines[0], description='h100, "fast"\nsecond line')
    doc = dataclasses.replace(DOC, lines=(line,))
    view = dataclasses.replace(VIEW, credits_applied=D("0.00"), amount_due=doc.total)
    [row] = list(csv.DictReader(io.StringIO(render_csv(doc, view))))
    assert row["description"] == 'h100, "fast"\nsecond line'


def test_html_escapes_every_text() -> None:
    view = dataclasses.replace(
        VIEW, customer_name="<script>alert(1)</script>", issuer_name='Tom & "Jerry"'
    )
    line = dataclasses.replace(DOC.lines[0], description="<img src=x onerror=alert(2)>")
    doc = dataclasses.replace(DOC, org="<b>org</b>", lines=(line, *DOC.lines[1:]))
    page = render_html(doc, view)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Tom &amp; &quot;Jerry&quot;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_html_is_standalone_and_printable() -> None:
    page = render_html(DOC, VIEW)
    assert page.startswith("<!DOCTYPE html>")
    assert "@media print" in page
    # No external asset: nothing is fetched from anywhere.
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)
    for label in ("Subtotal", "Tax", "Total", "Credits applied", "Amount due"):
        assert label in page
    assert f">{DOC.total - CREDITS}</td>" in page
    assert f">-{CREDITS}</td>" in page
    assert page.count('<tr><td class="num">') == len(DOC.lines)


def test_a_draft_renders_without_number_or_issue_date() -> None:
    view = dataclasses.replace(VIEW, number=None, status=InvoiceStatus.DRAFT, issued_on=None)
    page = render_html(DOC, view)
    assert "Draft invoice" in page and "not issued" in page
    assert render_json(DOC, view)["number"] is None


def test_amount_due_must_agree_with_total_and_credits() -> None:
    wrong = dataclasses.replace(VIEW, amount_due=DOC.total)
    for render in (render_json, render_csv, render_html):
        with pytest.raises(ValueError, match="amount_due must be total − credits_applied"):
            render(DOC, wrong)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credits_applied", D("-1.00"), "credits_applied must be >= 0"),
        ("credits_applied", D("0.001"), "credits_applied must be a Decimal in whole cents"),
        ("amount_due", D("NaN"), "amount_due must be a Decimal in whole cents"),
    ],
)
def test_view_figures_are_checked(field: str, value: Decimal, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(VIEW, **{field: value})


def test_an_empty_document_renders() -> None:
    doc = BillingDocument(DOC.org, DOC.kind, DOC.period_start, DOC.period_end, "EUR", ())
    view = InvoiceView(None, InvoiceStatus.DRAFT, None, "I", "C", D("0.00"), D("0.00"))
    assert render_json(doc, view)["total"] == "0.00"
    assert render_csv(doc, view).strip() == ",".join(CSV_COLUMNS)
    assert "Amount due (EUR)" in render_html(doc, view)
