"""A parsed fleet's capacity as margin sees it: GPUs per GPU type × node model, with their cost."""

from __future__ import annotations

from collections import defaultdict

from neocloud.domain.fleet import Fleet
from neocloud.economics.cost_model import cost_per_gpu_hour, idle_energy_per_gpu_hour
from neocloud.economics.margin import CapacityBlock


def capacity_of(fleet: Fleet) -> list[CapacityBlock]:
    """One block per GPU type × node model × node size (as the server builds them from its DB)."""
    groups: dict[tuple[str, str, int], int] = defaultdict(int)
    for node in fleet.nodes:
        groups[(node.gpu_type, node.node_model, node.gpus)] += node.gpus
    blocks = []
    for (gpu_type, model_name, per_node), gpus in sorted(groups.items()):
        model = fleet.node_models[model_name]
        blocks.append(
            CapacityBlock(
                gpu_type=gpu_type,
                gpus=gpus,
                cost=cost_per_gpu_hour(model, per_node),
                idle_energy=idle_energy_per_gpu_hour(model, per_node),
            )
        )
    return blocks
