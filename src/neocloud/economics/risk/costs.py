"""A GPU type's cost per GPU-hour, split the way margin at risk varies it.

Margin at risk samples the useful life (which sets depreciation) and the electricity price (which
scales energy), so it needs the cost model's components apart. They come from the cost model
itself (cost_per_gpu_hour, idle_energy_per_gpu_hour), never re-derived:
depreciation at a life of L years = depreciation × life_years / L, because depreciation is
capex / (life_years × 8760) / gpus_per_node.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from neocloud.domain.fleet import Fleet
from neocloud.domain.money import DEFAULT_CURRENCY
from neocloud.economics.cost_model import cost_per_gpu_hour, idle_energy_per_gpu_hour


@dataclass(frozen=True, slots=True)
class TypeCost:
    """Per GPU-hour cost components of one GPU type, GPU-weighted over its node models."""

    gpus: int
    # depreciation × life_years: divide by a useful life in years to get depreciation.
    depreciation_years: Decimal
    # capital + space + opex: paid whether the GPU is busy or idle, whatever the life.
    other_fixed: Decimal
    # Energy of a busy and of an idle GPU-hour at the node model's price per kWh.
    busy_energy: Decimal
    idle_energy: Decimal
    # GPU-weighted useful life the node models declare (years).
    life_years: Decimal

    def total_at(self, life_years: Decimal) -> Decimal:
        """Full cost of a busy GPU-hour at a given useful life (the cost model's total)."""
        return self.depreciation_years / life_years + self.other_fixed + self.busy_energy


def type_costs(fleet: Fleet) -> dict[str, TypeCost]:
    """Cost components per GPU type present in the fleet (types sorted)."""
    # GPUs per (GPU type, node model, GPUs per node): the cost model costs a GPU-hour per node.
    groups: Counter[tuple[str, str, int]] = Counter()
    for node in fleet.nodes:
        groups[(node.gpu_type, node.node_model, node.gpus)] += node.gpus
    # Per GPU type: GPUs, then GPU-weighted sums of each component, in TypeCost's field order.
    sums: dict[str, list[Decimal]] = {}
    for (gpu_type, model_name, per_node), gpus in sorted(groups.items()):
        model = fleet.node_models[model_name]
        cost = cost_per_gpu_hour(model, per_node)
        parts = (
            Decimal(gpus),
            gpus * cost.depreciation * model.life_years,
            gpus * (cost.capital + cost.space + cost.opex),
            gpus * cost.energy,
            gpus * idle_energy_per_gpu_hour(model, per_node),
            gpus * model.life_years,
        )
        prior = sums.setdefault(gpu_type, [Decimal(0)] * len(parts))
        sums[gpu_type] = [a + b for a, b in zip(prior, parts, strict=True)]
    return {
        gpu_type: TypeCost(int(total[0]), *(part / total[0] for part in total[1:]))
        for gpu_type, total in sorted(sums.items())
    }


def fleet_currency(fleet: Fleet) -> str:
    """The currency the fleet's costs are in (the file reader makes node models share one)."""
    return next((fleet.node_models[n.node_model].currency for n in fleet.nodes), DEFAULT_CURRENCY)
