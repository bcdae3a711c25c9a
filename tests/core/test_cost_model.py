"""The cost of a GPU-hour (DESIGN.md §5), checked against hand computations."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.domain.fleet import NodeModel
from neocloud.economics.cost_model import CostBreakdown, cost_per_gpu_hour, idle_energy_per_gpu_hour

D = Decimal

WORKED_EXAMPLE = NodeModel(
    name="hgx-h100",
    capex_per_node=D(400000),
    life_years=D(5),
    power_kw_per_node=D("10.2"),
    draw_fraction=D("1.0"),
    idle_draw_fraction=D("0.3"),
    pue=D("1.3"),
    price_per_kwh=D("0.08"),
    colo_per_kw_month=D(184),
)


def test_the_design_worked_example() -> None:
    cost = cost_per_gpu_hour(WORKED_EXAMPLE, 8)

    assert round(cost.depreciation, 5) == D("1.14155")
    assert round(cost.energy, 5) == D("0.13260")
    assert round(cost.space, 5) == D("0.32137")
    assert (cost.capital, cost.opex) == (D(0), D(0))
    assert round(cost.total, 4) == D("1.5955")
    # Energy is exact: 10.2 kW × 1.0 × 1.3 × $0.08 / 8 GPUs.
    assert cost.energy == D("0.1326")


# Case 2, a 4-GPU node chosen so that every component divides out exactly:
#   depreciation = 350400 / (4 y × 8760 h) / 4 GPUs   = 10 / 4   = 2.5
#   capital      = 350400 × 0.05 / 8760 / 4           = 2 / 4    = 0.5
#   energy       = 6 kW × 0.9 × PUE 1.2 × $0.10 / 4   = 0.648 / 4 = 0.162
#   space        = $146/kW-month × 6 kW × 12 / 8760 / 4 = 1.2 / 4 = 0.3
#   opex         = 17520 / 8760 / 4                   = 2 / 4    = 0.5
#   total        = 3.962; fixed = 3.8; idle energy at 0.3 draw = 6 × 0.3 × 1.2 × 0.10 / 4 = 0.054
CASE_2 = NodeModel(
    name="four-gpu",
    capex_per_node=D(350400),
    life_years=D(4),
    power_kw_per_node=D(6),
    draw_fraction=D("0.9"),
    idle_draw_fraction=D("0.3"),
    pue=D("1.2"),
    price_per_kwh=D("0.10"),
    colo_per_kw_month=D(146),
    other_opex_per_node_year=D(17520),
    cost_of_capital_rate=D("0.05"),
)

# Case 3, a one-GPU workstation with no colocation fee:
#   depreciation = 43800 / (2 y × 8760 h)  = 2.5
#   capital      = 43800 × 0.10 / 8760     = 0.5
#   energy       = 1.5 kW × 0.8 × 1.5 × $0.20 = 0.36
#   space        = 0
#   opex         = 876 / 8760              = 0.1
#   total        = 3.46; fixed = 3.1; idle energy at 0.2 draw = 1.5 × 0.2 × 1.5 × 0.20 = 0.09
CASE_3 = NodeModel(
    name="workstation",
    capex_per_node=D(43800),
    life_years=D(2),
    power_kw_per_node=D("1.5"),
    draw_fraction=D("0.8"),
    idle_draw_fraction=D("0.2"),
    pue=D("1.5"),
    price_per_kwh=D("0.20"),
    other_opex_per_node_year=D(876),
    cost_of_capital_rate=D("0.10"),
)


@pytest.mark.parametrize(
    ("model", "gpus", "expected", "idle_energy"),
    [
        (
            CASE_2,
            4,
            CostBreakdown(D("2.5"), D("0.5"), D("0.162"), D("0.3"), D("0.5"), D("3.962")),
            D("0.054"),
        ),
        (
            CASE_3,
            1,
            CostBreakdown(D("2.5"), D("0.5"), D("0.36"), D(0), D("0.1"), D("3.46")),
            D("0.09"),
        ),
    ],
    ids=["capital-and-opex", "one-gpu-workstation"],
)
def test_hand_computed_cases(
    model: NodeModel, gpus: int, expected: CostBreakdown, idle_energy: Decimal
) -> None:
    cost = cost_per_gpu_hour(model, gpus)

    assert cost == expected
    assert cost.fixed == expected.total - expected.energy
    assert idle_energy_per_gpu_hour(model, gpus) == idle_energy


def test_idle_energy_of_the_worked_example() -> None:
    # 10.2 kW × 0.3 × 1.3 × $0.08 / 8 GPUs
    assert idle_energy_per_gpu_hour(WORKED_EXAMPLE, 8) == D("0.03978")


@pytest.mark.parametrize("gpus", [0, -8], ids=["zero", "negative"])
def test_a_node_needs_at_least_one_gpu(gpus: int) -> None:
    with pytest.raises(ValueError, match="gpus_per_node must be >= 1"):
        cost_per_gpu_hour(WORKED_EXAMPLE, gpus)
    with pytest.raises(ValueError, match="gpus_per_node must be >= 1"):
        idle_energy_per_gpu_hour(WORKED_EXAMPLE, gpus)


def _decimals(low: str, high: str, places: int = 4) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=D(low), max_value=D(high), places=places, allow_nan=False)


node_models = st.builds(
    NodeModel,
    name=st.just("m"),
    capex_per_node=_decimals("0", "2000000", 2),
    life_years=_decimals("0.5", "10", 1),
    power_kw_per_node=_decimals("0.1", "150", 2),
    pue=_decimals("1", "2", 2),
    price_per_kwh=_decimals("0", "1", 4),
    draw_fraction=_decimals("0", "1", 2),
    idle_draw_fraction=st.just(D(0)),
    colo_per_kw_month=_decimals("0", "500", 2),
    other_opex_per_node_year=_decimals("0", "100000", 2),
    cost_of_capital_rate=_decimals("0", "0.3", 3),
)


@settings(max_examples=200)
@given(model=node_models, gpus=st.integers(min_value=1, max_value=64))
def test_total_is_the_sum_of_non_negative_components(model: NodeModel, gpus: int) -> None:
    cost = cost_per_gpu_hour(model, gpus)
    parts = (cost.depreciation, cost.capital, cost.energy, cost.space, cost.opex)

    assert all(part >= 0 for part in parts)
    assert cost.total == sum(parts)
    assert cost.fixed == cost.total - cost.energy


@settings(max_examples=200)
@given(model=node_models, gpus=st.integers(min_value=1, max_value=32))
def test_a_node_costs_the_same_however_many_gpus_share_it(model: NodeModel, gpus: int) -> None:
    # Per-GPU costs × GPUs is the node's hourly cost, whatever the GPU count.
    node_hour = cost_per_gpu_hour(model, 1).total
    shared = cost_per_gpu_hour(model, gpus).total * gpus

    assert abs(shared - node_hour) <= node_hour * D("1e-25") + D("1e-25")


@settings(max_examples=200)
@given(model=node_models, idle=_decimals("0", "1", 2), gpus=st.integers(min_value=1, max_value=64))
def test_idle_gpus_never_cost_more_energy_than_busy_ones(
    model: NodeModel, idle: Decimal, gpus: int
) -> None:
    draw = max(idle, model.draw_fraction)
    model = replace(model, draw_fraction=draw, idle_draw_fraction=idle)

    assert 0 <= idle_energy_per_gpu_hour(model, gpus) <= cost_per_gpu_hour(model, gpus).energy
