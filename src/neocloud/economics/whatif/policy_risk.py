"""Margin at risk of a policy: risk.run_risk seeded from the policy and the utilisation replayed.

The scenario starts from risk's documented defaults (default_scenario) and takes, per GPU type:

- sellable_cap: the policy's cap (0 for a type the policy does not sell);
- price_per_gpu_hour: the average price external work paid in the replay (revenue / external
  GPU-hours of the type); without external usage, the on-demand price, else the highest price
  the policy offers for the type;
- internal_utilisation: internal GPU-hours / capacity GPU-hours of the type, as replayed;
- external_demand: external GPU-hours / sellable GPU-hours (cap × capacity), as replayed and
  at most 1; the default when the type is not sold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import Tier
from neocloud.economics.risk.defaults import default_scenario
from neocloud.economics.risk.margin_at_risk import RiskResult, run_risk
from neocloud.economics.risk.scenario import GpuTypeScenario, Scenario
from neocloud.economics.whatif.figures import RunFigures, TypeFigures
from neocloud.economics.whatif.policy import SellingPolicy

DEFAULT_RISK_MONTHS = 36
DEFAULT_RISK_SCENARIOS = 10_000
DEFAULT_RISK_SEED = 0
HISTOGRAM_BINS = 40
_PLACES = Decimal("0.0001")
_ONE = Decimal(1)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class MarginHistogram:
    """The distribution of horizon margins: bin edges (len(counts) + 1) and counts."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


def policy_scenario(fleet: Fleet, policy: SellingPolicy, run: RunFigures) -> Scenario:
    """The default scenario with the policy's caps and prices and the replay's utilisation."""
    scenario = default_scenario(fleet)
    types = {row.gpu_type: row for row in run.by_gpu_type}
    seeded: dict[str, GpuTypeScenario] = {}
    for gpu_type, entry in scenario.gpu_types.items():
        sold = policy.gpu_types.get(gpu_type)
        row = types.get(gpu_type)
        cap = sold.sellable_cap if sold is not None else _ZERO
        changes: dict[str, Decimal] = {"sellable_cap": cap}
        if row is not None and row.capacity_gpu_hours > 0:
            changes["internal_utilisation"] = _share(row.internal_gpu_hours, row.capacity_gpu_hours)
            if cap > 0:
                room = cap * row.capacity_gpu_hours
                changes["external_demand"] = _share(row.external_gpu_hours, room)
        if sold is not None:
            changes["price_per_gpu_hour"] = _price(sold.prices, row)
        seeded[gpu_type] = replace(entry, **changes)
    return replace(scenario, gpu_types=seeded)


def policy_risk(
    fleet: Fleet,
    policy: SellingPolicy,
    run: RunFigures,
    *,
    months: int = DEFAULT_RISK_MONTHS,
    scenarios: int = DEFAULT_RISK_SCENARIOS,
    seed: int = DEFAULT_RISK_SEED,
) -> RiskResult:
    """Monte Carlo of the margin of selling under the policy (risk.run_risk, seeded)."""
    scenario = policy_scenario(fleet, policy, run)
    return run_risk(fleet, scenario, months=months, scenarios=scenarios, seed=seed)


def histogram(result: RiskResult, bins: int = HISTOGRAM_BINS) -> MarginHistogram:
    """Counts of scenario margins in equal-width bins over their range."""
    counts, edges = np.histogram(result.margins, bins=bins)
    return MarginHistogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts))


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return min(_ONE, max(_ZERO, part / whole)).quantize(_PLACES)


def _price(prices: Mapping[Tier, Decimal], row: TypeFigures | None) -> Decimal:
    if row is not None and row.external_gpu_hours > 0:
        return (row.revenue / row.external_gpu_hours).quantize(_PLACES)
    if Tier.ON_DEMAND in prices:
        return prices[Tier.ON_DEMAND]
    return max(prices.values(), default=_ZERO)
