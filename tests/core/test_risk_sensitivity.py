"""The sensitivity table: which sampled input moves margin most."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from neocloud.economics.risk.margin_at_risk import UsefulLife, run_risk
from neocloud.economics.risk.sensitivity import average_ranks, input_effects
from tests.core.test_risk_support import fleet, still_scenario

D = Decimal


@pytest.mark.parametrize(
    ("values", "ranks"),
    [
        ([3.0, 1.0, 2.0], [2.0, 0.0, 1.0]),
        ([3.0, 1.0, 3.0, 2.0], [2.5, 0.0, 2.5, 1.0]),  # tied values share their mean rank
        ([5.0, 5.0, 5.0], [1.0, 1.0, 1.0]),
        ([7.0], [0.0]),
    ],
)
def test_average_ranks(values: list[float], ranks: list[float]) -> None:
    assert average_ranks(np.array(values)).tolist() == ranks


def test_the_input_that_drives_margin_comes_first_and_a_constant_one_has_no_effect() -> None:
    rng = np.random.default_rng(0)
    strong, weak = rng.uniform(size=200_000), rng.uniform(size=200_000)
    constant = np.full(200_000, 3.0)
    margins = 100 * strong - 10 * weak

    rows = input_effects({"weak": weak, "constant": constant, "strong": strong}, margins)

    assert [row.input for row in rows] == ["strong", "weak", "constant"]
    # Top decile of `strong` averages ~95, bottom ~5: a swing of ~90 × 100 / 100 = 90.
    assert rows[0].swing == pytest.approx(90, abs=1)
    assert rows[0].rank_correlation > 0.95
    assert rows[1].swing == pytest.approx(-9, abs=1)
    assert rows[1].rank_correlation < 0
    assert (rows[2].swing, rows[2].rank_correlation) == (0.0, 0.0)


def test_with_only_the_useful_life_uncertain_it_heads_the_table() -> None:
    scenario = replace(still_scenario(), useful_life=UsefulLife(D(4), D("5.5"), D(7)))

    result = run_risk(fleet(), scenario, months=12, scenarios=5000, seed=1)

    top = result.sensitivity[0]
    assert top.input == "useful life"
    # A longer life means less depreciation, so more margin.
    assert top.rank_correlation > D("0.99")
    assert top.swing > 0
    assert all(row.swing == 0 for row in result.sensitivity[1:])


def test_with_only_the_price_uncertain_it_heads_the_table() -> None:
    scenario = still_scenario(price_volatility=D("0.4"))

    result = run_risk(fleet(), scenario, months=24, scenarios=5000, seed=1)

    assert result.sensitivity[0].input == "h100 price"
    assert result.sensitivity[0].rank_correlation > D("0.99")
    assert result.sensitivity[0].top_decile_margin > result.sensitivity[0].bottom_decile_margin
