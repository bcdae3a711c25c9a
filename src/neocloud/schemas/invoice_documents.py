"""An invoice after finalization on the wire: paying, voiding, and credit notes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from neocloud.schemas.billing import Invoice
from neocloud.schemas.common import StrictModel

DOCUMENT_FORMATS = ("json", "csv", "html")
FOCUS_FORMATS = ("csv", "parquet")


class InvoicePay(StrictModel):
    """Mark a finalized invoice paid (operator); paid_at defaults to now."""

    paid_at: AwareDatetime | None = None


class InvoiceVoid(StrictModel):
    """Void a finalized invoice (operator); its number stays used."""

    reason: str = Field(min_length=1, max_length=500)


class Actor(BaseModel):
    """Who made a change: the API key, its org and role."""

    key_id: str
    org_id: str
    org: str
    role: str


class InvoiceStatusChange(BaseModel):
    """The invoice after a status change, with who changed it, why, and what moved in the ledger."""

    invoice: Invoice
    action: Literal["pay", "void"]
    previous_status: str
    at: datetime
    by: Actor
    reason: str | None = None
    credits_returned: Decimal = Field(
        default=Decimal("0.00"),
        description="void: prepaid/promotional credit given back to the grants it came from",
    )
    credits_written_off: Decimal = Field(
        default=Decimal("0.00"),
        description="void: credit that went back to grants already expired, so written off",
    )
    ledger_transaction_id: str | None = None


class CreditNoteLineIn(StrictModel):
    """An amount credited against one invoice line, by its position as printed (from 1)."""

    line: int = Field(ge=1, le=100_000)
    amount: Decimal = Field(gt=0, le=10**12, decimal_places=2)
    reason: str = Field(default="", max_length=500)


class CreditNoteCreate(StrictModel):
    """Issue a credit note against a finalized or paid invoice (operator)."""

    reason: str = Field(min_length=1, max_length=500)
    lines: list[CreditNoteLineIn] = Field(min_length=1, max_length=1000)


class CreditNoteLine(BaseModel):
    """One credited line as stored."""

    line: int
    description: str
    amount: Decimal
    reason: str


class CreditNote(BaseModel):
    """A numbered credit note, and how its total reached the customer.

    amount_due_reduced + credit_granted = total: an unpaid invoice's amount due is reduced
    first (never below zero); the rest, or all of it on a paid invoice, is prepaid credit.
    """

    id: str
    number: str
    invoice_id: str
    invoice_number: str | None
    org_id: str
    currency: str
    reason: str
    lines: list[CreditNoteLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_due_reduced: Decimal
    credit_granted: Decimal
    grant_id: str | None
    created_at: datetime
