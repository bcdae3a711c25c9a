"""The billing document: every line an invoice or statement can carry, and its totals.

Rating and composition produce a `BillingDocument`; renderers (JSON, CSV, HTML), the FOCUS
export and the store all read this one shape, so a line means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from neocloud.billing.intervals import require_interval
from neocloud.billing.invoice import InvoiceKind
from neocloud.domain.jobs import Tier
from neocloud.domain.money import CENT

# The meter of GPU time produced by the platform itself from allocations.
GPU_METER = "gpu_seconds"


class LineKind(StrEnum):
    """What a line bills: usage, a commitment, a reduction, a correction, or tax."""

    USAGE = "usage"
    CONTRACT = "contract"
    MINIMUM_COMMITMENT = "minimum_commitment"
    DISCOUNT = "discount"
    ADJUSTMENT = "adjustment"
    TAX = "tax"


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line: a quantity of a unit at a price, and its amount rounded half-up to the cent.

    `unit_price` is None where no single price applies (graduated tiers, a minimum true-up).
    Discounts carry negative amounts. `ref` points at what the line derives from: a contract
    id, or for an adjustment the finalized invoice whose period the late usage belongs to.
    `service_start`/`service_end` is when the billed usage happened (an adjustment's lie in
    an earlier period than the document's).
    """

    kind: LineKind
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    amount: Decimal
    service_start: datetime
    service_end: datetime
    meter: str | None = None
    gpu_type: str | None = None
    tier: Tier | None = None
    region: str | None = None
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.tier is not None:
            object.__setattr__(self, "tier", Tier(self.tier))
        if not isinstance(self.amount, Decimal) or self.amount != self.amount.quantize(CENT):
            raise ValueError(f"line amount must be a Decimal in whole cents, got {self.amount!r}")
        require_interval(self.service_start, self.service_end, "line service period")


@dataclass(frozen=True, slots=True)
class BillingDocument:
    """An org's invoice or statement for one period, before any prepaid credit is applied.

    subtotal = Σ non-tax lines; tax = the TAX line (if any); total = subtotal + tax, exactly.
    """

    org: str
    kind: InvoiceKind
    period_start: datetime
    period_end: datetime
    currency: str
    lines: Sequence[DocumentLine] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        require_interval(self.period_start, self.period_end, "billing period")
        taxes = [ln for ln in self.lines if ln.kind is LineKind.TAX]
        if len(taxes) > 1:
            raise ValueError("a billing document carries at most one tax line")
        if taxes and self.lines[-1].kind is not LineKind.TAX:
            raise ValueError("the tax line comes last")

    @property
    def subtotal(self) -> Decimal:
        """Sum of every line but tax."""
        return sum((ln.amount for ln in self.lines if ln.kind is not LineKind.TAX), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        """The tax line's amount, or zero."""
        return sum((ln.amount for ln in self.lines if ln.kind is LineKind.TAX), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """subtotal + tax: exactly the sum of all lines."""
        return sum((ln.amount for ln in self.lines), Decimal("0.00"))
