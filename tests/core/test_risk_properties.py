"""Margin at risk: what holds for any scenario (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.domain.money import to_cents
from neocloud.economics.risk.costs import type_costs
from neocloud.economics.risk.margin_at_risk import GpuTypeScenario, Scenario, UsefulLife, run_risk
from neocloud.economics.risk.simulation import HOURS_PER_MONTH, simulate
from tests.core.test_risk_support import fleet

FLEET = fleet(("h100", 8), ("a100", 4))


def _fraction() -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=0, max_value=1, places=2)


gpu_type_scenarios = st.builds(
    GpuTypeScenario,
    price_per_gpu_hour=st.decimals(min_value=0, max_value=10, places=2),
    price_drift_per_year=st.decimals(min_value="-0.9", max_value=1, places=2),
    price_volatility=st.decimals(min_value=0, max_value=2, places=2),
    sellable_cap=_fraction(),
    internal_utilisation=_fraction(),
    external_demand=_fraction(),
    external_demand_volatility=_fraction(),
    external_demand_month_noise=_fraction(),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Any valid scenario for FLEET."""
    lives = sorted(draw(st.decimals(min_value=1, max_value=10, places=1)) for _ in range(3))
    return Scenario(
        gpu_types={"h100": draw(gpu_type_scenarios), "a100": draw(gpu_type_scenarios)},
        useful_life=UsefulLife(*lives),
        internal_growth_per_year=draw(st.decimals(min_value="-0.5", max_value=2, places=2)),
        internal_growth_spread=draw(st.decimals(min_value=0, max_value=1, places=2)),
        electricity_price_volatility=draw(st.decimals(min_value=0, max_value=1, places=2)),
    )


runs = st.tuples(
    scenarios(),
    st.integers(min_value=1, max_value=24),
    st.integers(min_value=1, max_value=300),
    st.integers(min_value=0, max_value=2**32),
)


@settings(max_examples=60, deadline=None)
@given(runs)
def test_percentiles_are_ordered_and_inside_the_samples(
    run: tuple[Scenario, int, int, int],
) -> None:
    scenario, months, count, seed = run
    result = run_risk(FLEET, scenario, months=months, scenarios=count, seed=seed)

    low, high = to_cents(Decimal(result.margins.min())), to_cents(Decimal(result.margins.max()))
    assert low <= result.p5_margin <= result.p50_margin <= result.p95_margin <= high
    assert low <= result.expected_margin <= high
    for band in result.monthly:
        assert band.p5 <= band.p50 <= band.p95
    # MaR is expected − P5, to the cent; it is not guaranteed >= 0 (a few huge losses below
    # P5 can pull the mean under it), so only the definition is checked here.
    assert abs(result.margin_at_risk - (result.expected_margin - result.p5_margin)) <= Decimal(
        "0.01"
    )
    assert result.probability_of_loss == (
        Decimal(int(np.count_nonzero(result.margins < 0))) / count
    ).quantize(Decimal("0.0001"))
    assert all(-1 <= row.rank_correlation <= 1 for row in result.sensitivity)
    swings = [abs(row.swing) for row in result.sensitivity]
    assert swings == sorted(swings, reverse=True)


@settings(max_examples=60, deadline=None)
@given(runs)
def test_every_gpu_hour_is_internal_external_idle_or_held_back_and_margins_add_up(
    run: tuple[Scenario, int, int, int],
) -> None:
    scenario, months, count, seed = run
    costs = type_costs(FLEET)
    paths = simulate(
        costs, scenario, months=months, scenarios=count, rng=np.random.default_rng(seed)
    )

    capacity = 12 * HOURS_PER_MONTH * months  # 12 GPUs
    used = (
        paths.internal_gpu_hours
        + paths.external_gpu_hours
        + paths.idle_gpu_hours
        + paths.held_back_gpu_hours
    )
    np.testing.assert_allclose(used, capacity, rtol=1e-9)
    assert (paths.idle_gpu_hours >= -1e-6).all()
    assert (paths.held_back_gpu_hours >= -1e-6).all()
    # Selling instead of idling never costs more than the margin shows: the added margin is the
    # margin plus the idle cost the sold hours would have carried, so it is at least the margin.
    assert (paths.added_margins >= paths.margins - 1e-6).all()
    # External work never holds more than the sellable cap.
    cap_hours = sum(
        float(scenario.gpu_types[g].sellable_cap) * c.gpus * HOURS_PER_MONTH * months
        for g, c in costs.items()
    )
    assert (paths.external_gpu_hours <= cap_hours + 1e-6).all()
    # revenue − cost = margin, per scenario, and month by month.
    np.testing.assert_array_equal(
        paths.margins, paths.revenue - paths.external_cost - paths.idle_cost
    )
    np.testing.assert_allclose(
        paths.monthly_margins.sum(axis=0), paths.margins, rtol=1e-9, atol=1e-6
    )
    assert (paths.revenue >= 0).all() and (paths.external_cost >= 0).all()


@settings(max_examples=25, deadline=None)
@given(runs)
def test_the_same_seed_gives_identical_figures(run: tuple[Scenario, int, int, int]) -> None:
    scenario, months, count, seed = run

    first = run_risk(FLEET, scenario, months=months, scenarios=count, seed=seed)
    second = run_risk(FLEET, scenario, months=months, scenarios=count, seed=seed)

    np.testing.assert_array_equal(first.margins, second.margins)
    assert (first.expected_margin, first.p5_margin, first.p95_margin) == (
        second.expected_margin,
        second.p5_margin,
        second.p95_margin,
    )
    assert first.sensitivity == second.sensitivity
    assert first.monthly == second.monthly
