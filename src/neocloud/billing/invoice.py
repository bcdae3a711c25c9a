"""Invoices and statements: kinds, the status state machine, and invoice numbers."""

from __future__ import annotations

import re
from enum import StrEnum


class InvoiceKind(StrEnum):
    """An invoice bills an external org at price; a statement shows an internal org its cost."""

    INVOICE = "invoice"
    STATEMENT = "statement"


class InvoiceStatus(StrEnum):
    """Lifecycle of an invoice: draft → finalized (immutable, numbered) → paid or void."""

    DRAFT = "draft"
    FINALIZED = "finalized"
    PAID = "paid"
    VOID = "void"

    @property
    def immutable(self) -> bool:
        """Lines and total never change once an invoice leaves draft."""
        return self is not InvoiceStatus.DRAFT


# A draft is regenerated or replaced, never voided: only numbered documents are voided, and a
# paid invoice is corrected by a credit note rather than by changing its status.
INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.FINALIZED}),
    InvoiceStatus.FINALIZED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}


class InvalidInvoiceTransition(ValueError):
    """A status change the invoice state machine does not allow."""


def check_invoice_transition(current: InvoiceStatus, target: InvoiceStatus) -> None:
    """Raise InvalidInvoiceTransition unless current → target is allowed."""
    if target not in INVOICE_TRANSITIONS[current]:
        raise InvalidInvoiceTransition(f"invoice cannot go from {current} to {target}")


_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,15}$")


def invoice_number(prefix: str, year: int, seq: int) -> str:
    """The number of a finalized invoice: invoice_number("NC", 2026, 42) == "NC-2026-000042"."""
    if not _PREFIX.match(prefix):
        raise ValueError(
            f"invalid invoice prefix {prefix!r}: 1 to 16 upper-case letters or digits,"
            " starting with a letter"
        )
    if not 1 <= year <= 9999:
        raise ValueError(f"invalid invoice year {year}: must be 1 to 9999")
    if seq < 1:
        raise ValueError(f"invalid invoice sequence {seq}: must be >= 1")
    # Six digits keep numbers the same width for the first million invoices of a year;
    # beyond that they grow rather than wrap, so a number is never reused.
    return f"{prefix}-{year:04d}-{seq:06d}"
