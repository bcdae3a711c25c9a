"""Margin at risk: how far the selling business's gross margin can fall under plausible futures.

run_risk samples GPU rental price paths, external demand, internal demand growth, the electricity
price and the useful life (simulation.py), then reports the distribution of the horizon's gross
margin: expected, P5/P50/P95, probability of a loss, MaR(5 %) = expected − P5, per-month bands
and which input moves margin most (sensitivity.py). The model: docs/economics.md.

Money figures are rounded half-up to the cent as Decimals; the samples themselves stay float64
(an estimate, not an invoice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from neocloud.domain.fleet import Fleet
from neocloud.domain.money import to_cents
from neocloud.economics.risk.costs import TypeCost, fleet_currency, type_costs
from neocloud.economics.risk.defaults import default_scenario
from neocloud.economics.risk.scenario import (
    GpuTypeScenario,
    Scenario,
    ScenarioError,
    UsefulLife,
)
from neocloud.economics.risk.sensitivity import input_effects
from neocloud.economics.risk.simulation import HOURS_PER_MONTH, simulate

Floats = npt.NDArray[np.float64]

PERCENTILES = (5.0, 50.0, 95.0)
# A century: beyond any useful horizon, and it keeps every price path finite in float64.
MAX_MONTHS = 1200
# Probabilities and correlations are shown to 4 decimal places.
_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class SensitivityRow:
    """One sampled input: its rank correlation with margin and its swing (top − bottom decile)."""

    input: str
    rank_correlation: Decimal
    swing: Decimal
    bottom_decile_margin: Decimal
    top_decile_margin: Decimal


@dataclass(frozen=True, slots=True)
class MonthBand:
    """The spread of one month's gross margin across scenarios (month 1 is the first)."""

    month: int
    expected: Decimal
    p5: Decimal
    p50: Decimal
    p95: Decimal


@dataclass(frozen=True, slots=True, eq=False)
class RiskResult:
    """The distribution of the horizon's gross margin, in the fleet's currency.

    margins holds every scenario's total margin over the horizon (float64, shape (scenarios,));
    revenue, external_cost and idle_cost add up to it scenario by scenario. added_margins holds
    what selling adds over leaving the same GPUs idle (fixed cost is paid either way). The
    Decimal figures are rounded to the cent.
    """

    currency: str
    months: int
    scenarios: int
    seed: int
    margins: Floats
    revenue: Floats
    external_cost: Floats
    idle_cost: Floats
    external_gpu_hours: Floats
    internal_gpu_hours: Floats
    idle_gpu_hours: Floats
    held_back_gpu_hours: Floats
    added_margins: Floats
    capacity_gpu_hours: Decimal
    expected_margin: Decimal
    p5_margin: Decimal
    p50_margin: Decimal
    p95_margin: Decimal
    probability_of_loss: Decimal
    margin_at_risk: Decimal
    expected_revenue: Decimal
    expected_external_cost: Decimal
    expected_idle_cost: Decimal
    expected_added_margin: Decimal
    p5_added_margin: Decimal
    p50_added_margin: Decimal
    p95_added_margin: Decimal
    # The share of futures in which selling earns less than the extra energy it burns.
    probability_selling_loses: Decimal
    sensitivity: list[SensitivityRow]
    monthly: list[MonthBand]


