"""The what-if: a replayed run's revenue, cost and margin under a selling policy, vs a baseline.

For each run (docs/economics.md, "What if"):

- usage: one span per allocation the simulator recorded, trace second 0 at the policy's start;
- revenue: every external org's usage rated with billing's rating engine from the policy's
  price book, one invoice per org and calendar month (lines rounded to the cent as invoices are),
  plus each reserved contract's take-or-pay line for the days of the month its term covers;
- cost and margin: economics.margin over the common period [start, start + horizon), the same
  for every run compared, so that each run pays for the same capacity; by calendar month too.

Pure: plain data in, figures out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from neocloud.billing.charges import exact_arithmetic
from neocloud.billing.contracts import contract_lines
from neocloud.billing.rating import rate_usage
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import SECONDS_PER_HOUR
from neocloud.economics.margin import CapacityBlock, MarginReport, margin_report
from neocloud.economics.whatif_policy import SellingPolicy
from neocloud.economics.whatif_replay import (
    ExternalDemand,
    Replay,
    TeamFigures,
    instant,
    usage_spans,
)
from neocloud.economics.whatif_series import UtilisationSeries, utilisation_series

# Month-equivalents of a period: HOURS_PER_YEAR / 12, as the cost model counts a kW-month.
HOURS_PER_MONTH = Decimal(730)
_ZERO = Decimal(0)

Revenue = dict[tuple[str, Tier], Decimal]


@dataclass(frozen=True, slots=True)
class TypeFigures:
    """One GPU type over the whole period."""

    gpu_type: str
    capacity_gpu_hours: Decimal
    used_gpu_hours: Decimal
    # The part of used_gpu_hours internal work held (the rest was sold).
    internal_gpu_hours: Decimal
    utilisation: Decimal
    revenue: Decimal
    used_cost: Decimal
    idle_cost: Decimal

    @property
    def external_gpu_hours(self) -> Decimal:
        """GPU-hours external work held."""
        with exact_arithmetic():
            return self.used_gpu_hours - self.internal_gpu_hours


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """Revenue, cost and margin of one run over a period (the whole horizon, or a month)."""

    label: str
    start: datetime
    end: datetime
    revenue: Decimal
    revenue_by_tier: Mapping[Tier, Decimal]
    used_cost: Decimal
    idle_cost: Decimal
    gross_margin: Decimal
    margin_pct: Decimal | None
    margin_after_idle: Decimal
    utilisation: Decimal
    # The accounting view of selling alone: revenue − the full cost of the GPU-hours sold.
    external_used_cost: Decimal
    external_gross_margin: Decimal

    @property
    def total_cost(self) -> Decimal:
        """Used + idle: what the capacity cost over the period, used or not (exact)."""
        with exact_arithmetic():
            return self.used_cost + self.idle_cost


@dataclass(frozen=True, slots=True)
class RunFigures:
    """One run: its caps, totals, months, GPU types, people's figures and utilisation."""

    name: str
    caps: Mapping[str, Decimal]
    total: PeriodFigures
    months: tuple[PeriodFigures, ...]
    by_gpu_type: tuple[TypeFigures, ...]
    internal: TeamFigures
    external: ExternalDemand
    series: UtilisationSeries


@dataclass(frozen=True, slots=True)
class Horizon:
    """The common period every compared run is costed over, and its calendar months."""

    start: datetime
    end: datetime
    seconds: float
    months: tuple[tuple[str, datetime, datetime], ...]
    bucket_s: int

    @property
    def month_equivalents(self) -> Decimal:
        """The period's length in months of 730 hours (0 for an empty period)."""
        hours = (self.end - self.start).total_seconds() / 3600
        return Decimal(str(round(hours, 6))) / HOURS_PER_MONTH


@dataclass(frozen=True, slots=True)
class FleetEconomics:
    """What the what-if needs of the fleet: capacity with costs, GPUs, region per GPU type."""

    capacity: Sequence[CapacityBlock]
    fleet_gpus: int
    regions: Mapping[str, str]


def horizon(origin: datetime, end_s: float, bucket_s: int) -> Horizon:
    """The period [origin, origin + end_s) and the calendar months (UTC) it touches."""
    end = instant(origin, end_s)
    return Horizon(origin, end, end_s, calendar_months(origin, end), bucket_s)


def calendar_months(start: datetime, end: datetime) -> tuple[tuple[str, datetime, datetime], ...]:
    """(YYYY-MM, from, to) for every UTC calendar month [start, end) touches, clipped to it."""
    months: list[tuple[str, datetime, datetime]] = []
    cursor = start.astimezone(UTC)
    while cursor < end:
        year, month = cursor.year, cursor.month
        following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        stop = min(following, end)
        months.append((f"{year:04d}-{month:02d}", cursor, stop))
        cursor = stop
    return tuple(months)


