"""Usage, prices, invoices and margins on the wire."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from neocloud.billing.charges import MAX_TIERS, MOST_AMOUNT, MOST_UNIT_PRICE
from neocloud.domain.jobs import Tier
from neocloud.schemas.common import StrictModel
from neocloud.schemas.org_failures import OrgFailure
from neocloud.schemas.strict import PERIOD_PATTERN, Name, Period


class UsageRecord(BaseModel):
    """Allocated GPU-seconds of one allocation, from its real start to its real end."""

    id: str
    org_id: str
    project_id: str | None
    job_id: str
    gpu_type: str
    tier: Tier
    region: str
    gpus: int
    started_at: datetime
    ended_at: datetime
    gpu_seconds: Decimal


class UsageSummaryRow(BaseModel):
    """GPU-seconds grouped by the requested keys (absent keys are null)."""

    org_id: str | None = None
    project_id: str | None = None
    gpu_type: str | None = None
    tier: Tier | None = None
    day: date | None = None
    gpu_seconds: Decimal
    gpu_hours: Decimal


class PriceTierIn(StrictModel):
    """One tier of a graduated or volume charge; the last tier has up_to null (no end)."""

    up_to: Decimal | None = Field(default=None, gt=0)
    unit_price: Decimal = Field(ge=0, le=MOST_UNIT_PRICE)
    flat_fee: Decimal = Field(default=Decimal(0), ge=0, le=MOST_AMOUNT)


class ChargeIn(StrictModel):
    """How usage of a meter is charged beyond a plain price per unit."""

    model: Literal["per_unit", "graduated", "volume", "package"]
    unit_price: Decimal | None = Field(default=None, ge=0, le=MOST_UNIT_PRICE)
    tiers: list[PriceTierIn] = Field(default_factory=list, max_length=MAX_TIERS)
    package_size: Decimal | None = Field(default=None, gt=0)
    package_price: Decimal | None = Field(default=None, ge=0, le=MOST_AMOUNT)


class PriceSet(StrictModel):
    """Set a price of a meter × GPU type × tier (× region) from a moment on.

    GPU time (meter gpu_seconds, the default) is priced per GPU-hour of a GPU type; another
    meter per unit of the meter, with gpu_type "" unless its events name the GPU type.
    """

    meter: str = Field(default="gpu_seconds", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    gpu_type: Name = Field(default="", max_length=32)
    tier: Tier
    unit_price: Decimal = Field(ge=0, le=MOST_UNIT_PRICE)
    charge: ChargeIn | None = None
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    region: Name | None = Field(default=None, max_length=63)
    effective_from: datetime


class Price(BaseModel):
    """A price-book entry."""

    id: str
    meter: str = "gpu_seconds"
    gpu_type: str
    tier: Tier
    region: str | None
    unit_price: Decimal
    charge: ChargeIn | None = None
    currency: str
    effective_from: datetime


class InvoiceGenerate(StrictModel):
    """Generate (or regenerate) draft invoices and statements for a month `YYYY-MM`."""

    period: Period = Field(pattern=PERIOD_PATTERN)
    org: Name | None = Field(default=None, max_length=128)


class InvoiceLine(BaseModel):
    """One line: quantity × unit price = amount (half-up to the cent)."""

    kind: str = "usage"
    description: str
    meter: str | None = None
    gpu_type: str | None = None
    tier: Tier | None = None
    region: str | None = None
    quantity: Decimal
    unit: str
    unit_price: Decimal | None = Field(
        default=None, description="null where no single price applies (graduated tiers)"
    )
    amount: Decimal
    ref: str | None = Field(
        default=None, description="the contract, or the earlier invoice an adjustment corrects"
    )
    service_start: datetime | None = None
    service_end: datetime | None = None


class Invoice(BaseModel):
    """An invoice (external orgs, at price) or statement (internal orgs, at cost)."""

    id: str
    org_id: str
    kind: str
    number: str | None
    status: str
    period: str
    period_start: datetime
    period_end: datetime
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    credits_applied: Decimal
    amount_due: Decimal
    lines: list[InvoiceLine]
    created_at: datetime
    finalized_at: datetime | None
    paid_at: datetime | None = None
    voided_at: datetime | None = None


class Spend(BaseModel):
    """An org's (or one project's) spend so far this period, before tax and credits."""

    org_id: str
    project_id: str | None
    period: str
    as_of: datetime
    amount: Decimal
    currency: str
    lines: list[InvoiceLine]


class MarginRow(BaseModel):
    """Revenue, cost and margin of one slice; the keys it is not grouped by are null.

    gross_margin = revenue − used_cost − shared_idle_cost; margin_after_idle = revenue −
    used_cost − idle_cost. A capacity slice (GPU type, region, month) carries its capacity and
    the whole idle cost of its pools; another slice carries the idle cost shared onto it.
    """

    gpu_type: str | None = None
    tier: Tier | None = None
    org: str | None = None
    org_name: str | None = None
    region: str | None = None
    month: str | None = None
    gpu_hours_used: Decimal
    capacity_gpu_hours: Decimal | None = None
    utilisation: Decimal | None = None
    revenue: Decimal
    used_cost: Decimal
    shared_idle_cost: Decimal
    idle_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    margin_after_idle: Decimal
    internal_gpu_hours: Decimal
    internal_cost: Decimal
    opportunity_value: Decimal


class PriceGuide(BaseModel):
    """What to charge for a GPU type, per GPU-hour, at the window's allocation rate."""

    gpu_type: str
    gpus: int
    fixed: Decimal
    busy_energy: Decimal
    idle_energy: Decimal
    wear: Decimal
    full_cost: Decimal
    price_floor: Decimal
    list_price: Decimal | None
    utilisation: Decimal | None
    cost_per_used_gpu_hour: Decimal | None
    break_even_utilisation: Decimal | None
    target_margin_pct: Decimal
    target_price: Decimal | None


class MarginReport(BaseModel):
    """Gross margin over a period, by GPU type, tier, org, region and month, and price guide.

    Figures are exact (not rounded to the cent): every row and total is an exact sum of cells
    (month × GPU type × tier × org × region), so the identities hold to the last digit.
    Round for display.
    """

    start: datetime
    end: datetime
    currency: str
    idle_share: Literal["line", "even", "weighted"]
    capacity_gpu_hours: Decimal
    used_gpu_hours: Decimal
    utilisation: Decimal
    revenue: Decimal
    used_cost: Decimal
    shared_idle_cost: Decimal
    idle_cost: Decimal
    total_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    margin_after_idle: Decimal
    internal_gpu_hours: Decimal
    internal_cost: Decimal
    opportunity_value: Decimal
    by_gpu_type: list[MarginRow]
    by_tier: list[MarginRow]
    by_org: list[MarginRow]
    by_region: list[MarginRow]
    by_month: list[MarginRow]
    failed_orgs: list[OrgFailure] = Field(
        default_factory=list,
        description="orgs whose revenue could not be worked out: left out, every other org counted",
    )
    pricing: list[PriceGuide]
