"""Support for the margin-at-risk tests: a fleet and scenarios worked out by hand (no tests)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from neocloud.domain.fleet import Cluster, Fleet, Node, NodeModel
from neocloud.economics.risk.margin_at_risk import GpuTypeScenario, Scenario, UsefulLife

D = Decimal

# One 8-GPU node whose GPU-hour divides out exactly:
#   depreciation = 350400 / (5 y × 8760 h) / 8 GPUs  = 1.0
#   energy busy  = 8 kW × 1.0 × PUE 1.25 × $0.10 / 8 = 0.125
#   energy idle  = 8 kW × 0.2 × PUE 1.25 × $0.10 / 8 = 0.025
# so a busy GPU-hour costs 1.125 and an idle one 1.025 at a 5-year life.
MODEL = NodeModel(
    name="even",
    capex_per_node=D(350400),
    life_years=D(5),
    power_kw_per_node=D(8),
    pue=D("1.25"),
    price_per_kwh=D("0.10"),
    draw_fraction=D(1),
    idle_draw_fraction=D("0.2"),
)


def fleet(*nodes: tuple[str, int], model: NodeModel = MODEL) -> Fleet:
    """A fleet of (gpu_type, gpus) nodes, all of one node model."""
    specs = nodes or (("h100", 8),)
    return Fleet(
        regions=("r",),
        clusters=(Cluster("c", "r"),),
        nodes=tuple(
            Node(f"n{i}", "r", "c", gpu_type, gpus, 64, 512, model.name)
            for i, (gpu_type, gpus) in enumerate(specs)
        ),
        node_models={model.name: model},
    )


# Nothing moves: every scenario is the same future.
STILL = GpuTypeScenario(
    price_per_gpu_hour=D("2.5"),
    price_drift_per_year=D(0),
    price_volatility=D(0),
    sellable_cap=D("0.3"),
    internal_utilisation=D("0.6"),
    external_demand=D("0.5"),
    external_demand_volatility=D(0),
    external_demand_month_noise=D(0),
)


def still_scenario(life: Decimal = D(5), **gpu_type: Decimal) -> Scenario:
    """STILL for h100 (with changes), no internal growth, fixed electricity and life."""
    return Scenario(
        gpu_types={"h100": replace(STILL, **gpu_type)},
        useful_life=UsefulLife(life, life, life),
        internal_growth_per_year=D(0),
        internal_growth_spread=D(0),
        electricity_price_volatility=D(0),
    )
