"""Gross margin: revenue against the cost of used capacity, with idle cost on its own line."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.usage import UsageSpan, clip
from neocloud.domain.jobs import Tier
from neocloud.economics.cost_model import CostBreakdown
from neocloud.economics.margin.analysis import (
    CapacityBlock,
    MarginReport,
    MarginRow,
    MissingCapacity,
    RevenueItem,
    margin_analysis,
)

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)
START, END = T0, T0 + timedelta(hours=10)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def cost(fixed: str, energy: str) -> CostBreakdown:
    """A breakdown whose fixed part is all depreciation (the split does not matter to margins)."""
    return CostBreakdown(D(fixed), D(0), D(energy), D(0), D(0), D(fixed) + D(energy))


def span(
    start: float,
    end: float,
    gpus: int,
    tier: Tier,
    gpu_type: str = "h100",
    id: str | None = None,
) -> UsageSpan:
    return UsageSpan(
        id or f"{gpu_type}-{tier}-{start}-{end}-{gpus}",
        "org",
        None,
        "job",
        gpu_type,
        tier,
        "us-east",
        gpus,
        at(start),
        at(end),
    )


# Hand-computed case over 10 hours.
# h100: one block of 8 GPUs, fixed 1.5 + busy energy 0.1 = 1.6 per used GPU-hour, idle 1.5 + 0.03.
#   used: on_demand 4 GPUs × 5 h = 20; internal 2 × 10 = 20; spot 1 GPU 8 h→12 h clipped to 2
#         → 42 GPU-hours of 80; idle 38.
#   used cost 42 × 1.6 = 67.2; idle cost 38 × 1.53 = 58.14.
#   revenue: on_demand 60 + spot 2 = 62 (the 32 given for internal counts as 0).
# a100: two node models of 4 GPUs each: (fixed 0.5, energy 0.1, idle 0.02) and (0.7, 0.1, 0.04):
#   GPU-weighted 0.7 per used GPU-hour, 0.63 per idle one.
#   used: reserved 8 GPUs × 10 h = 80 of 80 → idle 0; used cost 56; revenue 100.
# Totals: capacity 160, used 122, utilisation 0.7625, revenue 162, used cost 123.2,
#   gross margin 38.8 (23.950617…%), idle 58.14, margin after idle −19.34.
CAPACITY = [
    CapacityBlock("h100", 8, cost("1.5", "0.1"), D("0.03")),
    CapacityBlock("a100", 4, cost("0.5", "0.1"), D("0.02")),
    CapacityBlock("a100", 4, cost("0.7", "0.1"), D("0.04")),
]
SPANS = [
    span(0, 5, 4, Tier.ON_DEMAND),
    span(0, 10, 2, Tier.INTERNAL),
    span(8, 12, 1, Tier.SPOT),
    span(-3, 0, 8, Tier.ON_DEMAND),
    span(0, 10, 8, Tier.RESERVED, gpu_type="a100"),
]
REVENUE = {
    ("h100", Tier.ON_DEMAND): D(60),
    ("h100", Tier.SPOT): D(2),
    ("h100", Tier.INTERNAL): D(32),
    ("a100", Tier.RESERVED): D(100),
}


def margin_report(
    start: datetime,
    end: datetime,
    capacity: list[CapacityBlock],
    spans: list[UsageSpan],
    revenue: dict[tuple[str, Tier], Decimal],
) -> MarginReport:
    """The margin with revenue given per (GPU type, tier), all of it org's, in the first month."""
    items = [
        RevenueItem("org", "2026-11", amount, gpu_type=gpu_type, tier=tier)
        for (gpu_type, tier), amount in revenue.items()
    ]
    return margin_analysis(start, end, capacity, spans, items)


def test_a_hand_computed_margin_report() -> None:
    report = margin_report(START, END, CAPACITY, SPANS, REVENUE)

    assert report.capacity_gpu_hours == 160
    assert report.used_gpu_hours == 122
    assert report.utilisation == D("0.7625")
    assert report.revenue == 162
    assert report.used_cost == D("123.2")
    assert report.idle_cost == D("58.14")
    assert report.gross_margin == D("38.8")
    assert report.margin_pct == D("23.95061728395061728395061728")
    assert report.margin_after_idle == D("-19.34")
    assert report.currency == "USD"


