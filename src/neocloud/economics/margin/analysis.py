"""Gross margin over a period: revenue against the cost of the capacity that produced it.

Inputs are plain data: the fleet's capacity as CapacityBlocks (GPUs of one type in one region on
one node model), every org's usage spans, the revenue rated from invoice lines as RevenueItems,
and optionally the external price internal use displaced (opportunity items) and the list price
per GPU type (for the price guide).

The period is cut at UTC month boundaries. The unit of account is a *cell*: one month × GPU type
× tier × org × region. A cell's used cost is one multiplication and one division at the context's
Decimal precision; idle cost belongs to a *pool* (month × GPU type × region of the capacity) and,
when the operator shares it out, is split over the pool's cells with `split_exactly`. Every row
and total is then an exact sum of cells, so the rows of each breakdown add up to the totals to
the last digit. Nothing is rounded to the cent: this is a report, not an invoice.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from neocloud.billing.intervals import hours, require_interval, seconds_between
from neocloud.billing.periods import month_slices, period_of
from neocloud.billing.usage import UsageSpan, clip, unique_spans
from neocloud.domain.jobs import Tier
from neocloud.domain.money import DEFAULT_CURRENCY, SECONDS_PER_HOUR
from neocloud.economics.cost_model import CostBreakdown
from neocloud.economics.exact import ZERO, exact_difference, exact_sum
from neocloud.economics.margin.idle_share import IdleShare, share_idle
from neocloud.economics.margin.price_guide import DEFAULT_TARGET_MARGIN_PCT, PriceGuide, price_guide

_HUNDRED = Decimal(100)


class MissingCapacity(ValueError):
    """Usage of a GPU type (or region) the capacity does not include, so its cost is unknown."""

    def __init__(self, gpu_type: str, region: str | None = None) -> None:
        self.gpu_type = gpu_type
        self.region = region
        where = f" in region {region}" if region is not None else ""
        super().__init__(
            f"usage of GPU type {gpu_type}{where} but no capacity (and so no cost) for it"
        )


@dataclass(frozen=True, slots=True)
class CapacityBlock:
    """GPUs of one type on one node model, and what one of their GPU-hours costs.

    `region` None means the capacity is not tied to a region: it serves usage from any region.
    `wear` is the part of the depreciation per GPU-hour that use itself consumes (price floor).
    """

    gpu_type: str
    gpus: int
    cost: CostBreakdown
    idle_energy: Decimal
    region: str | None = None
    wear: Decimal = ZERO

    def __post_init__(self) -> None:
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 0:
            raise ValueError(f"capacity of {self.gpu_type}: gpus must be >= 0, got {self.gpus}")
        for name, value in (("total", self.cost.total), ("energy", self.cost.energy)):
            if not value.is_finite() or value < 0:
                raise ValueError(f"capacity of {self.gpu_type}: cost {name} must be >= 0")
        for name, value in (("idle_energy", self.idle_energy), ("wear", self.wear)):
            if not value.is_finite() or value < 0:
                raise ValueError(f"capacity of {self.gpu_type}: {name} must be >= 0")


@dataclass(frozen=True, slots=True)
class RevenueItem:
    """Money earned (or, as opportunity, displaced) from one org in one month.

    gpu_type, tier and region are set where the invoice line says them; a minimum-spend
    true-up or a token meter line may carry none of them.
    """

    org: str
    month: str
    amount: Decimal
    gpu_type: str | None = None
    tier: Tier | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if self.tier is not None:
            object.__setattr__(self, "tier", Tier(self.tier))
        if not self.amount.is_finite():
            raise ValueError(f"revenue of {self.org} in {self.month} must be a finite number")


@dataclass(frozen=True, slots=True)
class MarginRow:
    """Revenue, cost and margin of one slice; keys not grouped by are None.

    - shared_idle_cost: idle cost shared onto this slice's usage (0 when idle is its own line);
    - idle_cost: idle cost the slice carries: a capacity slice (GPU type, region, month) carries
      its pools' whole idle cost, any other slice its shared part;
    - gross_margin = revenue − used_cost − shared_idle_cost;
    - margin_after_idle = revenue − used_cost − idle_cost;
    - internal_cost: the used cost of internal work (what showback charges internal teams);
    - opportunity_value: internal GPU-hours at the external price they displaced.
    capacity_gpu_hours and utilisation belong to capacity slices only.
    """

    gpu_hours_used: Decimal
    revenue: Decimal
    used_cost: Decimal
    shared_idle_cost: Decimal
    idle_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    margin_after_idle: Decimal
    internal_gpu_hours: Decimal
    internal_cost: Decimal
    opportunity_value: Decimal
    gpu_type: str | None = None
    tier: Tier | None = None
    org: str | None = None
    region: str | None = None
    month: str | None = None
    capacity_gpu_hours: Decimal | None = None
    utilisation: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MarginReport:
    """Gross margin over [start, end), its breakdowns and the price guide per GPU type."""

    start: datetime
    end: datetime
    currency: str
    idle_share: IdleShare
    capacity_gpu_hours: Decimal
    used_gpu_hours: Decimal
    utilisation: Decimal
    revenue: Decimal
    used_cost: Decimal
    shared_idle_cost: Decimal
    idle_cost: Decimal
    total_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    margin_after_idle: Decimal
    internal_gpu_hours: Decimal
    internal_cost: Decimal
    opportunity_value: Decimal
    by_gpu_type: list[MarginRow]
    by_tier: list[MarginRow]
    by_org: list[MarginRow] = field(default_factory=list)
    by_region: list[MarginRow] = field(default_factory=list)
    by_month: list[MarginRow] = field(default_factory=list)
    pricing: list[PriceGuide] = field(default_factory=list)


# A cell: month, GPU type, tier, org, region (GPU type and tier None for revenue tied to neither).
_Cell = tuple[str, str | None, Tier | None, str, str | None]
# A pool of capacity: month, GPU type, region of the capacity (None: any region).
_Pool = tuple[str, str, str | None]


@dataclass(slots=True)
class _CellFigures:
    used_seconds: Decimal = ZERO
    # Hours once per cell (a third of a second has no exact form): rows add these up exactly.
    used_hours: Decimal = ZERO
    revenue: Decimal = ZERO
    used_cost: Decimal = ZERO
    shared_idle: Decimal = ZERO
    opportunity: Decimal = ZERO
    pool: _Pool | None = None
    internal: bool = False


@dataclass(frozen=True, slots=True)
class _Rates:
    """One GPU type in one capacity region: its GPUs and GPU-weighted costs per GPU-hour."""

    gpus: int
    busy: Decimal  # Σ gpus × (fixed + busy energy)
    idle: Decimal  # Σ gpus × (fixed + idle energy)

    def cost_of(self, gpu_seconds: Decimal, weighted: Decimal) -> Decimal:
        """Cost of gpu_seconds at a GPU-weighted rate (one multiplication, one division)."""
        if gpu_seconds == 0:
            return ZERO
        return gpu_seconds * weighted / (self.gpus * SECONDS_PER_HOUR)


@dataclass(slots=True)
class _PoolFigures:
    capacity_seconds: Decimal
    idle_cost: Decimal = ZERO

    @property
    def capacity_hours(self) -> Decimal:
        """Capacity GPU-hours (exact: a month slice is whole microseconds × whole GPUs)."""
        return hours(self.capacity_seconds)


def margin_analysis(
    start: datetime,
    end: datetime,
    capacity: Sequence[CapacityBlock],
    spans: Iterable[UsageSpan],
    revenue: Iterable[RevenueItem],
    *,
    idle_share: IdleShare = IdleShare.LINE,
    opportunity: Iterable[RevenueItem] = (),
    list_prices: Mapping[str, Decimal] | None = None,
    target_margin_pct: Decimal = DEFAULT_TARGET_MARGIN_PCT,
    currency: str = DEFAULT_CURRENCY,
) -> MarginReport:
    """Gross margin of [start, end) by GPU type, tier, org, region and month.

    - capacity GPU-hours = GPUs × hours, per pool (month × GPU type × capacity region);
    - used cost = used GPU-hours × (fixed + busy energy), GPU-weighted over node models;
    - idle cost = max(0, capacity − used) GPU-hours × (fixed + idle energy): never negative;
    - idle_share chooses where idle cost goes: its own line, or shared over the pool's usage
      evenly by org or by used cost (a pool nobody used keeps its idle cost as a line);
    - internal-tier revenue counts as 0: internal work is valued at cost (and, through
      `opportunity`, at the external price it displaced).
    Usage of a GPU type with no capacity raises MissingCapacity.
    """
    require_interval(start, end, "margin period")
    rates, regions_of = _rates(capacity)
    cells: dict[_Cell, _CellFigures] = defaultdict(_CellFigures)
    pools: dict[_Pool, _PoolFigures] = {}
    for month, lo, hi in month_slices(start, end):
        seconds = seconds_between(lo, hi)
        for gpu_type, region in rates:
            pools[(month, gpu_type, region)] = _PoolFigures(
                rates[(gpu_type, region)].gpus * seconds
            )
    _add_usage(cells, unique_spans(spans), start, end, rates, regions_of)
    for item in revenue:
        if item.tier is not Tier.INTERNAL:
            figures = cells[_item_cell(item, start)]
            figures.revenue = exact_sum((figures.revenue, item.amount))
    for item in opportunity:
        figures = cells[_item_cell(item, start)]
        figures.opportunity = exact_sum((figures.opportunity, item.amount))
    _cost_idle(cells, pools, rates)
    if idle_share is not IdleShare.LINE:
        _share(cells, pools, idle_share)

    total = _row(list(cells.values()), list(pools.values()), capacity_slice=True)
    return MarginReport(
        start=start,
        end=end,
        currency=currency,
        idle_share=idle_share,
        capacity_gpu_hours=total.capacity_gpu_hours or ZERO,
        used_gpu_hours=total.gpu_hours_used,
        utilisation=total.utilisation or ZERO,
        revenue=total.revenue,
        used_cost=total.used_cost,
        shared_idle_cost=total.shared_idle_cost,
        idle_cost=total.idle_cost,
        total_cost=exact_sum((total.used_cost, total.idle_cost)),
        gross_margin=total.gross_margin,
        margin_pct=total.margin_pct,
        margin_after_idle=total.margin_after_idle,
        internal_gpu_hours=total.internal_gpu_hours,
        internal_cost=total.internal_cost,
        opportunity_value=total.opportunity_value,
        by_gpu_type=_rows_by(cells, pools, "gpu_type", lambda c: c[1], lambda p: p[1]),
        by_tier=_rows_by(cells, pools, "tier", lambda c: c[2], None),
        by_org=_rows_by(cells, pools, "org", lambda c: c[3], None),
        by_region=_rows_by(cells, pools, "region", lambda c: c[4], lambda p: p[2]),
        by_month=_rows_by(cells, pools, "month", lambda c: c[0], lambda p: p[0]),
        pricing=_pricing(capacity, _usage_by_type(cells, pools), list_prices, target_margin_pct),
    )


def _cost_idle(
    cells: Mapping[_Cell, _CellFigures],
    pools: Mapping[_Pool, _PoolFigures],
    rates: Mapping[tuple[str, str | None], _Rates],
) -> None:
    """Each pool's idle cost: the GPU-seconds its cells left unused, at fixed + idle energy."""
    used_in_pool: dict[_Pool, Decimal] = defaultdict(Decimal)
    for figures in cells.values():
        if figures.pool is not None:
            used_in_pool[figures.pool] = exact_sum(
                (used_in_pool[figures.pool], figures.used_seconds)
            )
    for pool_key, pool in pools.items():
        idle_seconds = max(ZERO, pool.capacity_seconds - used_in_pool[pool_key])
        pool.idle_cost = rates[pool_key[1:]].cost_of(idle_seconds, rates[pool_key[1:]].idle)


