"""What to charge: break-even allocation, price floor and the target-margin price, by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.economics.cost_model import (
    CostBreakdown,
    cost_per_gpu_hour,
    idle_energy_per_gpu_hour,
    wear_per_gpu_hour,
)
from neocloud.economics.margin.analysis import CapacityBlock
from neocloud.economics.margin.price_guide import price_guide
from tests.core.test_cost_model import WORKED_EXAMPLE

D = Decimal


def worked_block(gpus: int = 8) -> CapacityBlock:
    return CapacityBlock(
        "h100",
        gpus,
        cost_per_gpu_hour(WORKED_EXAMPLE, 8),
        idle_energy_per_gpu_hour(WORKED_EXAMPLE, 8),
        wear=wear_per_gpu_hour(WORKED_EXAMPLE, 8),
    )


def test_the_design_worked_example_priced() -> None:
    # DESIGN.md §5 node: fixed 1.14155 + 0.32137 = 1.46292, busy energy 0.1326, idle energy
    # 10.2 × 0.3 × 1.3 × 0.08 / 8 = 0.03978, wear 20 % of depreciation = 0.22831.
    # At $2.50 on demand:  break-even u* = (1.46292 + 0.03978) / (2.5 − 0.1326 + 0.03978)
    #                                    = 1.5027 / 2.40718 = 0.62426
    # price floor = 0.1326 − 0.03978 + 0.22831 = 0.32113
    # at 50 % allocation: cost per used GPU-hour = (1.46292 + 0.5 × 0.1326 + 0.5 × 0.03978) / 0.5
    #                                            = 3.09822; for 20 % margin ÷ 0.8 = 3.87278
    guide = price_guide("h100", [worked_block()], D("0.5"), D("2.50"), D(20))

    assert round(guide.fixed, 5) == D("1.46292")
    assert guide.busy_energy == D("0.1326")
    assert guide.idle_energy == D("0.03978")
    assert round(guide.wear, 5) == D("0.22831")
    assert round(guide.full_cost, 4) == D("1.5955")
    assert round(guide.break_even_utilisation or 0, 5) == D("0.62426")
    assert round(guide.price_floor, 5) == D("0.32113")
    assert round(guide.cost_per_used_gpu_hour or 0, 5) == D("3.09822")
    assert round(guide.target_price or 0, 5) == D("3.87278")


def test_a_second_hand_case_with_round_numbers() -> None:
    # fixed 1.00, busy energy 0.20, idle energy 0.05, wear 0.10, price 2.05:
    # u* = 1.05 / (2.05 − 0.20 + 0.05) = 1.05 / 1.9 = 0.552631…; floor 0.15 + 0.10 = 0.25;
    # at 75 %: (1 + 0.15 + 0.0125) / 0.75 = 1.55; 40 % margin → 1.55 / 0.6 = 2.583333…
    block = CapacityBlock(
        "a100",
        4,
        CostBreakdown(D(1), D(0), D("0.2"), D(0), D(0), D("1.2")),
        D("0.05"),
        wear=D("0.1"),
    )

    guide = price_guide("a100", [block], D("0.75"), D("2.05"), D(40))

    assert guide.break_even_utilisation == D("1.05") / D("1.9")
    assert guide.price_floor == D("0.25")
    assert guide.cost_per_used_gpu_hour == D("1.55")
    assert guide.target_price == D("1.55") / D("0.6")


@pytest.mark.parametrize(
    ("utilisation", "price", "break_even", "target"),
    [
        (None, D("2.50"), "set", None),  # nothing ran: no cost per used hour, no target
        (D(0), D("2.50"), "set", None),
        (D("0.5"), None, None, "set"),  # no list price: no break-even
        (D("0.5"), D("0.05"), None, "set"),  # price under busy − idle energy: never breaks even
    ],
    ids=["no-usage", "zero-usage", "no-price", "price-below-energy"],
)
def test_what_cannot_be_computed_is_none(
    utilisation: Decimal | None, price: Decimal | None, break_even: str | None, target: str | None
) -> None:
    guide = price_guide("h100", [worked_block()], utilisation, price, D(20))

    assert (guide.break_even_utilisation is not None) == (break_even == "set")
    assert (guide.target_price is not None) == (target == "set")


@pytest.mark.parametrize("target", [D(-1), D(100), D(150)])
def test_a_target_margin_outside_0_to_100_is_refused(target: Decimal) -> None:
    with pytest.raises(ValueError, match="target margin"):
        price_guide("h100", [worked_block()], D("0.5"), D("2.5"), target)


@settings(max_examples=200, deadline=None)
@given(
    utilisation=st.decimals(min_value="0.01", max_value=1, places=4),
    target=st.decimals(min_value=0, max_value="99", places=2),
    price=st.decimals(min_value="0.2", max_value=20, places=2),
)
def test_selling_at_the_target_price_earns_the_target_margin_and_break_even_earns_zero(
    utilisation: Decimal, target: Decimal, price: Decimal
) -> None:
    guide = price_guide("h100", [worked_block()], utilisation, price, target)
    fixed, busy, idle = guide.fixed, guide.busy_energy, guide.idle_energy

    def cost(u: Decimal) -> Decimal:
        return fixed + u * busy + (1 - u) * idle

    assert guide.target_price is not None
    margin = (guide.target_price * utilisation - cost(utilisation)) / (
        guide.target_price * utilisation
    )
    assert abs(margin * 100 - target) < D("1e-20")
    u_star = guide.break_even_utilisation
    assert u_star is not None
    assert abs(u_star * price - cost(u_star)) < D("1e-20")
    # The floor never exceeds the full cost of a busy hour: it leaves fixed cost out.
    assert guide.price_floor <= guide.full_cost + guide.wear