def _row(row: MarginRow) -> tuple[object, ...]:
    return (
        row.gpu_type,
        row.tier,
        row.gpu_hours_used,
        row.revenue,
        row.used_cost,
        row.gross_margin,
        row.margin_pct,
        row.capacity_gpu_hours,
        row.idle_cost,
    )


def test_hand_computed_rows_by_gpu_type_and_by_tier() -> None:
    report = margin_report(START, END, CAPACITY, SPANS, REVENUE)

    assert [_row(r) for r in report.by_gpu_type] == [
        ("a100", None, 80, 100, 56, 44, 44, 80, 0),
        (
            "h100",
            None,
            42,
            62,
            D("67.2"),
            D("-5.2"),
            D("-8.387096774193548387096774194"),
            80,
            D("58.14"),
        ),
    ]
    assert [_row(r) for r in report.by_tier] == [
        (None, Tier.INTERNAL, 20, 0, 32, -32, None, None, 0),
        (None, Tier.RESERVED, 80, 100, 56, 44, 44, None, 0),
        (None, Tier.ON_DEMAND, 20, 60, 32, 28, D("46.66666666666666666666666667"), None, 0),
        (None, Tier.SPOT, 2, 2, D("3.2"), D("-1.2"), -60, None, 0),
    ]


def test_usage_beyond_capacity_never_makes_idle_negative() -> None:
    # 12 GPUs busy on 8 (bad data, e.g. a node missing from the fleet file).
    spans = [span(0, 10, 8, Tier.ON_DEMAND, id="a"), span(0, 10, 4, Tier.SPOT, id="b")]

    report = margin_report(START, END, CAPACITY[:1], spans, {})

    assert report.idle_cost == 0
    assert report.utilisation == D("1.5")
    assert report.used_cost == 120 * D("1.6")


def test_revenue_without_usage_still_counts() -> None:
    # Take-or-pay: a reserved contract bills whether or not its GPUs were used.
    report = margin_report(START, END, CAPACITY, [], {("a100", Tier.RESERVED): D(50)})

    assert (report.revenue, report.used_cost, report.gross_margin) == (D(50), D(0), D(50))
    assert report.margin_pct == 100
    assert report.idle_cost == 80 * D("1.53") + 80 * D("0.63")


def test_no_revenue_means_no_margin_percentage() -> None:
    report = margin_report(START, END, CAPACITY, [span(0, 1, 1, Tier.INTERNAL)], {})
    assert report.margin_pct is None
    assert report.gross_margin == -D("1.6")


