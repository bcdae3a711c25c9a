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
from neocloud.economics.risk.costs import TypeCost
from neocloud.economics.risk.scenario import GpuTypeScenario, Scenario, UsefulLife

Floats = npt.NDArray[np.float64]

MONTHS_PER_YEAR = 12
HOURS_PER_MONTH = float(HOURS_PER_YEAR) / MONTHS_PER_YEAR  # 730
# Internal growth below −99 % a year is clipped: ln(1 + growth) must stay finite.
MIN_GROWTH = -0.99
# Scenarios are simulated in blocks of about this many scenario-months (2 MB per array), so
# the working arrays stay in cache and are reused instead of being faulted in afresh. Arrays
# are months × scenarios: a row is one month, so running sums over months add whole rows.
CELLS_PER_BLOCK = 1 << 18


@dataclass(frozen=True, slots=True, eq=False)
class Paths:
    """What the simulation produced: per-scenario totals over the horizon, and per month.

    Totals are arrays of shape (scenarios,); monthly_margins has shape (months, scenarios)
    (one row per month). margins = revenue − external_cost − idle_cost, scenario by scenario.
    Idle is the sellable capacity left unsold; capacity above the cap that internal work did not
    use is held back (internal's headroom, not the selling business's cost). added_margins is
    what selling adds over leaving the same GPUs idle: revenue − external hours × (busy − idle
    rate), since the fixed cost is paid either way.
    """

    margins: Floats
    revenue: Floats
    external_cost: Floats
    idle_cost: Floats
    external_gpu_hours: Floats
    internal_gpu_hours: Floats
    idle_gpu_hours: Floats
    held_back_gpu_hours: Floats
    added_margins: Floats
    monthly_margins: Floats
    # The sampled inputs, one value per scenario each, by name (for the sensitivity table).
    inputs: dict[str, Floats]


