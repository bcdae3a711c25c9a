"""A selling policy: how much of each GPU type may be sold, in which tiers, at which prices.

The what-if replays demand under one (docs/economics.md, "What if"). A policy is plain data;
policy_file.py reads one from YAML and refuses anything it does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from neocloud.billing.contracts import ReservedContract
from neocloud.billing.pricebook import PriceEntry
from neocloud.domain.jobs import DEFAULT_GRACE_SECONDS, Tier
from neocloud.domain.money import DEFAULT_CURRENCY

# Trace second 0 falls here unless the policy says otherwise: the core has no clock, and a
# fixed date makes the same inputs give the same months.
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
SELLABLE_TIERS = (Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT)


@dataclass(frozen=True, slots=True)
class GpuTypePolicy:
    """What may be sold of one GPU type: a share of its GPUs, and a price per offered tier."""

    gpu_type: str
    sellable_cap: Decimal
    # Tier → price per GPU-hour, for every tier the policy offers.
    prices: Mapping[Tier, Decimal]


@dataclass(frozen=True, slots=True)
class ContractTerm:
    """A reserved contract the policy signs: GPUs of a type for the whole replay, take-or-pay."""

    id: str
    org: str
    gpu_type: str
    gpus: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class SellingPolicy:
    """Caps, tiers, prices, spot grace and contracts; the sweep's caps when one is asked for."""

    gpu_types: Mapping[str, GpuTypePolicy]
    tiers: tuple[Tier, ...] = (Tier.ON_DEMAND, Tier.SPOT)
    currency: str = DEFAULT_CURRENCY
    start: datetime = DEFAULT_START
    spot_grace_s: int = DEFAULT_GRACE_SECONDS
    contracts: tuple[ContractTerm, ...] = ()
    sweep: tuple[Decimal, ...] = field(default=())

    def offers(self, tier: Tier, gpu_type: str) -> bool:
        """True when the policy sells this GPU type in this tier."""
        return tier in self.tiers and gpu_type in self.gpu_types

    def caps(self) -> dict[str, Decimal]:
        """GPU type → sellable fraction; a type the policy does not list is not sold (0)."""
        return {t: p.sellable_cap for t, p in sorted(self.gpu_types.items())}

    def at_cap(self, cap: Decimal) -> SellingPolicy:
        """The same policy with every GPU type it sells capped at `cap` (a sweep point)."""
        types = {t: replace(p, sellable_cap=cap) for t, p in self.gpu_types.items()}
        return replace(self, gpu_types=types)

    def price_book(self) -> list[PriceEntry]:
        """The policy's prices as a price book in force from the replay's start."""
        return [
            PriceEntry(gpu_type, tier, price, self.currency, self.start)
            for gpu_type, p in sorted(self.gpu_types.items())
            for tier, price in sorted(p.prices.items(), key=lambda kv: kv[0].rank)
        ]

    def reserved_contracts(self, end: datetime) -> list[ReservedContract]:
        """The contracts as billing sees them: each runs from the replay's start to `end`."""
        if end <= self.start:
            return []
        return [
            ReservedContract(
                id=c.id,
                org=c.org,
                gpu_type=c.gpu_type,
                gpus=c.gpus,
                start=self.start,
                end=end,
                unit_price=c.unit_price,
                currency=self.currency,
            )
            for c in self.contracts
        ]