def evaluate(
    name: str,
    replay: Replay,
    policy: SellingPolicy,
    fleet: FleetEconomics,
    period: Horizon,
) -> RunFigures:
    """Revenue, cost and margin of one run over the common period, in total and by month."""
    spans = usage_spans(replay, period.start, fleet.regions)
    by_month = _split_by_month(spans, period.months)
    months = []
    total_revenue: Revenue = defaultdict(Decimal)
    for (label, start, end), month_spans in zip(period.months, by_month, strict=True):
        revenue = rate_revenue(month_spans, policy, start, end, period.end)
        for cell, amount in revenue.items():
            total_revenue[cell] += amount
        report = margin_report(start, end, fleet.capacity, month_spans, revenue, policy.currency)
        months.append(_figures(label, report, revenue))
    report = margin_report(
        period.start, period.end, fleet.capacity, spans, dict(total_revenue), policy.currency
    )
    return RunFigures(
        name=name,
        caps=policy.caps(),
        total=_figures("total", report, total_revenue),
        months=tuple(months),
        by_gpu_type=_types(report, _internal_hours(spans)),
        internal=replay.internal,
        external=replay.external,
        series=utilisation_series(replay, fleet.fleet_gpus, period.seconds, period.bucket_s),
    )


def rate_revenue(
    spans: Sequence[UsageSpan],
    policy: SellingPolicy,
    start: datetime,
    end: datetime,
    term_end: datetime,
) -> Revenue:
    """(GPU type, tier) → revenue in [start, end): one rated invoice per external org, plus
    every contract's take-or-pay line for the days of its term (policy start to term_end)."""
    revenue: Revenue = defaultdict(Decimal)
    if end <= start:
        return revenue
    book = policy.price_book()
    contracts = policy.reserved_contracts(term_end)
    by_org: dict[str, list[UsageSpan]] = defaultdict(list)
    for span in spans:
        if span.tier.external:
            by_org[span.org].append(span)
    for org in sorted(by_org):
        mine = [c for c in contracts if c.org == org]
        lines = rate_usage(
            org, start, end, by_org[org], (), {}, book, policy.currency, contracts=mine
        )
        for key, total in lines.items():
            revenue[(key.gpu_type, key.tier)] += total.amount
    for contract in contracts:
        for line in contract_lines(contract, start, end):
            revenue[(contract.gpu_type, Tier.RESERVED)] += line.amount
    return dict(revenue)


def _figures(
    label: str, report: MarginReport, revenue: Mapping[tuple[str, Tier], Decimal]
) -> PeriodFigures:
    external = [row for row in report.by_tier if row.tier is not None and row.tier.external]
    by_tier: dict[Tier, Decimal] = defaultdict(Decimal)
    with exact_arithmetic():
        external_cost = sum((row.used_cost for row in external), _ZERO)
        external_margin = report.revenue - external_cost
        for (_, tier), amount in revenue.items():
            by_tier[tier] += amount
    return PeriodFigures(
        label=label,
        start=report.start,
        end=report.end,
        revenue=report.revenue,
        revenue_by_tier={t: by_tier[t] for t in sorted(by_tier, key=lambda t: t.rank)},
        used_cost=report.used_cost,
        idle_cost=report.idle_cost,
        gross_margin=report.gross_margin,
        margin_pct=report.margin_pct,
        margin_after_idle=report.margin_after_idle,
        utilisation=report.utilisation,
        external_used_cost=external_cost,
        external_gross_margin=external_margin,
    )


def _internal_hours(spans: Sequence[UsageSpan]) -> dict[str, Decimal]:
    seconds: dict[str, Decimal] = defaultdict(Decimal)
    for span in spans:
        if not span.tier.external:
            seconds[span.gpu_type] += span.gpu_seconds
    return {gpu_type: s / SECONDS_PER_HOUR for gpu_type, s in seconds.items()}


def _types(report: MarginReport, internal: Mapping[str, Decimal]) -> tuple[TypeFigures, ...]:
    rows = []
    for row in report.by_gpu_type:
        if row.gpu_type is None:
            continue
        capacity = row.capacity_gpu_hours or _ZERO
        rows.append(
            TypeFigures(
                gpu_type=row.gpu_type,
                capacity_gpu_hours=capacity,
                used_gpu_hours=row.gpu_hours_used,
                internal_gpu_hours=internal.get(row.gpu_type, _ZERO),
                utilisation=row.gpu_hours_used / capacity if capacity else _ZERO,
                revenue=row.revenue,
                used_cost=row.used_cost,
                idle_cost=row.idle_cost or _ZERO,
            )
        )
    return tuple(rows)


def _split_by_month(
    spans: Sequence[UsageSpan], months: Sequence[tuple[str, datetime, datetime]]
) -> list[list[UsageSpan]]:
    """Each span's part in each month (most spans lie inside one month and are kept whole)."""
    starts = [start for _, start, _ in months]
    out: list[list[UsageSpan]] = [[] for _ in months]
    for span in spans:
        i = max(bisect_right(starts, span.start) - 1, 0)
        while i < len(months):
            _, lo, hi = months[i]
            if span.start >= lo and span.end <= hi:
                out[i].append(span)
                break
            a, b = max(span.start, lo), min(span.end, hi)
            if a < b:
                out[i].append(replace(span, start=a, end=b))
            if span.end <= hi:
                break
            i += 1
    return out