def _rates(
    capacity: Sequence[CapacityBlock],
) -> tuple[dict[tuple[str, str | None], _Rates], dict[str, set[str | None]]]:
    rates: dict[tuple[str, str | None], _Rates] = {}
    for block in capacity:
        if block.gpus == 0:
            continue
        key = (block.gpu_type, block.region)
        fixed = block.gpus * block.cost.fixed
        prior = rates.get(key, _Rates(0, ZERO, ZERO))
        rates[key] = _Rates(
            gpus=prior.gpus + block.gpus,
            busy=exact_sum((prior.busy, fixed, block.gpus * block.cost.energy)),
            idle=exact_sum((prior.idle, fixed, block.gpus * block.idle_energy)),
        )
    regions_of: dict[str, set[str | None]] = defaultdict(set)
    for gpu_type, region in rates:
        regions_of[gpu_type].add(region)
    return rates, regions_of


def _add_usage(
    cells: dict[_Cell, _CellFigures],
    spans: list[UsageSpan],
    start: datetime,
    end: datetime,
    rates: Mapping[tuple[str, str | None], _Rates],
    regions_of: Mapping[str, set[str | None]],
) -> None:
    seconds: dict[_Cell, Decimal] = defaultdict(Decimal)
    pool_of: dict[_Cell, _Pool] = {}
    for span in spans:
        clipped = clip(span, start, end)
        if clipped is None:
            continue
        regions = regions_of.get(span.gpu_type, set())
        capacity_region = span.region if span.region in regions else None
        if capacity_region not in regions:
            raise MissingCapacity(span.gpu_type, span.region if regions else None)
        for month, lo, hi in month_slices(clipped.start, clipped.end):
            key: _Cell = (month, span.gpu_type, span.tier, span.org, span.region)
            seconds[key] += span.gpus * seconds_between(lo, hi)
            pool_of[key] = (month, span.gpu_type, capacity_region)
    for key, used in seconds.items():
        pool = pool_of[key]
        figures = cells[key]
        figures.pool = pool
        figures.internal = key[2] is Tier.INTERNAL
        figures.used_seconds = used
        figures.used_hours = hours(used)
        rate = rates[pool[1:]]
        figures.used_cost = rate.cost_of(used, rate.busy)


