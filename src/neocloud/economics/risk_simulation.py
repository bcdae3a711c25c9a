"""The vectorised Monte Carlo behind margin at risk: scenarios × months as numpy float64 arrays.

Every formula here is written out in docs/economics.md (## Margin at risk). The simulation is an
estimate, so it runs in binary floating point; run_risk turns its results into cents.
Random numbers are drawn in a fixed order from one generator, so a seed fixes every figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from neocloud.domain.money import HOURS_PER_YEAR
from neocloud.economics.risk_costs import TypeCost
from neocloud.economics.risk_scenario import GpuTypeScenario, Scenario, UsefulLife

Floats = npt.NDArray[np.float64]

MONTHS_PER_YEAR = 12
HOURS_PER_MONTH = float(HOURS_PER_YEAR) / MONTHS_PER_YEAR  # 730
# Internal growth below −99 % a year is clipped: ln(1 + growth) must stay finite.
MIN_GROWTH = -0.99


@dataclass(frozen=True, slots=True, eq=False)
class Paths:
    """What the simulation produced: per-scenario totals over the horizon, and per month.

    Totals are arrays of shape (scenarios,); monthly_margins has shape (scenarios, months).
    margins = revenue − external_cost − idle_cost, scenario by scenario.
    """

    margins: Floats
    revenue: Floats
    external_cost: Floats
    idle_cost: Floats
    external_gpu_hours: Floats
    internal_gpu_hours: Floats
    idle_gpu_hours: Floats
    monthly_margins: Floats
    # The sampled inputs, one value per scenario each, by name (for the sensitivity table).
    inputs: dict[str, Floats]


@dataclass(slots=True)
class _Totals:
    """Running per-scenario sums over GPU types."""

    revenue: Floats
    external_cost: Floats
    idle_cost: Floats
    external_gpu_hours: Floats
    internal_gpu_hours: Floats
    idle_gpu_hours: Floats
    monthly_margins: Floats


def simulate(
    costs: Mapping[str, TypeCost],
    scenario: Scenario,
    *,
    months: int,
    scenarios: int,
    rng: np.random.Generator,
) -> Paths:
    """Sample every input and compute each scenario's monthly and total margin."""
    shape = (scenarios, months)
    life = _useful_life(rng, scenario.useful_life, scenarios)
    growth = np.maximum(
        _normal(
            rng,
            float(scenario.internal_growth_per_year),
            float(scenario.internal_growth_spread),
            scenarios,
        ),
        MIN_GROWTH,
    )
    electricity = _lognormal_mean_one(rng, float(scenario.electricity_price_volatility), scenarios)
    # Month t starts t/12 years from now; internal demand has grown by (1 + growth)^(t/12).
    years = np.arange(months, dtype=np.float64) / MONTHS_PER_YEAR
    internal_growth = np.exp(np.multiply.outer(np.log1p(growth), years))

    totals = _Totals(
        revenue=np.zeros(scenarios),
        external_cost=np.zeros(scenarios),
        idle_cost=np.zeros(scenarios),
        external_gpu_hours=np.zeros(scenarios),
        internal_gpu_hours=np.zeros(scenarios),
        idle_gpu_hours=np.zeros(scenarios),
        monthly_margins=np.zeros(shape),
    )
    inputs: dict[str, Floats] = {}
    for gpu_type in sorted(costs):
        entry = scenario.gpu_types[gpu_type]
        price, demand = _gpu_type(
            rng, costs[gpu_type], entry, life, electricity, internal_growth, totals
        )
        inputs[f"{gpu_type} price"] = price
        inputs[f"{gpu_type} external demand"] = demand
    inputs["internal growth"] = growth
    inputs["electricity price"] = electricity
    inputs["useful life"] = life
    return Paths(
        margins=totals.revenue - totals.external_cost - totals.idle_cost,
        revenue=totals.revenue,
        external_cost=totals.external_cost,
        idle_cost=totals.idle_cost,
        external_gpu_hours=totals.external_gpu_hours,
        internal_gpu_hours=totals.internal_gpu_hours,
        idle_gpu_hours=totals.idle_gpu_hours,
        monthly_margins=totals.monthly_margins,
        inputs=inputs,
    )


