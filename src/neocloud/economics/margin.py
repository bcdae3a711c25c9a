"""Gross margin over a period: revenue against the cost of the capacity that produced it.

Inputs are plain data: the fleet's capacity as CapacityBlocks (one per node model × GPU type, so a
GPU type on several node models is costed GPU-weighted), the usage spans of every org, and rated
revenue per (GPU type, tier) taken from invoice lines.

Each (GPU type, tier) cell is costed with one multiplication and one division at the context's
Decimal precision; every total, row and difference is then an exact sum of those cells, so the rows
add up to the totals to the last digit. Nothing is rounded to the cent: this is a report, not an
invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, Inexact, localcontext

from neocloud.billing.intervals import hours, require_interval, seconds_between
from neocloud.billing.usage import UsageSpan, clip, unique_spans
from neocloud.domain.jobs import Tier
from neocloud.domain.money import DEFAULT_CURRENCY, SECONDS_PER_HOUR
from neocloud.economics.cost_model import CostBreakdown

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# Wide enough that adding up cells of any realistic size is exact; Inexact is trapped, so a sum
# that could not be exact fails loudly instead of drifting.
_EXACT_PRECISION = 1000

_Cell = tuple[str, Tier]


class MissingCapacity(ValueError):
    """Usage of a GPU type the capacity does not include, so its cost is unknown."""

    def __init__(self, gpu_type: str) -> None:
        self.gpu_type = gpu_type
        super().__init__(f"usage of GPU type {gpu_type} but no capacity (and so no cost) for it")


@dataclass(frozen=True, slots=True)
class CapacityBlock:
    """GPUs of one type on one node model, and what one of their GPU-hours costs."""

    gpu_type: str
    gpus: int
    cost: CostBreakdown
    idle_energy: Decimal

    def __post_init__(self) -> None:
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 0:
            raise ValueError(f"capacity of {self.gpu_type}: gpus must be >= 0, got {self.gpus}")
        for name, value in (("total", self.cost.total), ("energy", self.cost.energy)):
            if not value.is_finite() or value < 0:
                raise ValueError(f"capacity of {self.gpu_type}: cost {name} must be >= 0")
        if not self.idle_energy.is_finite() or self.idle_energy < 0:
            raise ValueError(f"capacity of {self.gpu_type}: idle_energy must be >= 0")


@dataclass(frozen=True, slots=True)
class MarginRow:
    """Revenue, cost and margin of one slice: a GPU type (gpu_type set) or a tier (tier set).

    capacity_gpu_hours and idle_cost belong to GPU types only: idle capacity has no tier.
    """

    gpu_type: str | None
    tier: Tier | None
    gpu_hours_used: Decimal
    revenue: Decimal
    used_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    capacity_gpu_hours: Decimal | None = None
    idle_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarginReport:
    """Gross margin over [start, end); idle cost is its own line, not hidden in used cost."""

    start: datetime
    end: datetime
    currency: str
    capacity_gpu_hours: Decimal
    used_gpu_hours: Decimal
    utilisation: Decimal
    revenue: Decimal
    used_cost: Decimal
    idle_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    margin_after_idle: Decimal
    by_gpu_type: list[MarginRow]
    by_tier: list[MarginRow]


@dataclass(frozen=True, slots=True)
class _TypeCost:
    """A GPU type's capacity, its cost summed over its node models as GPU-weighted totals."""

    gpus: int
    busy: Decimal  # Σ gpus × (fixed + busy energy) per GPU-hour
    idle: Decimal  # Σ gpus × (fixed + idle energy) per GPU-hour

    def cost_of(self, gpu_seconds: Decimal, weighted: Decimal) -> Decimal:
        """Cost of gpu_seconds at a GPU-weighted rate (one multiplication, one division)."""
        if gpu_seconds == 0:
            return _ZERO
        return gpu_seconds * weighted / (self.gpus * SECONDS_PER_HOUR)