def run_risk(
    fleet: Fleet, scenario: Scenario, *, months: int, scenarios: int, seed: int
) -> RiskResult:
    """Monte Carlo of the selling business's gross margin over `months`, `scenarios` futures."""
    _check_counts(months, scenarios, seed)
    costs = type_costs(fleet)
    _check_gpu_types(costs, scenario)
    paths = simulate(
        costs,
        scenario,
        months=months,
        scenarios=scenarios,
        rng=np.random.default_rng(seed),
    )
    margins = paths.margins
    p5, p50, p95 = (float(v) for v in np.percentile(margins, PERCENTILES))
    expected = float(margins.mean())
    bands = np.percentile(paths.monthly_margins, PERCENTILES, axis=1)
    monthly_mean = paths.monthly_margins.mean(axis=1)
    losses = int(np.count_nonzero(margins < 0))
    added = paths.added_margins
    a5, a50, a95 = (float(v) for v in np.percentile(added, PERCENTILES))
    return RiskResult(
        currency=fleet_currency(fleet),
        months=months,
        scenarios=scenarios,
        seed=seed,
        margins=margins,
        revenue=paths.revenue,
        external_cost=paths.external_cost,
        idle_cost=paths.idle_cost,
        external_gpu_hours=paths.external_gpu_hours,
        internal_gpu_hours=paths.internal_gpu_hours,
        idle_gpu_hours=paths.idle_gpu_hours,
        held_back_gpu_hours=paths.held_back_gpu_hours,
        added_margins=added,
        capacity_gpu_hours=Decimal(sum(c.gpus for c in costs.values()))
        * Decimal(HOURS_PER_MONTH)
        * months,
        expected_margin=cents(expected),
        p5_margin=cents(p5),
        p50_margin=cents(p50),
        p95_margin=cents(p95),
        probability_of_loss=(Decimal(losses) / Decimal(scenarios)).quantize(_FOUR_PLACES),
        # From the unrounded figures, so MaR is the cents of expected − P5 exactly as defined.
        margin_at_risk=cents(expected - p5),
        expected_revenue=cents(float(paths.revenue.mean())),
        expected_external_cost=cents(float(paths.external_cost.mean())),
        expected_idle_cost=cents(float(paths.idle_cost.mean())),
        expected_added_margin=cents(float(added.mean())),
        p5_added_margin=cents(a5),
        p50_added_margin=cents(a50),
        p95_added_margin=cents(a95),
        probability_selling_loses=(
            Decimal(int(np.count_nonzero(added < 0))) / Decimal(scenarios)
        ).quantize(_FOUR_PLACES),
        sensitivity=[
            SensitivityRow(
                input=e.input,
                rank_correlation=Decimal(e.rank_correlation).quantize(_FOUR_PLACES),
                swing=cents(e.swing),
                bottom_decile_margin=cents(e.bottom_decile_margin),
                top_decile_margin=cents(e.top_decile_margin),
            )
            for e in input_effects(paths.inputs, margins)
        ],
        monthly=[
            MonthBand(
                month=t + 1,
                expected=cents(float(monthly_mean[t])),
                p5=cents(float(bands[0, t])),
                p50=cents(float(bands[1, t])),
                p95=cents(float(bands[2, t])),
            )
            for t in range(months)
        ],
    )


def _check_counts(months: int, scenarios: int, seed: int) -> None:
    """Raise ValueError unless months, scenarios and seed are whole numbers in range."""
    for name, value, most in (("months", months, MAX_MONTHS), ("scenarios", scenarios, None)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if most is not None and value > most:
            raise ValueError(f"{name} must be at most {most}, got {value}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")


def _check_gpu_types(costs: Mapping[str, TypeCost], scenario: Scenario) -> None:
    """Raise ScenarioError unless the scenario covers exactly the fleet's GPU types."""
    missing = sorted(set(costs) - set(scenario.gpu_types))
    if missing:
        raise ScenarioError("gpu_types", f"no scenario for GPU type(s) {', '.join(missing)}")
    extra = sorted(set(scenario.gpu_types) - set(costs))
    if extra:
        raise ScenarioError("gpu_types", f"GPU type(s) not in the fleet: {', '.join(extra)}")


def cents(value: float) -> Decimal:
    """A float estimate as Decimal money, rounded half-up to the cent."""
    return to_cents(Decimal(value))


__all__ = [
    "MAX_MONTHS",
    "GpuTypeScenario",
    "MonthBand",
    "RiskResult",
    "Scenario",
    "ScenarioError",
    "SensitivityRow",
    "UsefulLife",
    "default_scenario",
    "run_risk",
]
