"""A fleet's capacity as margin sees it: GPUs per GPU type × region × node model, costed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Protocol

from neocloud.domain.fleet import Fleet, NodeModel
from neocloud.economics.cost_model import (
    cost_per_gpu_hour,
    idle_energy_per_gpu_hour,
    wear_per_gpu_hour,
)
from neocloud.economics.margin.analysis import CapacityBlock


class NodeShape(Protocol):
    """What costing needs of a node (a fleet-file node and a stored node both have it)."""

    @property
    def gpu_type(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def node_model(self) -> str: ...

    @property
    def gpus(self) -> int: ...


def capacity_blocks(
    nodes: Iterable[NodeShape], models: Mapping[str, NodeModel], *, regional: bool = True
) -> list[CapacityBlock]:
    """One block per GPU type × region × node model × node size, with its cost per GPU-hour.

    regional=False leaves blocks without a region, so they serve usage from any region (a
    replay whose usage carries no real regions).
    """
    groups: dict[tuple[str, str, str, int], int] = defaultdict(int)
    for node in nodes:
        region = node.region if regional else ""
        groups[(node.gpu_type, region, node.node_model, node.gpus)] += node.gpus
    blocks = []
    for (gpu_type, region, model_name, per_node), gpus in sorted(groups.items()):
        model = models[model_name]
        blocks.append(
            CapacityBlock(
                gpu_type=gpu_type,
                gpus=gpus,
                cost=cost_per_gpu_hour(model, per_node),
                idle_energy=idle_energy_per_gpu_hour(model, per_node),
                region=region if regional else None,
                wear=wear_per_gpu_hour(model, per_node),
            )
        )
    return blocks


def capacity_of(fleet: Fleet) -> list[CapacityBlock]:
    """A parsed fleet's capacity, not tied to regions (what a what-if replay costs against)."""
    return capacity_blocks(fleet.nodes, fleet.node_models, regional=False)
