"""A credit note in the FOCUS export: Credit corrections per line credited, then a Tax one."""

from __future__ import annotations

from decimal import Decimal

from neocloud.billing.credit_notes import CreditNote, CreditNoteLine
from neocloud.billing.focus import credit_note_rows, focus_rows
from tests.exports.samples import DOC, VIEW

NOTE = CreditNote(
    id="cn_1",
    invoice_id="inv_1",
    org="acme",
    currency="USD",
    lines=(CreditNoteLine(1, Decimal("10.00"), "outage"), CreditNoteLine(2, Decimal("1.50"), "")),
    reason="GPU node down",
    tax=Decimal("2.30"),
)


def test_each_credited_line_and_the_tax_credit_is_a_correction() -> None:
    rows = credit_note_rows(DOC, VIEW, "CN-2026-000001", NOTE)
    assert [(r["ChargeCategory"], r["ChargeClass"], r["BilledCost"]) for r in rows] == [
        ("Credit", "Correction", Decimal("-10.00")),
        ("Credit", "Correction", Decimal("-1.50")),
        ("Tax", "Correction", Decimal("-2.30")),
    ]
    assert {r["InvoiceId"] for r in rows} == {"CN-2026-000001"}
    assert {r["x_Ref"] for r in rows} == {VIEW.number}
    assert "GPU node down" in str(rows[1]["ChargeDescription"])  # a line without its own reason


def test_a_correction_takes_the_service_of_the_line_it_corrects() -> None:
    invoice = focus_rows(DOC, VIEW)
    (first, second, _) = credit_note_rows(DOC, VIEW, "CN-2026-000001", NOTE)
    for row, line in ((first, invoice[0]), (second, invoice[1])):
        for column in ("ChargePeriodStart", "ChargePeriodEnd", "ServiceCategory", "x_Meter"):
            assert row[column] == line[column]
        assert row["PricingCategory"] is None and row["SkuPriceId"] is None
