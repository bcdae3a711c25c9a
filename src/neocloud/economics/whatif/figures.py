"""The what-if: a replayed run's revenue, cost and margin under a selling policy, vs a baseline.

For each run (docs/economics.md, "What if"):

- usage: one span per allocation the simulator recorded, trace second 0 at the policy's start;
- revenue: every external org's usage rated with billing's rating engine from the policy's
  price book, one invoice per org and calendar month (lines rounded to the cent as invoices are),
  plus each reserved contract's take-or-pay line for the days of the month its term covers;
- cost and margin: economics.margin.analysis over the common period [start, start + horizon),
  the same for every run compared, so that each run pays for the same capacity; by calendar
  month too.

Pure: plain data in, figures out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.billing.charges import exact_arithmetic
from neocloud.billing.contracts import contract_lines
from neocloud.billing.periods import month_slices
from neocloud.billing.rating import rate_usage
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.economics.exact import exact_difference, exact_sum
from neocloud.economics.margin.analysis import (
    CapacityBlock,
    MarginReport,
    MarginRow,
    RevenueItem,
    margin_analysis,
)
from neocloud.economics.whatif.policy import SellingPolicy
from neocloud.economics.whatif.replay import (
    ExternalDemand,
    Replay,
    TeamFigures,
    instant,
    usage_spans,
)
from neocloud.economics.whatif.series import UtilisationSeries, utilisation_series

# Month-equivalents of a period: HOURS_PER_YEAR / 12, as the cost model counts a kW-month.
HOURS_PER_MONTH = Decimal(730)
_ZERO = Decimal(0)


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
    return Horizon(origin, end, end_s, tuple(month_slices(origin, end)), bucket_s)


def evaluate(
    name: str,
    replay: Replay,
    policy: SellingPolicy,
    fleet: FleetEconomics,
    period: Horizon,
) -> RunFigures:
    """Revenue, cost and margin of one run over the common period, in total and by month."""
    spans = usage_spans(replay, period.start, fleet.regions)
    revenue = rate_revenue(spans, policy, period)
    report = margin_analysis(
        period.start, period.end, fleet.capacity, spans, revenue, currency=policy.currency
    )
    by_month = {row.month: row for row in report.by_month}
    months = tuple(
        _figures(label, start, end, by_month[label], [i for i in revenue if i.month == label])
        for label, start, end in period.months
    )
    return RunFigures(
        name=name,
        caps=policy.caps(),
        total=_figures("total", period.start, period.end, report, revenue),
        months=months,
        by_gpu_type=_types(report),
        internal=replay.internal,
        external=replay.external,
        series=utilisation_series(replay, fleet.fleet_gpus, period.seconds, period.bucket_s),
    )


def rate_revenue(
    spans: Sequence[UsageSpan], policy: SellingPolicy, period: Horizon
) -> list[RevenueItem]:
    """Revenue by org and calendar month: one rated invoice per external org and month, plus
    every contract's take-or-pay line for the days of its term (the whole period)."""
    book = policy.price_book()
    contracts = policy.reserved_contracts(period.end)
    by_org: dict[str, list[UsageSpan]] = defaultdict(list)
    for span in spans:
        if span.tier.external:
            by_org[span.org].append(span)
    items: list[RevenueItem] = []
    for month, start, end in period.months:
        for org in sorted(by_org):
            mine = [c for c in contracts if c.org == org]
            lines = rate_usage(
                org, start, end, by_org[org], (), {}, book, policy.currency, contracts=mine
            )
            items += [
                RevenueItem(org, month, total.amount, key.gpu_type, key.tier)
                for key, total in lines.items()
            ]
        for contract in contracts:
            items += [
                RevenueItem(contract.org, month, line.amount, contract.gpu_type, Tier.RESERVED)
                for line in contract_lines(contract, start, end)
            ]
    return items


def _figures(
    label: str,
    start: datetime,
    end: datetime,
    margin: MarginReport | MarginRow,
    revenue: Sequence[RevenueItem],
) -> PeriodFigures:
    by_tier: dict[Tier, Decimal] = defaultdict(Decimal)
    for item in revenue:
        if item.tier is not None:
            by_tier[item.tier] = exact_sum((by_tier[item.tier], item.amount))
    # What selling used: every used GPU-hour that internal work did not hold.
    external_cost = exact_difference(margin.used_cost, margin.internal_cost)
    return PeriodFigures(
        label=label,
        start=start,
        end=end,
        revenue=margin.revenue,
        revenue_by_tier={t: by_tier[t] for t in sorted(by_tier, key=lambda t: t.rank)},
        used_cost=margin.used_cost,
        idle_cost=margin.idle_cost,
        gross_margin=margin.gross_margin,
        margin_pct=margin.margin_pct,
        margin_after_idle=margin.margin_after_idle,
        utilisation=margin.utilisation or _ZERO,
        external_used_cost=external_cost,
        external_gross_margin=exact_difference(margin.revenue, external_cost),
    )


def _types(report: MarginReport) -> tuple[TypeFigures, ...]:
    return tuple(
        TypeFigures(
            gpu_type=row.gpu_type,
            capacity_gpu_hours=row.capacity_gpu_hours or _ZERO,
            used_gpu_hours=row.gpu_hours_used,
            internal_gpu_hours=row.internal_gpu_hours,
            utilisation=row.utilisation or _ZERO,
            revenue=row.revenue,
            used_cost=row.used_cost,
            idle_cost=row.idle_cost,
        )
        for row in report.by_gpu_type
        if row.gpu_type is not None
    )
