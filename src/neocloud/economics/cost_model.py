"""The cost model: what one GPU-hour of a node model costs the provider (DESIGN.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.fleet import NodeModel
from neocloud.domain.money import HOURS_PER_YEAR

MONTHS_PER_YEAR = Decimal(12)


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """Cost of one GPU-hour at 100 % allocation, by component, in the node model's currency."""

    depreciation: Decimal
    capital: Decimal
    energy: Decimal
    space: Decimal
    opex: Decimal
    total: Decimal

    @property
    def fixed(self) -> Decimal:
        """The part paid whether or not the GPU is busy (everything but energy)."""
        return self.total - self.energy


def cost_per_gpu_hour(model: NodeModel, gpus_per_node: int) -> CostBreakdown:
    """Cost of a GPU-hour of a node model at full allocation, at full Decimal precision."""
    gpus = _gpus(gpus_per_node)
    depreciation = model.capex_per_node / (model.life_years * HOURS_PER_YEAR) / gpus
    capital = model.capex_per_node * model.cost_of_capital_rate / HOURS_PER_YEAR / gpus
    energy = _energy(model, model.draw_fraction, gpus)
    space = (
        model.colo_per_kw_month * model.power_kw_per_node * MONTHS_PER_YEAR / HOURS_PER_YEAR / gpus
    )
    opex = model.other_opex_per_node_year / HOURS_PER_YEAR / gpus
    return CostBreakdown(
        depreciation=depreciation,
        capital=capital,
        energy=energy,
        space=space,
        opex=opex,
        total=depreciation + capital + energy + space + opex,
    )


def idle_energy_per_gpu_hour(model: NodeModel, gpus_per_node: int) -> Decimal:
    """Energy cost of one idle GPU-hour: the node draws idle_draw_fraction of its power."""
    return _energy(model, model.idle_draw_fraction, _gpus(gpus_per_node))


def wear_per_gpu_hour(model: NodeModel, gpus_per_node: int) -> Decimal:
    """The part of a GPU-hour's depreciation that use consumes (wear_fraction of it)."""
    gpus = _gpus(gpus_per_node)
    return model.capex_per_node / (model.life_years * HOURS_PER_YEAR) / gpus * model.wear_fraction


def _energy(model: NodeModel, draw_fraction: Decimal, gpus: Decimal) -> Decimal:
    # kW × hours = kWh; PUE adds the facility's cooling and losses on top of the IT load.
    return model.power_kw_per_node * draw_fraction * model.pue * model.price_per_kwh / gpus


def _gpus(gpus_per_node: int) -> Decimal:
    if isinstance(gpus_per_node, bool) or gpus_per_node < 1:
        raise ValueError(f"gpus_per_node must be >= 1, got {gpus_per_node}")
    return Decimal(gpus_per_node)
