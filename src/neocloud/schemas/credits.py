"""Billing terms, credit grants and the credit ledger on the wire."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from neocloud.schemas.common import StrictModel
from neocloud.schemas.strict import Name

Currency = Field(default="USD", pattern=r"^[A-Z]{3}$")


class BillingTermsSet(StrictModel):
    """An org's commercial terms (operator)."""

    currency: str = Currency
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=4)
    minimum_spend: Decimal = Field(default=Decimal(0), ge=0, le=10**12, decimal_places=2)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=1, decimal_places=6)
    credit_limit: Decimal | None = Field(
        default=None,
        ge=0,
        le=10**12,
        decimal_places=2,
        description="prepaid customers: how far past their credit they may go; null: postpaid",
    )
    stop_grace_seconds: int = Field(default=300, ge=0, le=7 * 86_400)


class BillingTerms(BillingTermsSet):
    """An org's terms as stored."""

    org_id: str
    updated_at: datetime | None


class GrantCreate(StrictModel):
    """Give an org prepaid credit (paid for) or a promotional grant (operator)."""

    org: Name = Field(max_length=128)
    kind: Literal["prepaid", "promotional"]
    amount: Decimal = Field(gt=0, le=10**12, decimal_places=2)
    currency: str = Currency
    effective_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    priority: int = Field(default=0, ge=0, le=1000)
    description: str = Field(default="", max_length=300)


class Grant(BaseModel):
    """A grant and what is left on it now."""

    id: str
    org_id: str
    kind: str
    amount: Decimal
    remaining: Decimal
    currency: str
    effective_at: datetime
    expires_at: datetime | None
    priority: int
    description: str


class LedgerPosting(BaseModel):
    """One posting of a balanced transaction."""

    transaction_id: str
    kind: str
    account: str
    amount: Decimal
    currency: str
    ref: str | None
    at: datetime


class CreditStatus(BaseModel):
    """An org's credit now: grants, what is available, and the limit position if prepaid."""

    org_id: str
    currency: str
    available_credit: Decimal
    grants: list[Grant]
    credit_limit: Decimal | None
    period_spend: Decimal
    unpaid_invoices: Decimal
    held_for_active_jobs: Decimal
    headroom: Decimal | None = Field(
        description="credit + limit − unpaid − spend − holds; new jobs need it to cover their"
        " maximum cost (null for postpaid orgs)"
    )
