"""Charge models: how a quantity of a meter turns into an amount (per unit, tiers, packages).

The semantics follow Lago's documented charge models, with tier bounds read as quantities
rather than whole units (usage here is often fractional: GPU-hours, thousands of tokens):

- **per_unit**: quantity × unit_price.
- **graduated**: tier i covers the quantity in (up_to of tier i-1, up_to of tier i] (the first
  tier starts at 0, the last is unbounded). Each part of the quantity is priced at the unit
  price of the tier it falls in, and the flat fee of every tier the quantity reaches (any
  quantity above the tier's lower bound) is added once. Zero quantity costs nothing, flat fees
  included. E.g. tiers (≤100 at 1.00 + 5 flat, ≤200 at 0.50, rest at 0.10): 150 units cost
  100 × 1.00 + 5 + 50 × 0.50 = 130.
- **volume**: the whole quantity is priced at the unit price of the one tier the total falls in
  (upper bounds inclusive: exactly 100 falls in the "≤100" tier), plus that tier's flat fee;
  zero costs nothing. Lago's example: 65,000 at 0.0006 + 10 flat = 49.
- **package**: ceil(quantity / package_size) × package_price; a started package is a whole
  package, zero costs nothing.

Amounts are exact (never rounded here): rating sums them per line and rounds each line once.
`scaled_charge_amount` prices a quantity counted in a finer unit (GPU-seconds for a price per
GPU-hour) without dividing, so that the one division happens at the line, where it is exact
enough never to move a half cent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext
from enum import StrEnum
from itertools import pairwise

ZERO = Decimal(0)
ONE = Decimal(1)
# What the API takes (schemas.billing) and a charges file may say (charges_file): one set of bounds.
MOST_UNIT_PRICE = Decimal(100_000)
MOST_AMOUNT = Decimal(10**9)
MAX_TIERS = 50
# Products and sums of quantities and prices are exact at this precision for any realistic
# figures; Inexact is trapped so that an unrealistic one raises instead of rounding silently.
_EXACT_PRECISION = 120


@contextmanager
def exact_arithmetic() -> Iterator[None]:
    """A Decimal context in which + - × must be exact: rounding raises decimal.Inexact."""
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        ctx.traps[Inexact] = True
        yield


class ChargeModel(StrEnum):
    """How a charge turns a quantity into an amount."""

    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"


def _require_amount(value: object, name: str, *, positive: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class PriceTier:
    """A tier: quantities up to `up_to` (inclusive; None = no limit) at unit_price, + flat_fee."""

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.up_to is not None:
            _require_amount(self.up_to, "tier up_to", positive=True)
        _require_amount(self.unit_price, "tier unit_price")
        _require_amount(self.flat_fee, "tier flat_fee")


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge model with exactly the fields it needs (see the module docstring)."""

    model: ChargeModel
    unit_price: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()
    package_size: Decimal | None = None
    package_price: Decimal | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "model", ChargeModel(self.model))
        except ValueError:
            choices = ", ".join(m.value for m in ChargeModel)
            raise ValueError(f"charge model must be one of {choices}, got {self.model!r}") from None
        object.__setattr__(self, "tiers", tuple(self.tiers))
        tiered = self.model in (ChargeModel.GRADUATED, ChargeModel.VOLUME)
        packaged = self.model is ChargeModel.PACKAGE
        self._only(
            unit_price=self.model is ChargeModel.PER_UNIT,
            tiers=tiered,
            package_size=packaged,
            package_price=packaged,
        )
        if self.model is ChargeModel.PER_UNIT:
            _require_amount(self.unit_price, "unit_price")
        elif tiered:
            self._check_tiers()
        else:
            _require_amount(self.package_size, "package_size", positive=True)
            _require_amount(self.package_price, "package_price")

    def _only(self, **needed: bool) -> None:
        # A field a model does not use is refused rather than ignored: a tiered charge that
        # also carries a unit_price is ambiguous, and one of the two would be silently wrong.
        for name, needs in needed.items():
            value = getattr(self, name)
            present = value != () if name == "tiers" else value is not None
            if needs and not present:
                raise ValueError(f"a {self.model} charge needs {name}")
            if present and not needs:
                raise ValueError(f"a {self.model} charge takes no {name}")

    def _check_tiers(self) -> None:
        for tier in self.tiers:
            if not isinstance(tier, PriceTier):
                raise ValueError(f"tiers must be PriceTier values, got {tier!r}")
        if self.tiers[-1].up_to is not None:
            raise ValueError("tiers must end with an unbounded tier (up_to None)")
        bounds = [t.up_to for t in self.tiers[:-1] if t.up_to is not None]
        if len(bounds) != len(self.tiers) - 1:
            raise ValueError("tiers: only the last tier may be unbounded (up_to None)")
        for lower, upper in pairwise(bounds):
            if upper <= lower:
                raise ValueError(f"tiers must ascend: up_to {upper} follows {lower}")

    @classmethod
    def per_unit(cls, unit_price: Decimal) -> Charge:
        """quantity × unit_price."""
        return cls(ChargeModel.PER_UNIT, unit_price=unit_price)

    @classmethod
    def graduated(cls, *tiers: PriceTier) -> Charge:
        """Each part of the quantity at its own tier's price, + flat fees of tiers reached."""
        return cls(ChargeModel.GRADUATED, tiers=tiers)

    @classmethod
    def volume(cls, *tiers: PriceTier) -> Charge:
        """The whole quantity at the price of the tier the total falls in, + its flat fee."""
        return cls(ChargeModel.VOLUME, tiers=tiers)

    @classmethod
    def package(cls, size: Decimal, price: Decimal) -> Charge:
        """price per started package of `size` units."""
        return cls(ChargeModel.PACKAGE, package_size=size, package_price=price)