def _gpu_type(
    rng: np.random.Generator,
    cost: TypeCost,
    entry: GpuTypeScenario,
    life: Floats,
    electricity: Floats,
    internal_growth: Floats,
    totals: _Totals,
) -> tuple[Floats, Floats]:
    """Add one GPU type's flows to totals; return its mean price and mean demand per scenario."""
    scenarios, months = internal_growth.shape
    capacity_hours = cost.gpus * HOURS_PER_MONTH
    depreciation = float(cost.depreciation_years) / life
    fixed = depreciation + float(cost.other_fixed)
    busy_rate = fixed + float(cost.busy_energy) * electricity  # per busy GPU-hour, (S,)
    idle_rate = fixed + float(cost.idle_energy) * electricity  # per idle GPU-hour, (S,)

    # Internal work comes first: u = min(1, u0 × growth); external may hold min(cap, 1 − u).
    internal = np.minimum(float(entry.internal_utilisation) * internal_growth, 1.0)
    sellable = np.minimum(float(entry.sellable_cap), 1.0 - internal)
    demand = _demand(rng, entry, scenarios, months)
    external = sellable * demand  # external GPU-hours as a fraction of capacity
    idle = 1.0 - internal - external
    price = _price_path(rng, entry, scenarios, months)

    revenue_per_month = external * price
    monthly = revenue_per_month - external * busy_rate[:, None] - idle * idle_rate[:, None]
    monthly *= capacity_hours
    totals.monthly_margins += monthly

    external_hours = external.sum(axis=1) * capacity_hours
    idle_hours = idle.sum(axis=1) * capacity_hours
    totals.revenue += revenue_per_month.sum(axis=1) * capacity_hours
    totals.external_cost += external_hours * busy_rate
    totals.idle_cost += idle_hours * idle_rate
    totals.external_gpu_hours += external_hours
    totals.internal_gpu_hours += internal.sum(axis=1) * capacity_hours
    totals.idle_gpu_hours += idle_hours
    mean_price: Floats = price.mean(axis=1)
    mean_demand: Floats = demand.mean(axis=1)
    return mean_price, mean_demand


def _demand(
    rng: np.random.Generator, entry: GpuTypeScenario, scenarios: int, months: int
) -> Floats:
    """External demand per scenario and month: a scenario level plus month noise, in [0, 1]."""
    level = _normal(
        rng, float(entry.external_demand), float(entry.external_demand_volatility), scenarios
    )
    noise = rng.standard_normal((scenarios, months))
    noise *= float(entry.external_demand_month_noise)
    noise += level[:, None]
    return np.clip(noise, 0.0, 1.0, out=noise)


def _price_path(
    rng: np.random.Generator, entry: GpuTypeScenario, scenarios: int, months: int
) -> Floats:
    """Geometric Brownian motion, monthly steps, month 0 at today's price.

    ln P(t+1) − ln P(t) = (ln(1 + drift) − σ²/2)/12 + σ/√12 × Z, so E[P after a year] =
    P0 × (1 + drift).
    """
    sigma = float(entry.price_volatility)
    mu = math.log1p(float(entry.price_drift_per_year))
    step_mean = (mu - sigma * sigma / 2) / MONTHS_PER_YEAR
    step_sd = sigma / math.sqrt(MONTHS_PER_YEAR)
    log_path = np.empty((scenarios, months))
    log_path[:, 0] = 0.0
    steps = rng.standard_normal((scenarios, months - 1))
    steps *= step_sd
    steps += step_mean
    np.cumsum(steps, axis=1, out=log_path[:, 1:])
    np.exp(log_path, out=log_path)
    log_path *= float(entry.price_per_gpu_hour)
    return log_path


def _useful_life(rng: np.random.Generator, life: UsefulLife, scenarios: int) -> Floats:
    low, mode, high = float(life.low), float(life.mode), float(life.high)
    if low == high:
        return np.full(scenarios, low)
    return rng.triangular(low, mode, high, scenarios)


def _normal(rng: np.random.Generator, mean: float, spread: float, size: int) -> Floats:
    values = rng.standard_normal(size)
    values *= spread
    values += mean
    return values


def _lognormal_mean_one(rng: np.random.Generator, sigma: float, size: int) -> Floats:
    """exp(σZ − σ²/2): a multiplier with mean 1 and log-volatility σ."""
    values = rng.standard_normal(size)
    values *= sigma
    values -= sigma * sigma / 2
    return np.exp(values, out=values)
