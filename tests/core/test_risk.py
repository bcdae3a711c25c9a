"""Margin at risk, checked against futures worked out by hand (docs/economics.md)."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from neocloud.economics.risk.margin_at_risk import (
    GpuTypeScenario,
    Scenario,
    ScenarioError,
    UsefulLife,
    default_scenario,
    run_risk,
)
from tests.core.test_risk_support import STILL, fleet, still_scenario

D = Decimal
HOURS_PER_MONTH = 730  # 8760 / 12


def test_a_still_future_earns_when_the_price_covers_the_unsold_capacity() -> None:
    # Each month: 8 GPUs × 730 h = 5840 GPU-hours.
    #   internal 0.6 → 3504 h; sellable min(cap 0.3, 1 − 0.6) = 0.3; held back 0.1 → 584 h
    #   external 0.3 × demand 0.5 = 0.15 → 876 h; idle (sellable, unsold) 0.15 → 876 h
    #   revenue       876 × 2.5            = 2190
    #   external cost 876 × (1.0 + 0.125)  =  985.5
    #   idle cost     876 × (1.0 + 0.025)  =  897.9
    #   margin        2190 − 985.5 − 897.9 = 306.6 a month; × 12 months = 3679.2
    result = run_risk(fleet(), still_scenario(), months=12, scenarios=50, seed=1)

    assert result.expected_margin == D("3679.20")
    assert (result.p5_margin, result.p50_margin, result.p95_margin) == (D("3679.20"),) * 3
    assert result.margin_at_risk == D("0.00")
    assert result.probability_of_loss == D(0)
    assert result.expected_revenue == D("26280.00")  # 2190 × 12
    assert result.expected_external_cost == D("11826.00")  # 985.5 × 12
    assert result.expected_idle_cost == D("10774.80")  # 897.9 × 12
    assert result.capacity_gpu_hours == D(8 * 730 * 12)
    assert float(result.held_back_gpu_hours[0]) == pytest.approx(584 * 12)
    assert [band.p50 for band in result.monthly] == [D("306.60")] * 12
    assert result.currency == "USD"


def test_the_selling_business_can_lose_while_selling_still_beats_idling() -> None:
    # At $2.00: revenue 876 × 2 = 1752; margin 1752 − 985.5 − 897.9 = −131.4 a month (−1576.8
    # a year). Yet selling an hour instead of idling it costs only the extra energy
    # 0.125 − 0.025 = 0.1: added 1752 − 876 × 0.1 = 1664.4 a month (19972.8 a year).
    result = run_risk(
        fleet(), still_scenario(price_per_gpu_hour=D(2)), months=12, scenarios=20, seed=1
    )

    assert result.expected_margin == D("-1576.80")
    assert result.probability_of_loss == D(1)
    assert result.expected_added_margin == D("19972.80")
    assert result.p5_added_margin == result.p95_added_margin == D("19972.80")
    assert result.probability_selling_loses == D(0)


def test_selling_below_the_extra_energy_loses_even_against_idling() -> None:
    # At $0.05 an hour sold earns less than its extra energy (0.1): added 876 × −0.05 = −43.8.
    result = run_risk(
        fleet(), still_scenario(price_per_gpu_hour=D("0.05")), months=1, scenarios=5, seed=1
    )

    assert result.expected_added_margin == D("-43.80")
    assert result.probability_selling_loses == D(1)


def test_a_still_future_with_full_demand_sells_everything_it_may() -> None:
    # external 0.3 → 1752 h, nothing unsold:
    #   4380 − 1752 × 1.125 = 4380 − 1971 = 2409 a month; × 12 = 28908
    result = run_risk(
        fleet(), still_scenario(external_demand=D(1)), months=12, scenarios=10, seed=1
    )

    assert result.expected_margin == D("28908.00")
    assert result.p5_margin == result.p95_margin == D("28908.00")
    assert result.probability_of_loss == D(0)


def test_a_shorter_useful_life_raises_depreciation() -> None:
    # At 4 years depreciation is 1.0 × 5 / 4 = 1.25: busy 1.375, idle 1.275 per GPU-hour.
    #   2190 − 876 × 1.375 − 876 × 1.275 = 2190 − 1204.5 − 1116.9 = −131.4 a month
    result = run_risk(fleet(), still_scenario(life=D(4)), months=3, scenarios=5, seed=1)

    assert result.expected_margin == D("-394.20")


def test_a_price_drift_of_minus_20_percent_gives_80_percent_of_the_price_a_year_on() -> None:
    # Month t is priced 2.5 × 0.8^(t/12); month 13 (t = 12) at exactly 2.0:
    #   876 × 2.0 − 985.5 − 897.9 = −131.4.
    result = run_risk(
        fleet(), still_scenario(price_drift_per_year=D("-0.2")), months=13, scenarios=5, seed=1
    )

    assert result.monthly[12].p50 == D("-131.40")
    revenue = sum(876 * 2.5 * 0.8 ** (t / 12) for t in range(13))
    assert result.expected_revenue == D(f"{revenue:.2f}")
    assert result.expected_margin == D(f"{revenue - 13 * (985.5 + 897.9):.2f}")


def test_internal_work_comes_first_and_leaves_nothing_to_sell_or_idle() -> None:
    # Internal demand doubling every year: u = 0.6 × 2^(t/12) reaches 1 before month 13, so
    # that month nothing is sold, nothing is idle and nothing held back: margin 0.
    scenario = replace(still_scenario(), internal_growth_per_year=D(1))

    result = run_risk(fleet(), scenario, months=13, scenarios=5, seed=1)

    assert result.monthly[0].p50 == D("306.60")
    assert result.monthly[12].p50 == D("0.00")


def test_a_gpu_type_s_costs_scale_with_its_gpus() -> None:
    two_nodes = fleet(("h100", 8), ("h100", 8))

    result = run_risk(two_nodes, still_scenario(), months=12, scenarios=5, seed=1)

    assert result.expected_margin == D("7358.40")


def test_expected_price_after_a_year_is_today_s_times_one_plus_drift() -> None:
    # With volatility the year-on price is lognormal with mean 2.5 × 0.8 = 2.0, so the mean of
    # month 13's margin is still −131.4 (only revenue, 1752 on average, moves; costs are fixed).
    scenario = still_scenario(price_drift_per_year=D("-0.2"), price_volatility=D("0.5"))

    result = run_risk(fleet(), scenario, months=13, scenarios=100_000, seed=7)

    assert float(result.monthly[12].expected) == pytest.approx(-131.4, abs=1752 * 0.01)
    assert result.monthly[12].p5 < result.monthly[12].p50 < result.monthly[12].p95


def test_the_electricity_multiplier_has_mean_one() -> None:
    still = run_risk(fleet(), still_scenario(), months=12, scenarios=10, seed=1)
    scenario = replace(still_scenario(), electricity_price_volatility=D("0.5"))

    varied = run_risk(fleet(), scenario, months=12, scenarios=100_000, seed=2)

    assert float(varied.expected_margin) == pytest.approx(float(still.expected_margin), rel=0.005)
    assert varied.p5_margin < still.expected_margin < varied.p95_margin


def test_the_same_seed_gives_the_same_figures_and_another_seed_others() -> None:
    demo = fleet(("h100", 8), ("a100", 4))
    scenario = default_scenario(demo)

    first = run_risk(demo, scenario, months=24, scenarios=3000, seed=11)
    again = run_risk(demo, scenario, months=24, scenarios=3000, seed=11)
    other = run_risk(demo, scenario, months=24, scenarios=3000, seed=12)

    assert np.array_equal(first.margins, again.margins)
    assert (first.expected_margin, first.p5_margin, first.sensitivity, first.monthly) == (
        again.expected_margin,
        again.p5_margin,
        again.sensitivity,
        again.monthly,
    )
    assert not np.array_equal(first.margins, other.margins)
    assert first.expected_margin != other.expected_margin


def test_margins_are_revenue_less_both_costs_and_add_up_to_the_expected_figures() -> None:
    demo = fleet(("h100", 8), ("a100", 4))
    result = run_risk(demo, default_scenario(demo), months=12, scenarios=2000, seed=3)

    assert result.margins.shape == (2000,)
    assert result.margins.dtype == np.float64
    np.testing.assert_array_equal(
        result.margins, result.revenue - result.external_cost - result.idle_cost
    )
    # Four figures each rounded to the cent: they agree to within two cents.
    parts = result.expected_revenue - result.expected_external_cost - result.expected_idle_cost
    assert abs(result.expected_margin - parts) <= D("0.02")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"months": 0}, "months must be a whole number >= 1"),
        ({"scenarios": 0}, "scenarios must be a whole number >= 1"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"months": True}, "months must be a whole number >= 1"),
        ({"months": 1201}, "months must be at most 1200"),
    ],
)
def test_bad_run_sizes_are_refused(changes: dict[str, int], message: str) -> None:
    arguments = {"months": 12, "scenarios": 10, "seed": 0} | changes

    with pytest.raises(ValueError, match=message):
        run_risk(fleet(), still_scenario(), **arguments)


def test_the_scenario_must_cover_exactly_the_fleet_s_gpu_types() -> None:
    with pytest.raises(ScenarioError, match="no scenario for GPU type"):
        run_risk(fleet(("h100", 8), ("a100", 4)), still_scenario(), months=1, scenarios=1, seed=0)
    extra = replace(still_scenario(), gpu_types={"h100": STILL, "b200": STILL})
    with pytest.raises(ScenarioError, match="not in the fleet: b200"):
        run_risk(fleet(), extra, months=1, scenarios=1, seed=0)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("price_per_gpu_hour", D("-0.01"), "must be between 0 and 10000"),
        ("price_drift_per_year", D(-1), "must be greater than -1 and at most 10"),
        ("price_volatility", D(-1), "must be between 0 and 5"),
        ("sellable_cap", D("1.5"), "must be between 0 and 1"),
        ("internal_utilisation", D("-0.1"), "must be between 0 and 1"),
        ("external_demand", D(2), "must be between 0 and 1"),
        ("external_demand_volatility", D("1.01"), "must be between 0 and 1"),
        ("external_demand_month_noise", D("NaN"), "must be a finite number"),
    ],
)
def test_a_gpu_type_scenario_refuses_values_out_of_range(
    field: str, value: Decimal, reason: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        replace(STILL, **{field: value})

    assert (raised.value.field, raised.value.reason) == (field, reason)


def test_a_scenario_refuses_floats_and_disordered_lives() -> None:
    with pytest.raises(ScenarioError, match="price_per_gpu_hour: must be a Decimal, got float"):
        GpuTypeScenario(price_per_gpu_hour=2.5)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"mode: must be between low \(4\) and high \(5\)"):
        UsefulLife(D(4), D(6), D(5))
    with pytest.raises(ScenarioError, match="internal_growth_spread: must be between 0 and 10"):
        replace(still_scenario(), internal_growth_spread=D(-1))
    with pytest.raises(ScenarioError, match=r"gpu_types\.h100: must be a GpuTypeScenario"):
        Scenario(gpu_types={"h100": {}}, useful_life=UsefulLife(D(5), D(5), D(5)))  # type: ignore[dict-item]


def test_defaults_price_known_gpu_types_from_the_market_and_others_from_cost() -> None:
    scenario = default_scenario(fleet(("h100", 8), ("a100", 4), ("x9", 8)))

    assert scenario.gpu_types["h100"].price_per_gpu_hour == D("2.50")
    assert scenario.gpu_types["a100"].price_per_gpu_hour == D("1.20")
    # No market figure for x9: full cost 1.125 / (1 − 0.18) = 1.3719… → 1.37.
    assert scenario.gpu_types["x9"].price_per_gpu_hour == D("1.37")
    assert scenario.gpu_types["h100"].sellable_cap == D("0.30")
    # The mode of the useful life is the node models' own (5 years), the range 4 to 7.
    assert scenario.useful_life == UsefulLife(D(4), D("5.00"), D(7))
    assert (scenario.internal_growth_per_year, scenario.electricity_price_volatility) == (
        D("0.10"),
        D("0.20"),
    )


def test_defaults_widen_the_life_range_around_a_life_outside_it() -> None:
    long_lived = replace(fleet().node_models["even"], life_years=D(8))

    scenario = default_scenario(fleet(model=long_lived))

    assert scenario.useful_life == UsefulLife(D(4), D("8.00"), D("8.00"))


def test_the_default_futures_of_the_demo_shape_are_plausible() -> None:
    demo = fleet(("h100", 8), ("a100", 4))

    result = run_risk(demo, default_scenario(demo), months=36, scenarios=20_000, seed=0)

    assert result.p5_margin < result.p50_margin < result.p95_margin
    assert D(0) < result.probability_of_loss < D(1)
    assert result.margin_at_risk > 0
    assert math.isclose(
        float(result.margin_at_risk),
        float(result.expected_margin - result.p5_margin),
        abs_tol=0.011,
    )
    assert len(result.monthly) == 36
    assert {row.input for row in result.sensitivity} == {
        "h100 price",
        "h100 external demand",
        "a100 price",
        "a100 external demand",
        "internal growth",
        "electricity price",
        "useful life",
    }