def charge_amount(charge: Charge, quantity: Decimal) -> Decimal:
    """The exact (unrounded) amount a charge asks for a quantity."""
    return scaled_charge_amount(charge, quantity, ONE)


def scaled_charge_amount(charge: Charge, quantity: Decimal, per: Decimal) -> Decimal:
    """charge_amount(charge, quantity / per) × per, computed without dividing (exactly).

    For a quantity counted in a finer unit than the price's: GPU-seconds against a price per
    GPU-hour use per = 3600. Tier bounds and package sizes are scaled up instead.
    """
    _require_amount(quantity, "quantity")
    _require_amount(per, "per", positive=True)
    with exact_arithmetic():
        if quantity == 0:
            return ZERO
        if charge.model is ChargeModel.PER_UNIT:
            assert charge.unit_price is not None
            return quantity * charge.unit_price
        if charge.model is ChargeModel.GRADUATED:
            return _graduated(charge.tiers, quantity, per)
        if charge.model is ChargeModel.VOLUME:
            tier = volume_tier(charge, quantity, per)
            assert tier is not None
            return quantity * tier.unit_price + tier.flat_fee * per
        assert charge.package_size is not None and charge.package_price is not None
        return packages(quantity, charge.package_size * per) * charge.package_price * per


def volume_tier(charge: Charge, quantity: Decimal, per: Decimal = ONE) -> PriceTier | None:
    """The tier a total quantity (counted in units of 1/per) falls in; None for zero."""
    if quantity == 0:
        return None
    for tier in charge.tiers:
        if tier.up_to is None or quantity <= tier.up_to * per:
            return tier
    raise AssertionError("validated tiers end with an unbounded one")  # pragma: no cover


def packages(quantity: Decimal, size: Decimal) -> Decimal:
    """How many packages of `size` a quantity starts: ceil(quantity / size), exactly."""
    whole, rest = divmod(quantity, size)
    return whole + 1 if rest else whole


def _graduated(tiers: tuple[PriceTier, ...], quantity: Decimal, per: Decimal) -> Decimal:
    amount = ZERO
    lower = ZERO
    for tier in tiers:
        if quantity <= lower:
            break
        upper = None if tier.up_to is None else tier.up_to * per
        inside = quantity - lower if upper is None else min(quantity, upper) - lower
        amount += inside * tier.unit_price + tier.flat_fee * per
        if upper is None:
            break
        lower = upper
    return amount
