"""The inputs of a margin-at-risk run: what is known today and how each uncertain input may move.

A Scenario is plain data with every value checked on construction, so the simulation never sees a
negative price or a fraction outside [0, 1], whether the Scenario came from a file or from code.
The ranges live here once; the scenario-file reader reports them with the file's paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Range:
    """The values a scenario input may take: low/high bounds, low optionally exclusive."""

    low: Decimal | None = None
    high: Decimal | None = None
    low_exclusive: bool = False

    def violation(self, value: Decimal) -> str | None:
        """Why value is out of range, or None when it is in range."""
        if not value.is_finite():
            return "must be a finite number"
        too_low = self.low is not None and (
            value <= self.low if self.low_exclusive else value < self.low
        )
        too_high = self.high is not None and value > self.high
        if not (too_low or too_high):
            return None
        if self.low is not None and self.high is not None:
            opening = "greater than" if self.low_exclusive else "between"
            if self.low_exclusive:
                return f"must be {opening} {self.low} and at most {self.high}"
            return f"must be {opening} {self.low} and {self.high}"
        if self.low is not None:
            return f"must be {'>' if self.low_exclusive else '>='} {self.low}"
        return f"must be <= {self.high}"


_D = Decimal
FRACTION = Range(_D(0), _D(1))
# Upper bounds are sanity limits: far beyond any market seen, and they keep exp() finite.
GPU_TYPE_RANGES: Mapping[str, Range] = {
    "price_per_gpu_hour": Range(_D(0), _D(10_000)),
    "price_drift_per_year": Range(_D(-1), _D(10), low_exclusive=True),
    "price_volatility": Range(_D(0), _D(5)),
    "sellable_cap": FRACTION,
    "internal_utilisation": FRACTION,
    "external_demand": FRACTION,
    "external_demand_volatility": FRACTION,
    "external_demand_month_noise": FRACTION,
}
SCENARIO_RANGES: Mapping[str, Range] = {
    "internal_growth_per_year": Range(_D(-1), _D(10), low_exclusive=True),
    "internal_growth_spread": Range(_D(0), _D(10)),
    "electricity_price_volatility": Range(_D(0), _D(5)),
}
USEFUL_LIFE_RANGE = Range(_D(0), _D(50), low_exclusive=True)


class ScenarioError(ValueError):
    """A scenario value out of its range; `field` names it (e.g. `gpu_types.h100.sellable_cap`)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def _check(owner: object, ranges: Mapping[str, Range], prefix: str) -> None:
    for name, bound in ranges.items():
        value = getattr(owner, name)
        if isinstance(value, bool) or not isinstance(value, Decimal):
            raise ScenarioError(f"{prefix}{name}", f"must be a Decimal, got {type(value).__name__}")
        reason = bound.violation(value)
        if reason is not None:
            raise ScenarioError(f"{prefix}{name}", reason)


@dataclass(frozen=True, slots=True)
class GpuTypeScenario:
    """How one GPU type's market and demand may move (defaults: docs/economics.md)."""

    # Today's external rental price per GPU-hour (an on-demand-like average), fleet currency.
    price_per_gpu_hour: Decimal
    # Expected yearly change of that price: -0.20 means a year from now it is 20 % lower on
    # average (geometric Brownian motion with drift ln(1 + this)).
    price_drift_per_year: Decimal = Decimal("-0.20")
    # Annualised volatility of the price's logarithm.
    price_volatility: Decimal = Decimal("0.30")
    # Fraction of the type's GPUs external work may hold (DESIGN.md §4).
    sellable_cap: Decimal = Decimal("0.30")
    # Internal teams' share of the type's GPU-hours today; it grows with internal growth.
    internal_utilisation: Decimal = Decimal("0.60")
    # Mean external demand as a fraction of what may be sold (the sellable capacity).
    external_demand: Decimal = Decimal("0.80")
    # Spread (standard deviation) of a scenario's demand level around that mean.
    external_demand_volatility: Decimal = Decimal("0.15")
    # Month-to-month spread of demand around the scenario's level.
    external_demand_month_noise: Decimal = Decimal("0.05")

    def __post_init__(self) -> None:
        _check(self, GPU_TYPE_RANGES, "")


@dataclass(frozen=True, slots=True)
class UsefulLife:
    """The useful life of the hardware, in years, as a triangular distribution."""

    low: Decimal
    mode: Decimal
    high: Decimal

    def __post_init__(self) -> None:
        _check(self, dict.fromkeys(("low", "mode", "high"), USEFUL_LIFE_RANGE), "")
        if not self.low <= self.mode <= self.high:
            raise ScenarioError("mode", f"must be between low ({self.low}) and high ({self.high})")


@dataclass(frozen=True, slots=True)
class Scenario:
    """Every input of a margin-at-risk run: per GPU type, plus what the whole fleet shares."""

    gpu_types: Mapping[str, GpuTypeScenario]
    useful_life: UsefulLife
    # Mean yearly growth of internal demand (0.10 = internal GPU-hours grow 10 % a year).
    internal_growth_per_year: Decimal = Decimal("0.10")
    # Spread (standard deviation) of that yearly growth across scenarios.
    internal_growth_spread: Decimal = Decimal("0.10")
    # Volatility of the electricity price multiplier (lognormal with mean 1).
    electricity_price_volatility: Decimal = Decimal("0.20")

    def __post_init__(self) -> None:
        _check(self, SCENARIO_RANGES, "")
        for gpu_type, entry in self.gpu_types.items():
            if not isinstance(entry, GpuTypeScenario):
                raise ScenarioError(f"gpu_types.{gpu_type}", "must be a GpuTypeScenario")
        if not isinstance(self.useful_life, UsefulLife):
            raise ScenarioError("useful_life", "must be a UsefulLife")


GPU_TYPE_KEYS = tuple(f.name for f in fields(GpuTypeScenario))
USEFUL_LIFE_KEYS = tuple(f.name for f in fields(UsefulLife))
SCENARIO_KEYS = tuple(f.name for f in fields(Scenario))
