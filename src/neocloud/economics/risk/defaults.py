"""Default margin-at-risk inputs, each with where it comes from (docs/economics.md lists them).

These are starting points for a provider that has not measured its own figures yet; a scenario
file (docs/examples/scenario.yaml) replaces any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.fleet import Fleet
from neocloud.economics.risk.costs import type_costs
from neocloud.economics.risk.scenario import GpuTypeScenario, Scenario, UsefulLife


@dataclass(frozen=True, slots=True)
class MarketDefault:
    """Today's rental price of a GPU type and how it is assumed to move."""

    price_per_gpu_hour: Decimal
    price_drift_per_year: Decimal
    price_volatility: Decimal


_D = Decimal
# Rental prices per GPU-hour in USD, 2025–26 on-demand-like averages. H100: ~$2–3/h in 2025–26
# after ~$8/h in 2023 (DESIGN.md §5), i.e. a fall of ~40 % a year; the default drift assumes the
# fall slows to 20 % a year as supply catches up. The other types are set relative to the H100
# in line with GPU clouds' 2025 list prices (assumptions: set your own in a scenario file).
MARKET: dict[str, MarketDefault] = {
    "a100": MarketDefault(_D("1.20"), _D("-0.15"), _D("0.25")),
    "h100": MarketDefault(_D("2.50"), _D("-0.20"), _D("0.30")),
    "h200": MarketDefault(_D("3.50"), _D("-0.20"), _D("0.30")),
    "b200": MarketDefault(_D("5.00"), _D("-0.25"), _D("0.35")),
    "mi300x": MarketDefault(_D("2.00"), _D("-0.20"), _D("0.30")),
}
# A GPU type with no market default is priced so that a fully used GPU earns the gross margin
# CoreWeave reported for 1H 2025 (~18 %): price = full cost / (1 − 0.18).
DEFAULT_TARGET_MARGIN = _D("0.18")
DEFAULT_DRIFT = _D("-0.20")
DEFAULT_VOLATILITY = _D("0.30")
# The useful-life range spans the lives hyperscalers book for servers (Amazon 5 y for some AI
# servers, Meta 5.5 y, Microsoft and Alphabet 6 y) with room either side; the mode is the life
# the fleet's own node models declare.
LIFE_LOW = _D(4)
LIFE_HIGH = _D(7)
# Meta's 5.5 years, for a fleet with no nodes (nothing to take a life from).
FALLBACK_LIFE = _D("5.5")
_PRICE_PLACES = _D("0.01")
_LIFE_PLACES = _D("0.01")


def default_scenario(fleet: Fleet) -> Scenario:
    """Documented defaults for every GPU type present in the fleet."""
    costs = type_costs(fleet)
    gpu_types: dict[str, GpuTypeScenario] = {}
    for gpu_type, cost in costs.items():
        market = MARKET.get(gpu_type)
        if market is None:
            price = cost.total_at(cost.life_years) / (1 - DEFAULT_TARGET_MARGIN)
            market = MarketDefault(price.quantize(_PRICE_PLACES), DEFAULT_DRIFT, DEFAULT_VOLATILITY)
        gpu_types[gpu_type] = GpuTypeScenario(
            price_per_gpu_hour=market.price_per_gpu_hour,
            price_drift_per_year=market.price_drift_per_year,
            price_volatility=market.price_volatility,
        )
    total_gpus = sum(c.gpus for c in costs.values())
    weighted_life = sum((c.life_years * c.gpus for c in costs.values()), _D(0))
    mode = (weighted_life / total_gpus).quantize(_LIFE_PLACES) if total_gpus else FALLBACK_LIFE
    life = UsefulLife(low=min(LIFE_LOW, mode), mode=mode, high=max(LIFE_HIGH, mode))
    return Scenario(gpu_types=gpu_types, useful_life=life)
