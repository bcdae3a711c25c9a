"""What the fleet costs: per GPU type, GPU-weighted over the node models that make it up."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.economics.cost_model import (
    cost_per_gpu_hour,
    idle_energy_per_gpu_hour,
    wear_per_gpu_hour,
)
from neocloud.economics.margin import CapacityBlock
from neocloud.server.services.fleet import current_fleet
from neocloud.store.models import NodeRow


def capacity_blocks(s: Session) -> list[CapacityBlock]:
    """One block per GPU type × region × node model × node size, with its cost per GPU-hour."""
    fleet = current_fleet(s)
    if fleet is None:
        return []
    groups: dict[tuple[str, str, str, int], int] = defaultdict(int)
    for n in s.scalars(select(NodeRow).where(NodeRow.retired.is_(False))).all():
        groups[(n.gpu_type, n.region, n.node_model, n.gpus)] += n.gpus
    blocks = []
    for (gpu_type, region, model_name, per_node), gpus in sorted(groups.items()):
        model = fleet.node_models[model_name]
        blocks.append(
            CapacityBlock(
                gpu_type=gpu_type,
                gpus=gpus,
                cost=cost_per_gpu_hour(model, per_node),
                idle_energy=idle_energy_per_gpu_hour(model, per_node),
                region=region,
                wear=wear_per_gpu_hour(model, per_node),
            )
        )
    return blocks


def unit_cost_by_gpu_type(s: Session) -> dict[str, Decimal]:
    """Full cost of one used GPU-hour per GPU type (GPU-weighted across node models)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    gpus: dict[str, int] = defaultdict(int)
    for b in capacity_blocks(s):
        totals[b.gpu_type] += b.cost.total * b.gpus
        gpus[b.gpu_type] += b.gpus
    return {t: totals[t] / gpus[t] for t in totals}