def simulate(
    costs: Mapping[str, TypeCost],
    scenario: Scenario,
    *,
    months: int,
    scenarios: int,
    rng: np.random.Generator,
) -> Paths:
    """Sample every input and compute each scenario's monthly and total margin."""
    gpu_types = sorted(costs)
    names = [f"{g} {what}" for g in gpu_types for what in ("price", "external demand")]
    names += ["internal growth", "electricity price", "useful life"]
    paths = Paths(
        margins=np.zeros(scenarios),
        revenue=np.zeros(scenarios),
        external_cost=np.zeros(scenarios),
        idle_cost=np.zeros(scenarios),
        external_gpu_hours=np.zeros(scenarios),
        internal_gpu_hours=np.zeros(scenarios),
        idle_gpu_hours=np.zeros(scenarios),
        held_back_gpu_hours=np.zeros(scenarios),
        added_margins=np.zeros(scenarios),
        monthly_margins=np.zeros((months, scenarios)),
        inputs={name: np.empty(scenarios) for name in names},
    )
    # Month t starts t/12 years from now.
    years = np.arange(months, dtype=np.float64) / MONTHS_PER_YEAR
    rows = max(1, CELLS_PER_BLOCK // months)
    for start in range(0, scenarios, rows):
        block = slice(start, min(scenarios, start + rows))
        _block(rng, costs, scenario, years, paths, block)
    np.subtract(paths.revenue, paths.external_cost, out=paths.margins)
    np.subtract(paths.margins, paths.idle_cost, out=paths.margins)
    return paths


def _block(
    rng: np.random.Generator,
    costs: Mapping[str, TypeCost],
    scenario: Scenario,
    years: Floats,
    paths: Paths,
    block: slice,
) -> None:
    """Simulate the scenarios of one block, writing their rows of paths."""
    n = block.stop - block.start
    life = _useful_life(rng, scenario.useful_life, n)
    growth = np.maximum(
        _normal(
            rng,
            float(scenario.internal_growth_per_year),
            float(scenario.internal_growth_spread),
            n,
        ),
        MIN_GROWTH,
    )
    electricity = _lognormal_mean_one(rng, float(scenario.electricity_price_volatility), n)
    # Internal demand has grown by (1 + growth)^(t/12) at the start of month t.
    internal_growth = np.exp(np.multiply.outer(years, np.log1p(growth)))
    for gpu_type in sorted(costs):
        price, demand = _gpu_type(
            rng,
            costs[gpu_type],
            scenario.gpu_types[gpu_type],
            life,
            electricity,
            internal_growth,
            paths,
            block,
        )
        paths.inputs[f"{gpu_type} price"][block] = price
        paths.inputs[f"{gpu_type} external demand"][block] = demand
    paths.inputs["internal growth"][block] = growth
    paths.inputs["electricity price"][block] = electricity
    paths.inputs["useful life"][block] = life


def _gpu_type(
    rng: np.random.Generator,
    cost: TypeCost,
    entry: GpuTypeScenario,
    life: Floats,
    electricity: Floats,
    internal_growth: Floats,
    paths: Paths,
    block: slice,
) -> tuple[Floats, Floats]:
    """Add one GPU type's flows to the block's rows; return its mean price and demand."""
    months, n = internal_growth.shape
    capacity_hours = cost.gpus * HOURS_PER_MONTH
    fixed = float(cost.depreciation_years) / life + float(cost.other_fixed)
    busy_rate = fixed + float(cost.busy_energy) * electricity  # per busy GPU-hour
    idle_rate = fixed + float(cost.idle_energy) * electricity  # per idle GPU-hour

    # Internal work comes first: u = min(1, u0 × growth); external may hold min(cap, 1 − u).
    internal = np.minimum(float(entry.internal_utilisation) * internal_growth, 1.0)
    sellable = np.minimum(float(entry.sellable_cap), 1.0 - internal)
    demand = _demand(rng, entry, n, months)
    external = sellable * demand  # external GPU-hours as a fraction of capacity
    # What the cap keeps back beyond internal use is internal's headroom, not unsold stock.
    held_back = 1.0 - internal - sellable
    idle = sellable  # reuses the buffer: sellable is not needed any more
    idle -= external
    price = _price_path(rng, entry, n, months)
    revenue = price * external

    # Month by month: capacity hours × (revenue − external × busy rate − idle × idle rate).
    margin = external * busy_rate
    np.subtract(revenue, margin, out=margin)
    margin -= idle * idle_rate
    margin *= capacity_hours
    paths.monthly_margins[:, block] += margin

    external_hours = external.sum(axis=0) * capacity_hours
    idle_hours = idle.sum(axis=0) * capacity_hours
    revenue_total = revenue.sum(axis=0) * capacity_hours
    paths.revenue[block] += revenue_total
    paths.external_cost[block] += external_hours * busy_rate
    paths.idle_cost[block] += idle_hours * idle_rate
    # Selling an hour instead of idling it costs only the extra energy: fixed cost cancels.
    paths.added_margins[block] += revenue_total - external_hours * (busy_rate - idle_rate)
    paths.external_gpu_hours[block] += external_hours
    paths.internal_gpu_hours[block] += internal.sum(axis=0) * capacity_hours
    paths.idle_gpu_hours[block] += idle_hours
    paths.held_back_gpu_hours[block] += held_back.sum(axis=0) * capacity_hours
    mean_price: Floats = price.mean(axis=0)
    mean_demand: Floats = demand.mean(axis=0)
    return mean_price, mean_demand


def _demand(
    rng: np.random.Generator, entry: GpuTypeScenario, scenarios: int, months: int
) -> Floats:
    """External demand per scenario and month: a scenario level plus month noise, in [0, 1]."""
    level = _normal(
        rng, float(entry.external_demand), float(entry.external_demand_volatility), scenarios
    )
    noise = rng.standard_normal((months, scenarios))
    noise *= float(entry.external_demand_month_noise)
    noise += level
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
    log_path = rng.standard_normal((months, scenarios))
    log_path *= step_sd
    log_path += step_mean
    # Row t becomes the sum of steps 1 … t: a row-by-row running sum (np.cumsum along either
    # axis is several times slower on these shapes).
    log_path[0] = 0.0
    for t in range(2, months):
        np.add(log_path[t - 1], log_path[t], out=log_path[t])
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