def margin_report(
    start: datetime,
    end: datetime,
    capacity: Sequence[CapacityBlock],
    spans: Iterable[UsageSpan],
    revenue: Mapping[tuple[str, Tier], Decimal],
    currency: str = DEFAULT_CURRENCY,
) -> MarginReport:
    """Gross margin of [start, end): costs from capacity, used hours from spans, rated revenue.

    - capacity GPU-hours = GPUs × period hours, per GPU type;
    - used cost = used GPU-hours × (fixed + busy energy) per GPU-hour, GPU-weighted;
    - idle cost = idle GPU-hours × (fixed + idle energy); idle is never negative, even when
      (bad) usage exceeds capacity;
    - internal-tier revenue counts as 0: internal work is valued at cost, so its cost is
      all it shows;
    - gross margin = revenue − used cost; margin % = margin / revenue × 100 (None if no
      revenue); margin after idle = gross margin − idle cost; utilisation = used / capacity.
    Costs and revenue are taken to be in `currency`. Usage of a GPU type with no capacity
    raises MissingCapacity.
    """
    require_interval(start, end, "margin period")
    period_seconds = seconds_between(start, end)
    types = _type_costs(capacity)
    used_seconds: dict[_Cell, Decimal] = defaultdict(Decimal)
    for span in unique_spans(spans):
        clipped = clip(span, start, end)
        if clipped is not None:
            used_seconds[(clipped.gpu_type, clipped.tier)] += clipped.gpu_seconds
    cells = sorted(set(used_seconds) | {cell for cell in revenue if cell[1] is not Tier.INTERNAL})
    cell_rows = {
        cell: _cell_row(cell, used_seconds.get(cell, _ZERO), types, revenue) for cell in cells
    }

    by_gpu_type: list[MarginRow] = []
    for gpu_type in sorted(set(types) | {gpu_type for gpu_type, _ in cells}):
        cost = types.get(gpu_type, _TypeCost(0, _ZERO, _ZERO))
        capacity_seconds = cost.gpus * period_seconds
        used = _exact_sum(s for (g, _), s in used_seconds.items() if g == gpu_type)
        idle_seconds = max(_ZERO, capacity_seconds - used)
        by_gpu_type.append(
            _summed(
                [row for (g, _), row in cell_rows.items() if g == gpu_type],
                gpu_type=gpu_type,
                capacity_gpu_hours=hours(capacity_seconds),
                idle_cost=cost.cost_of(idle_seconds, cost.idle),
            )
        )
    by_tier = [
        _summed([row for (_, t), row in cell_rows.items() if t == tier], tier=tier)
        for tier in sorted({tier for _, tier in cells}, key=lambda t: t.rank)
    ]
    total = _summed(list(cell_rows.values()))
    capacity_hours = _exact_sum(row.capacity_gpu_hours or _ZERO for row in by_gpu_type)
    idle_cost = _exact_sum(row.idle_cost or _ZERO for row in by_gpu_type)
    return MarginReport(
        start=start,
        end=end,
        currency=currency,
        capacity_gpu_hours=capacity_hours,
        used_gpu_hours=total.gpu_hours_used,
        utilisation=total.gpu_hours_used / capacity_hours if capacity_hours else _ZERO,
        revenue=total.revenue,
        used_cost=total.used_cost,
        idle_cost=idle_cost,
        gross_margin=total.gross_margin,
        margin_pct=total.margin_pct,
        margin_after_idle=_exact_difference(total.gross_margin, idle_cost),
        by_gpu_type=by_gpu_type,
        by_tier=by_tier,
    )


def _type_costs(capacity: Sequence[CapacityBlock]) -> dict[str, _TypeCost]:
    totals: dict[str, _TypeCost] = {}
    for block in capacity:
        if block.gpus == 0:
            continue
        fixed = block.gpus * block.cost.fixed
        prior = totals.get(block.gpu_type, _TypeCost(0, _ZERO, _ZERO))
        totals[block.gpu_type] = _TypeCost(
            gpus=prior.gpus + block.gpus,
            busy=_exact_sum((prior.busy, fixed, block.gpus * block.cost.energy)),
            idle=_exact_sum((prior.idle, fixed, block.gpus * block.idle_energy)),
        )
    return totals


def _cell_row(
    cell: _Cell,
    used_seconds: Decimal,
    types: Mapping[str, _TypeCost],
    revenue: Mapping[tuple[str, Tier], Decimal],
) -> MarginRow:
    gpu_type, tier = cell
    cost = types.get(gpu_type)
    if cost is None and used_seconds > 0:
        raise MissingCapacity(gpu_type)
    used_cost = cost.cost_of(used_seconds, cost.busy) if cost is not None else _ZERO
    earned = _ZERO if tier is Tier.INTERNAL else revenue.get(cell, _ZERO)
    if not earned.is_finite():
        raise ValueError(f"revenue of {gpu_type} {tier} must be a finite number")
    return _row(hours(used_seconds), earned, used_cost, gpu_type=gpu_type, tier=tier)


def _summed(
    parts: list[MarginRow],
    *,
    gpu_type: str | None = None,
    tier: Tier | None = None,
    capacity_gpu_hours: Decimal | None = None,
    idle_cost: Decimal | None = None,
) -> MarginRow:
    """A row that is the exact sum of finer rows."""
    return _row(
        _exact_sum(p.gpu_hours_used for p in parts),
        _exact_sum(p.revenue for p in parts),
        _exact_sum(p.used_cost for p in parts),
        gpu_type=gpu_type,
        tier=tier,
        capacity_gpu_hours=capacity_gpu_hours,
        idle_cost=idle_cost,
    )


def _row(
    gpu_hours: Decimal,
    earned: Decimal,
    used_cost: Decimal,
    *,
    gpu_type: str | None = None,
    tier: Tier | None = None,
    capacity_gpu_hours: Decimal | None = None,
    idle_cost: Decimal | None = None,
) -> MarginRow:
    margin = _exact_difference(earned, used_cost)
    return MarginRow(
        gpu_type=gpu_type,
        tier=tier,
        gpu_hours_used=gpu_hours,
        revenue=earned,
        used_cost=used_cost,
        gross_margin=margin,
        margin_pct=margin / earned * _HUNDRED if earned else None,
        capacity_gpu_hours=capacity_gpu_hours,
        idle_cost=idle_cost,
    )


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        ctx.traps[Inexact] = True
        return sum(values, _ZERO)


def _exact_difference(a: Decimal, b: Decimal) -> Decimal:
    # Even negation rounds to the context, so the subtraction too runs in the wide context.
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        ctx.traps[Inexact] = True
        return a - b
