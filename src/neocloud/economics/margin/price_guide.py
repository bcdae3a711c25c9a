"""What to charge for a GPU type: break-even allocation, price floor and target-margin price.

Per GPU-hour of capacity, GPU-weighted over the node models of the type: `fixed` is paid
whether or not a GPU is busy, a busy GPU adds `busy energy`, an idle one `idle energy`, and
`wear` is the part of depreciation that use itself consumes. At allocation rate u (used ÷
capacity GPU-hours), selling every used hour at price p:

    revenue per capacity hour = u × p
    cost per capacity hour    = fixed + u × busy energy + (1 − u) × idle energy
    break-even u*             = (fixed + idle energy) / (p − busy energy + idle energy)
    cost per used GPU-hour    = (fixed + u × busy energy + (1 − u) × idle energy) / u
    target-margin price       = cost per used GPU-hour / (1 − target margin %)
    price floor               = busy energy − idle energy + wear

Below the floor, running a job costs more than leaving the GPU idle: spot must not sell there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.economics.exact import exact_sum

if TYPE_CHECKING:
    from neocloud.economics.margin.analysis import CapacityBlock

# A round target a little above the ~14–18 % gross margins GPU clouds report (DESIGN.md §5).
DEFAULT_TARGET_MARGIN_PCT = Decimal(20)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class PriceGuide:
    """The pricing figures of one GPU type, per GPU-hour, at the period's allocation rate."""

    gpu_type: str
    gpus: int
    fixed: Decimal
    busy_energy: Decimal
    idle_energy: Decimal
    wear: Decimal
    full_cost: Decimal  # fixed + busy energy: a GPU-hour at 100 % allocation
    price_floor: Decimal
    list_price: Decimal | None  # the on-demand price in force at the period's end
    utilisation: Decimal | None
    cost_per_used_gpu_hour: Decimal | None
    break_even_utilisation: Decimal | None  # None when no price, or no allocation breaks even
    target_margin_pct: Decimal
    target_price: Decimal | None


def price_guide(
    gpu_type: str,
    blocks: Sequence[CapacityBlock],
    utilisation: Decimal | None,
    list_price: Decimal | None,
    target_margin_pct: Decimal,
) -> PriceGuide:
    """The price guide of one GPU type from its capacity blocks, utilisation and list price."""
    if not Decimal(0) <= target_margin_pct < _HUNDRED:
        raise ValueError(f"target margin must be in [0, 100), got {target_margin_pct}")
    gpus = sum(b.gpus for b in blocks)
    if gpus == 0:
        raise ValueError(f"no capacity of {gpu_type} to price")

    def weighted(part: Sequence[Decimal]) -> Decimal:
        return exact_sum(b.gpus * v for b, v in zip(blocks, part, strict=True)) / gpus

    fixed = weighted([b.cost.fixed for b in blocks])
    busy = weighted([b.cost.energy for b in blocks])
    idle = weighted([b.idle_energy for b in blocks])
    wear = weighted([b.wear for b in blocks])
    per_used = None
    if utilisation is not None and utilisation > 0:
        per_used = (fixed + utilisation * busy + (1 - utilisation) * idle) / utilisation
    break_even = None
    if list_price is not None and list_price - busy + idle > 0:
        break_even = (fixed + idle) / (list_price - busy + idle)
    target = None
    if per_used is not None:
        target = per_used / (1 - target_margin_pct / _HUNDRED)
    return PriceGuide(
        gpu_type=gpu_type,
        gpus=gpus,
        fixed=fixed,
        busy_energy=busy,
        idle_energy=idle,
        wear=wear,
        full_cost=fixed + busy,
        price_floor=max(Decimal(0), busy - idle) + wear,
        list_price=list_price,
        utilisation=utilisation,
        cost_per_used_gpu_hour=per_used,
        break_even_utilisation=break_even,
        target_margin_pct=target_margin_pct,
        target_price=target,
    )