def _item_cell(item: RevenueItem, start: datetime) -> _Cell:
    return (item.month or period_of(start), item.gpu_type, item.tier, item.org, item.region)


def _share(
    cells: Mapping[_Cell, _CellFigures], pools: Mapping[_Pool, _PoolFigures], how: IdleShare
) -> None:
    users: dict[_Pool, list[tuple[_Cell, _CellFigures]]] = defaultdict(list)
    for cell, figures in sorted(cells.items(), key=lambda kv: _sort_key(kv[0])):
        if figures.pool is not None and figures.used_seconds > 0:
            users[figures.pool].append((cell, figures))
    for pool_key, pool in pools.items():
        mine = users.get(pool_key)
        if not mine or pool.idle_cost == 0:
            continue
        shares = share_idle(
            pool.idle_cost,
            [(cell[3], figures.used_seconds, figures.used_cost) for cell, figures in mine],
            how,
        )
        for (_, figures), part in zip(mine, shares, strict=True):
            figures.shared_idle = part


def _row(
    parts: list[_CellFigures],
    pools: list[_PoolFigures],
    *,
    capacity_slice: bool,
) -> MarginRow:
    """A row that is the exact sum of its cells (and, for capacity slices, of its pools)."""
    used_hours = exact_sum(p.used_hours for p in parts)
    revenue = exact_sum(p.revenue for p in parts)
    used_cost = exact_sum(p.used_cost for p in parts)
    shared = exact_sum(p.shared_idle for p in parts)
    idle = exact_sum(p.idle_cost for p in pools) if capacity_slice else shared
    internal = [p for p in parts if p.internal]
    capacity_hours = exact_sum(p.capacity_hours for p in pools) if capacity_slice else None
    gross = exact_difference(revenue, exact_sum((used_cost, shared)))
    return MarginRow(
        gpu_hours_used=used_hours,
        revenue=revenue,
        used_cost=used_cost,
        shared_idle_cost=shared,
        idle_cost=idle,
        gross_margin=gross,
        margin_pct=gross / revenue * _HUNDRED if revenue else None,
        margin_after_idle=exact_difference(revenue, exact_sum((used_cost, idle))),
        internal_gpu_hours=exact_sum(p.used_hours for p in internal),
        internal_cost=exact_sum(p.used_cost for p in internal),
        opportunity_value=exact_sum(p.opportunity for p in parts),
        capacity_gpu_hours=capacity_hours,
        utilisation=(
            used_hours / capacity_hours
            if capacity_hours
            else (None if capacity_hours is None else ZERO)
        ),
    )


