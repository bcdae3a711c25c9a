"""Credit notes: line-by-line corrections of finalized invoices, with proportional tax."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.credit_notes import (
    CreditNote,
    CreditNoteError,
    CreditNoteLine,
    can_issue_credit_note,
    check_credit_note,
    credit_note_tax,
    make_credit_note,
    tax_rate,
)
from neocloud.billing.document import BillingDocument, DocumentLine, LineKind
from neocloud.billing.invoice import InvoiceKind, InvoiceStatus
from neocloud.domain.jobs import Tier

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


def line(
    amount: str, kind: LineKind = LineKind.USAGE, unit_price: str | None = "2.50"
) -> DocumentLine:
    return DocumentLine(
        kind=kind,
        description=f"{kind} line",
        quantity=D("1"),
        unit="GPU-hour",
        unit_price=None if unit_price is None else D(unit_price),
        amount=D(amount),
        service_start=START,
        service_end=END,
        gpu_type="h100",
        tier=Tier.ON_DEMAND,
    )


def tax_line(base: str, rate: str | None, amount: str) -> DocumentLine:
    return DocumentLine(
        LineKind.TAX,
        "VAT",
        D(base),
        "tax",
        None if rate is None else D(rate),
        D(amount),
        START,
        END,
    )


def invoice(*lines: DocumentLine, currency: str = "USD") -> BillingDocument:
    return BillingDocument("acme", InvoiceKind.INVOICE, START, END, currency, lines)


TAXED = invoice(
    line("100.00"),
    line("50.00"),
    line("-15.00", LineKind.DISCOUNT),
    tax_line("135.00", "0.20", "27.00"),
)
UNTAXED = invoice(line("100.00"), line("50.00"))


def note(*lines: tuple[int, str], id: str = "cn-1", tax: str = "0.00", **kw: str) -> CreditNote:
    fields = {"invoice_id": "inv-1", "org": "acme", "currency": "USD", "reason": "outage"}
    fields.update(kw)
    return CreditNote(
        id,
        fields["invoice_id"],
        fields["org"],
        fields["currency"],
        tuple(CreditNoteLine(pos, D(amount), "outage") for pos, amount in lines),
        fields["reason"],
        D(tax),
    )


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (InvoiceStatus.DRAFT, False),
        (InvoiceStatus.FINALIZED, True),
        (InvoiceStatus.PAID, True),
        (InvoiceStatus.VOID, False),
    ],
)
def test_notes_are_issued_on_finalized_or_paid_invoices_only(
    status: InvoiceStatus, allowed: bool
) -> None:
    assert can_issue_credit_note(status) is allowed


def test_a_note_without_tax_totals_its_lines() -> None:
    cn = make_credit_note(
        UNTAXED,
        "inv-1",
        [],
        "cn-1",
        [CreditNoteLine(1, D("10.00"), "outage"), CreditNoteLine(2, D("0.01"), "x")],
        "outage",
    )
    assert (cn.subtotal, cn.tax, cn.total) == (D("10.01"), D("0.00"), D("10.01"))
    assert (cn.org, cn.currency) == ("acme", "USD")


def test_a_note_on_a_taxed_invoice_carries_the_proportional_tax() -> None:
    cn = make_credit_note(
        TAXED, "inv-1", [], "cn-1", [CreditNoteLine(1, D("10.05"), "outage")], "outage"
    )
    # 20 % of 10.05 = 2.01
    assert (cn.subtotal, cn.tax, cn.total) == (D("10.05"), D("2.01"), D("12.06"))


def test_the_tax_credit_rounds_half_up() -> None:
    # 20 % of 0.03 = 0.006 → 0.01 ; 20 % of 0.02 = 0.004 → 0.00
    assert credit_note_tax(TAXED, [], D("0.03")) == D("0.01")
    assert credit_note_tax(TAXED, [], D("0.02")) == D("0.00")


def test_without_a_rate_on_the_tax_line_the_rate_is_tax_over_subtotal() -> None:
    doc = invoice(line("100.00"), tax_line("100.00", None, "7.00"))
    assert tax_rate(doc) == D("0.07")
    assert credit_note_tax(doc, [], D("50.00")) == D("3.50")
    assert tax_rate(UNTAXED) is None


def test_tax_credits_never_exceed_the_tax_charged() -> None:
    # 20 % of 0.03 charged 0.01 tax; three notes of 0.01 would each round to 0.00, but
    # notes of 0.03 each would round to 0.01: the cap stops the sum passing the tax charged.
    doc = invoice(line("0.03"), line("0.03"), tax_line("0.06", "0.20", "0.01"))
    first = make_credit_note(doc, "inv-1", [], "cn-1", [CreditNoteLine(1, D("0.03"), "r")], "r")
    second = make_credit_note(
        doc, "inv-1", [first], "cn-2", [CreditNoteLine(2, D("0.03"), "r")], "r"
    )
    assert (first.tax, second.tax) == (D("0.01"), D("0.00"))


def test_a_line_is_never_credited_beyond_what_remains_over_all_notes() -> None:
    first = make_credit_note(
        UNTAXED, "inv-1", [], "cn-1", [CreditNoteLine(2, D("30.00"), "r")], "r"
    )
    check_credit_note(UNTAXED, "inv-1", [first], note((2, "20.00"), id="cn-2"))
    with pytest.raises(
        CreditNoteError,
        match=r"lines\[1\]\.amount: 20\.01 exceeds what remains of invoice line 2"
        r" \(20\.00 of 50\.00\)",
    ):
        check_credit_note(UNTAXED, "inv-1", [first], note((2, "20.01"), id="cn-2"))
    # Two lines of the same note on the same invoice line add up too.
    with pytest.raises(CreditNoteError, match=r"lines\[2\]\.amount"):
        check_credit_note(UNTAXED, "inv-1", [], note((1, "60.00"), (1, "40.01")))
    # Notes of other invoices do not count.
    other = make_credit_note(
        UNTAXED, "inv-9", [], "cn-9", [CreditNoteLine(2, D("50.00"), "r")], "r"
    )
    check_credit_note(UNTAXED, "inv-1", [other], note((2, "50.00")))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (note((1, "0.00")), r"lines\[1\]\.amount must be > 0"),
        (note((1, "-1.00")), r"lines\[1\]\.amount must be > 0"),
        (note((1, "1.001")), r"lines\[1\]\.amount must be a Decimal in whole cents"),
        (note((0, "1.00")), r"lines\[1\]\.invoice_line_position: the invoice has no line 0"),
        (note((9, "1.00")), r"invoice_line_position: the invoice has no line 9 \(1 to 4\)"),
        (note((4, "1.00")), r"line 4 is the tax line"),
        (note((3, "1.00")), r"line 3 has nothing to credit \(-15\.00\)"),
        (note((1, "1.00"), currency="EUR"), "currency: note is in EUR, the invoice in USD"),
        (note((1, "1.00"), org="globex"), "org: note is for globex"),
        (note((1, "1.00"), invoice_id="inv-2"), "invoice_id: note is for inv-2, not inv-1"),
        (note((1, "1.00"), reason=" "), "reason: a credit note needs a reason"),
        (note(), "lines: a credit note credits at least one line"),
        (note((1, "10.00"), tax="1.00"), r"tax: the tax credit must be 2\.00, got 1\.00"),
    ],
    ids=[
        "zero",
        "negative",
        "sub-cent",
        "position-0",
        "position-past-end",
        "tax-line",
        "discount-line",
        "currency",
        "org",
        "invoice",
        "reason",
        "no-lines",
        "wrong-tax",
    ],
)
def test_bad_notes_are_refused_naming_the_field(bad: CreditNote, message: str) -> None:
    with pytest.raises(CreditNoteError, match=message):
        check_credit_note(TAXED, "inv-1", [], bad)


def test_a_note_id_is_issued_once() -> None:
    first = make_credit_note(UNTAXED, "inv-1", [], "cn-1", [CreditNoteLine(1, D("1.00"), "r")], "r")
    with pytest.raises(CreditNoteError, match="id: credit note cn-1 was already issued"):
        check_credit_note(UNTAXED, "inv-1", [first], note((1, "1.00")))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 2), st.integers(1, 6000)), min_size=1, max_size=3),
        max_size=8,
    )
)
def test_notes_never_credit_more_than_the_invoice(requests: list[list[tuple[int, int]]]) -> None:
    notes: list[CreditNote] = []
    for n, request in enumerate(requests):
        lines = [CreditNoteLine(pos, D(c).scaleb(-2), "r") for pos, c in request]
        try:
            notes.append(make_credit_note(TAXED, "inv-1", notes, f"cn-{n}", lines, "r"))
        except CreditNoteError as err:
            assert "exceeds what remains" in str(err)
    for pos in (1, 2):
        credited = sum(
            (ln.amount for cn in notes for ln in cn.lines if ln.invoice_line_position == pos), D(0)
        )
        assert credited <= TAXED.lines[pos - 1].amount
    assert sum((cn.tax for cn in notes), D(0)) <= TAXED.tax
    assert all(cn.total == cn.subtotal + cn.tax for cn in notes)
