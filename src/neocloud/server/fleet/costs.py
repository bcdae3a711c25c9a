"""What the fleet costs: per GPU type, GPU-weighted over the node models that make it up."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.economics.margin.analysis import CapacityBlock
from neocloud.economics.margin.capacity import capacity_blocks as costed_blocks
from neocloud.server.fleet.service import current_fleet
from neocloud.store.models import NodeRow


def load_capacity_blocks(s: Session) -> list[CapacityBlock]:
    """The current fleet's capacity (nodes not retired), costed by the fleet's node models."""
    fleet = current_fleet(s)
    if fleet is None:
        return []
    nodes = s.scalars(select(NodeRow).where(NodeRow.retired.is_(False))).all()
    return costed_blocks(nodes, fleet.node_models)


def unit_cost_by_gpu_type(s: Session) -> dict[str, Decimal]:
    """Full cost of one used GPU-hour per GPU type (GPU-weighted across node models)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    gpus: dict[str, int] = defaultdict(int)
    for b in load_capacity_blocks(s):
        totals[b.gpu_type] += b.cost.total * b.gpus
        gpus[b.gpu_type] += b.gpus
    return {t: totals[t] / gpus[t] for t in totals}
