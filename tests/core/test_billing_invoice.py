"""Invoice status machine and invoice numbers."""

from __future__ import annotations

import itertools

import pytest

from neocloud.billing.invoice import (
    InvalidInvoiceTransition,
    InvoiceKind,
    InvoiceStatus,
    check_invoice_transition,
    invoice_number,
)

S = InvoiceStatus
ALLOWED = {(S.DRAFT, S.FINALIZED), (S.FINALIZED, S.PAID), (S.FINALIZED, S.VOID)}


@pytest.mark.parametrize(
    ("current", "target"),
    list(itertools.product(S, S)),
    ids=[f"{a}->{b}" for a, b in itertools.product(S, S)],
)
def test_only_draft_to_finalized_to_paid_or_void_is_allowed(
    current: InvoiceStatus, target: InvoiceStatus
) -> None:
    if (current, target) in ALLOWED:
        check_invoice_transition(current, target)
    else:
        with pytest.raises(InvalidInvoiceTransition, match=f"from {current} to {target}"):
            check_invoice_transition(current, target)


def test_only_drafts_may_change() -> None:
    assert [s for s in S if not s.immutable] == [S.DRAFT]


def test_kinds_and_statuses_have_stable_wire_values() -> None:
    assert [k.value for k in InvoiceKind] == ["invoice", "statement"]
    assert [s.value for s in S] == ["draft", "finalized", "paid", "void"]


@pytest.mark.parametrize(
    ("prefix", "year", "seq", "number"),
    [
        ("NC", 2026, 42, "NC-2026-000042"),
        ("NC", 2026, 1, "NC-2026-000001"),
        ("ACME2", 2027, 999_999, "ACME2-2027-999999"),
        ("NC", 2026, 1_000_000, "NC-2026-1000000"),
    ],
    ids=["typical", "first", "last-six-digit", "grows-past-a-million"],
)
def test_invoice_number(prefix: str, year: int, seq: int, number: str) -> None:
    assert invoice_number(prefix, year, seq) == number


@pytest.mark.parametrize(
    ("prefix", "year", "seq", "message"),
    [
        ("nc", 2026, 1, "invalid invoice prefix 'nc'"),
        ("", 2026, 1, "invalid invoice prefix ''"),
        ("N-C", 2026, 1, "invalid invoice prefix 'N-C'"),
        ("NC", 0, 1, "invalid invoice year 0"),
        ("NC", 2026, 0, "invalid invoice sequence 0"),
    ],
    ids=["lower-case", "empty", "dash", "year-zero", "sequence-zero"],
)
def test_invoice_number_refuses_bad_parts(prefix: str, year: int, seq: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invoice_number(prefix, year, seq)