def test_usage_of_a_gpu_type_without_capacity_is_refused() -> None:
    with pytest.raises(MissingCapacity, match="mi300x"):
        margin_report(START, END, CAPACITY, [span(0, 1, 1, Tier.SPOT, gpu_type="mi300x")], {})


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 11, 1), END, "margin period start must be timezone-aware"),  # noqa: DTZ001
        (END, START, "margin period ends"),
    ],
    ids=["naive", "reversed"],
)
def test_a_bad_period_is_refused(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        margin_report(start, end, CAPACITY, [], {})


def test_a_capacity_block_refuses_negative_inputs() -> None:
    with pytest.raises(ValueError, match="gpus must be >= 0"):
        CapacityBlock("h100", -1, cost("1", "0.1"), D(0))
    with pytest.raises(ValueError, match="idle_energy must be >= 0"):
        CapacityBlock("h100", 8, cost("1", "0.1"), D(-1))


# -- invariants -------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10, places=6)
blocks = st.lists(
    st.builds(
        lambda gpu_type, gpus, fixed, energy, idle: CapacityBlock(
            gpu_type, gpus, cost(str(fixed), str(energy)), idle
        ),
        gpu_type=st.sampled_from(["h100", "a100"]),
        gpus=st.integers(min_value=0, max_value=64),
        fixed=money,
        energy=money,
        idle=money,
    ),
    min_size=1,
    max_size=4,
).filter(lambda bs: all(any(b.gpu_type == t and b.gpus for b in bs) for t in ("h100", "a100")))
spans_st = st.lists(
    st.builds(
        lambda start, minutes, micro, gpus, tier, gpu_type: UsageSpan(
            f"{start}/{minutes}/{micro}/{gpus}/{tier}/{gpu_type}",
            "org",
            None,
            "job",
            gpu_type,
            tier,
            "r",
            gpus,
            at(start / 60) + timedelta(microseconds=micro),
            at(start / 60) + timedelta(minutes=minutes),
        ),
        start=st.integers(min_value=-120, max_value=660),
        minutes=st.integers(min_value=1, max_value=900),
        micro=st.integers(min_value=0, max_value=59_999_999),
        gpus=st.integers(min_value=1, max_value=64),
        tier=st.sampled_from(list(Tier)),
        gpu_type=st.sampled_from(["h100", "a100"]),
    ),
    max_size=10,
    unique_by=lambda s: s.id,
)
revenues = st.dictionaries(
    st.tuples(st.sampled_from(["h100", "a100", "b200"]), st.sampled_from(list(Tier))),
    st.decimals(min_value=0, max_value=100_000, places=2),
    max_size=6,
)


def _sum(values: list[Decimal]) -> Fraction:
    # Fractions, so the check itself adds exactly (Decimal would round at 28 digits).
    return sum((Fraction(v) for v in values), Fraction(0))


def _check_rows_add_up(report: MarginReport) -> None:
    for rows in (report.by_gpu_type, report.by_tier):
        assert _sum([r.gpu_hours_used for r in rows]) == report.used_gpu_hours
        assert _sum([r.revenue for r in rows]) == report.revenue
        assert _sum([r.used_cost for r in rows]) == report.used_cost
        assert _sum([r.gross_margin for r in rows]) == report.gross_margin
    assert _sum([r.idle_cost or D(0) for r in report.by_gpu_type]) == report.idle_cost
    assert (
        _sum([r.capacity_gpu_hours or D(0) for r in report.by_gpu_type])
        == report.capacity_gpu_hours
    )


@settings(max_examples=200, deadline=None)
@given(capacity=blocks, spans=spans_st, revenue=revenues)
def test_rows_add_up_to_the_totals_exactly(
    capacity: list[CapacityBlock], spans: list[UsageSpan], revenue: dict[tuple[str, Tier], Decimal]
) -> None:
    report = margin_report(START, END, capacity, spans, revenue)

    _check_rows_add_up(report)
    assert report.gross_margin == Fraction(report.revenue) - Fraction(report.used_cost)
    assert report.margin_after_idle == Fraction(report.gross_margin) - Fraction(report.idle_cost)
    for row in report.by_gpu_type + report.by_tier:
        assert row.gross_margin == Fraction(row.revenue) - Fraction(row.used_cost)
        if row.tier is Tier.INTERNAL:
            assert row.revenue == 0
    assert report.idle_cost >= 0


def _fraction(value: Decimal) -> Fraction:
    return Fraction(value)


@settings(max_examples=200, deadline=None)
@given(capacity=blocks, spans=spans_st)
def test_used_plus_idle_is_the_cost_of_the_whole_capacity(
    capacity: list[CapacityBlock], spans: list[UsageSpan]
) -> None:
    report = margin_report(START, END, capacity, spans, {})

    # The same quantity computed independently, exactly, with fractions: every GPU pays its
    # fixed cost for the whole period, and busy and idle GPU-hours add their energy, per type
    # at the GPU-weighted energy of its node models.
    period_hours = Fraction(10)
    used: dict[str, Fraction] = defaultdict(Fraction)
    for s in spans:
        c = clip(s, START, END)
        if c is not None:
            used[c.gpu_type] += Fraction(c.gpu_seconds) / 3600
    expected = Fraction(0)
    for gpu_type in ("h100", "a100"):
        mine = [b for b in capacity if b.gpu_type == gpu_type]
        gpus = sum(b.gpus for b in mine)
        fixed = sum((b.gpus * _fraction(b.cost.fixed) for b in mine), Fraction(0))
        busy = sum((b.gpus * _fraction(b.cost.energy) for b in mine), Fraction(0)) / gpus
        idle = sum((b.gpus * _fraction(b.idle_energy) for b in mine), Fraction(0)) / gpus
        used_hours = used[gpu_type]
        idle_hours = max(Fraction(0), gpus * period_hours - used_hours)
        if used_hours <= gpus * period_hours:
            expected += fixed * period_hours + used_hours * busy + idle_hours * idle
        else:
            # Over capacity (bad data): the excess is still costed at the busy rate, no idle.
            expected += used_hours * (fixed / gpus + busy)

    total = _fraction(report.used_cost + report.idle_cost)
    assert abs(total - expected) <= Fraction(1, 10**18) * (1 + expected)
    assert report.utilisation == report.used_gpu_hours / report.capacity_gpu_hours
