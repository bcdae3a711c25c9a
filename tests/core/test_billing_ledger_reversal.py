"""Voiding an invoice in the ledger: credit goes back to the grants it came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.billing.ledger import (
    BREAKAGE,
    PROMOTION_EXPENSE,
    REVENUE,
    Grant,
    GrantKind,
    Transaction,
    TransactionKind,
    apply_credits,
    available_credit,
    balance,
    balances,
    check_ledger,
    grant_account,
    invoice_account,
    issue_grant,
    record_invoice,
    reverse_application,
)
from neocloud.domain.money import Money

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _invoiced(
    grants: list[Grant], total: str, invoice_id: str = "inv1", when: float = 30
) -> list[Transaction]:
    txs = [issue_grant(g) for g in grants]
    txs.append(record_invoice("acme", invoice_id, Money(D(total)), at(when)))
    txs += apply_credits(grants, txs, "acme", invoice_id, Money(D(total)), at(when)).transactions
    return txs


def test_a_void_gives_each_grant_back_what_it_gave_and_cancels_the_receivable() -> None:
    grants = [
        Grant("promo", "acme", GrantKind.PROMOTIONAL, D("30.00"), "USD", T0),
        Grant("paid", "acme", GrantKind.PREPAID, D("100.00"), "USD", T0),
    ]
    txs = _invoiced(grants, "50.00")
    assert balance(txs, grant_account("promo")) == 0
    assert balance(txs, grant_account("paid")) == D("80.00")

    reversal = reverse_application(grants, txs, "inv1", at(40))

    assert reversal is not None
    assert reversal.kind is TransactionKind.REVERSAL and reversal.ref == "inv1"
    assert reversal.id == "reversal:inv1:1"
    after = [*txs, reversal]
    check_ledger(after)
    assert balance(after, grant_account("promo")) == D("30.00")
    assert balance(after, grant_account("paid")) == D("100.00")
    assert balance(after, invoice_account("inv1")) == 0
    assert balance(after, REVENUE) == 0
    assert available_credit(grants, after, "acme", at(40)) == D("130.00")


def test_reversing_twice_appends_nothing() -> None:
    grants = [Grant("paid", "acme", GrantKind.PREPAID, D("10.00"), "USD", T0)]
    txs = _invoiced(grants, "4.00")
    first = reverse_application(grants, txs, "inv1", at(40))
    assert first is not None
    assert reverse_application(grants, [*txs, first], "inv1", at(41)) is None


def test_an_invoice_credit_never_paid_only_cancels_the_receivable() -> None:
    txs = _invoiced([], "12.34")
    reversal = reverse_application([], txs, "inv1", at(40))
    assert reversal is not None
    assert {p.account: p.amount for p in reversal.postings} == {
        invoice_account("inv1"): D("12.34"),
        REVENUE: D("-12.34"),
    }


def test_an_invoice_the_ledger_never_saw_has_nothing_to_reverse() -> None:
    assert reverse_application([], [], "inv1", at(40)) is None


def test_other_invoices_are_left_alone() -> None:
    grants = [Grant("paid", "acme", GrantKind.PREPAID, D("100.00"), "USD", T0)]
    txs = _invoiced(grants, "10.00", "inv1")
    txs.append(record_invoice("acme", "inv2", Money(D("20.00")), at(31)))
    txs += apply_credits(grants, txs, "acme", "inv2", Money(D("20.00")), at(31)).transactions
    reversal = reverse_application(grants, txs, "inv1", at(40))
    assert reversal is not None
    after = [*txs, reversal]
    assert balance(after, grant_account("paid")) == D("80.00")  # only inv1's 10 came back
    assert balance(after, invoice_account("inv2")) == 0  # fully paid by credit


@pytest.mark.parametrize(
    ("kind", "sink"), [(GrantKind.PREPAID, BREAKAGE), (GrantKind.PROMOTIONAL, PROMOTION_EXPENSE)]
)
def test_credit_returned_to_an_expired_grant_is_written_off_at_once(
    kind: GrantKind, sink: str
) -> None:
    grants = [Grant("g", "acme", kind, D("10.00"), "USD", T0, expires_at=at(35))]
    txs = _invoiced(grants, "4.00")
    before = balances(txs)
    reversal = reverse_application(grants, txs, "inv1", at(40))
    assert reversal is not None
    after = [*txs, reversal]
    check_ledger(after)
    # Nothing comes back onto a grant nobody can use any more; it is written off instead.
    assert balance(after, grant_account("g")) == before[grant_account("g")]
    assert balance(after, sink) - before.get(sink, D(0)) == D("4.00")
    assert sum(p.amount for p in reversal.postings) == 0