def _rows_by(
    cells: Mapping[_Cell, _CellFigures],
    pools: Mapping[_Pool, _PoolFigures],
    name: str,
    cell_key: Callable[[_Cell], object],
    pool_key: Callable[[_Pool], object] | None,
) -> list[MarginRow]:
    grouped: dict[object, list[_CellFigures]] = defaultdict(list)
    for cell, figures in cells.items():
        grouped[cell_key(cell)].append(figures)
    pooled: dict[object, list[_PoolFigures]] = defaultdict(list)
    if pool_key is not None:
        for key, pool in pools.items():
            pooled[pool_key(key)].append(pool)
    keys = sorted(set(grouped) | set(pooled), key=_key_order)
    capacity_slice = pool_key is not None
    rows = []
    for k in keys:
        row = _row(grouped.get(k, []), pooled.get(k, []), capacity_slice=capacity_slice)
        slice_key: dict[str, Any] = {name: k}
        rows.append(dataclasses.replace(row, **slice_key))
    return rows


def _usage_by_type(
    cells: Mapping[_Cell, _CellFigures], pools: Mapping[_Pool, _PoolFigures]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Used and capacity GPU-seconds per GPU type over the period."""
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for (_, gpu_type, _), pool in pools.items():
        used, cap = out.get(gpu_type, (ZERO, ZERO))
        out[gpu_type] = (used, exact_sum((cap, pool.capacity_seconds)))
    for figures in cells.values():
        if figures.pool is None:
            continue
        used, cap = out.get(figures.pool[1], (ZERO, ZERO))
        out[figures.pool[1]] = (exact_sum((used, figures.used_seconds)), cap)
    return out


def _pricing(
    capacity: Sequence[CapacityBlock],
    usage: Mapping[str, tuple[Decimal, Decimal]],
    list_prices: Mapping[str, Decimal] | None,
    target_margin_pct: Decimal,
) -> list[PriceGuide]:
    prices = list_prices or {}
    guides = []
    for gpu_type in sorted({b.gpu_type for b in capacity if b.gpus}):
        used, cap = usage.get(gpu_type, (ZERO, ZERO))
        blocks = [b for b in capacity if b.gpu_type == gpu_type and b.gpus]
        guides.append(
            price_guide(
                gpu_type,
                blocks,
                used / cap if cap else None,
                prices.get(gpu_type),
                target_margin_pct,
            )
        )
    return guides


def _key_order(key: object) -> tuple[int, object]:
    # None (not tied to a slice value) sorts last; tiers by rank, everything else by value.
    if key is None:
        return (1, "")
    if isinstance(key, Tier):
        return (0, key.rank)
    return (0, key)


def _sort_key(cell: _Cell) -> tuple[object, ...]:
    return tuple(_key_order(part) for part in cell)
