"""Margins by org, region and month, idle cost shared or not, opportunity cost: hand cases and
the identities that hold for every input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.usage import UsageSpan
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
from neocloud.economics.margin.idle_share import IdleShare, share_idle

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def cost(fixed: str, energy: str) -> CostBreakdown:
    return CostBreakdown(D(fixed), D(0), D(energy), D(0), D(0), D(fixed) + D(energy))


def span(
    org: str,
    tier: Tier,
    gpus: int,
    start: datetime,
    end: datetime,
    region: str = "us-east",
    gpu_type: str = "h100",
) -> UsageSpan:
    return UsageSpan(
        f"{org}/{tier}/{gpus}/{start.isoformat()}/{region}/{gpu_type}",
        org,
        None,
        "job",
        gpu_type,
        tier,
        region,
        gpus,
        start,
        end,
    )


def by(rows: list[MarginRow], attr: str) -> dict[object, MarginRow]:
    return {getattr(r, attr): r for r in rows}


# -- Hand case 2: idle cost as a line, shared evenly, shared by used cost ----------------------
# One pool over 10 h: 4 H100 at fixed 1.0 + busy energy 0.2 (1.2 per used GPU-hour) and idle
# energy 0.1 (1.1 per idle GPU-hour): capacity 40 GPU-hours.
#   acme (external): on-demand 2 GPUs × 10 h = 20 GPU-h (cost 24), spot 1 GPU × 5 h = 5 (cost 6)
#   research (internal): 1 GPU × 10 h = 10 GPU-h (cost 12)
#   used 35, idle 5 → idle cost 5.5; used cost 42; total cost 47.5.
#   revenue: on-demand 20 × 2.00 = 40, spot 5 × 0.80 = 4 → 44.
#   line:  gross margin 44 − 42 = 2; after idle 2 − 5.5 = −3.5.
#   even:  two orgs → 2.75 each; acme's split by GPU-hours 20 : 5 → 2.2 and 0.55.
#          on-demand 40 − 24 − 2.2 = 13.8; spot 4 − 6 − 0.55 = −2.55; internal −12 − 2.75 = −14.75.
#   weighted: by used cost 24 : 6 : 12 of 42 → 5.5 × 24/42, 5.5 × 6/42, 5.5 × 12/42.
#   opportunity: research's 10 GPU-h at on-demand 2.00 = 20.
SHARE_START, SHARE_END = T0, T0 + timedelta(hours=10)
SHARE_CAPACITY = [CapacityBlock("h100", 4, cost("1.0", "0.2"), D("0.1"))]
SHARE_SPANS = [
    span("acme", Tier.ON_DEMAND, 2, T0, T0 + timedelta(hours=10)),
    span("acme", Tier.SPOT, 1, T0, T0 + timedelta(hours=5)),
    span("research", Tier.INTERNAL, 1, T0, T0 + timedelta(hours=10)),
]
SHARE_REVENUE = [
    RevenueItem("acme", "2026-11", D("40.00"), "h100", Tier.ON_DEMAND, "us-east"),
    RevenueItem("acme", "2026-11", D("4.00"), "h100", Tier.SPOT, "us-east"),
]
SHARE_OPPORTUNITY = [
    RevenueItem("research", "2026-11", D("20.00"), "h100", Tier.INTERNAL, "us-east")
]


def shared(how: IdleShare) -> MarginReport:
    return margin_analysis(
        SHARE_START,
        SHARE_END,
        SHARE_CAPACITY,
        SHARE_SPANS,
        SHARE_REVENUE,
        idle_share=how,
        opportunity=SHARE_OPPORTUNITY,
    )


@pytest.mark.parametrize(
    ("how", "gross", "tiers"),
    [
        # tier: (shared idle, gross margin)
        (
            IdleShare.LINE,
            D(2),
            {Tier.ON_DEMAND: (0, 16), Tier.SPOT: (0, -2), Tier.INTERNAL: (0, -12)},
        ),
        (
            IdleShare.EVEN,
            D("-3.5"),
            {
                Tier.ON_DEMAND: (D("2.2"), D("13.8")),
                Tier.SPOT: (D("0.55"), D("-2.55")),
                Tier.INTERNAL: (D("2.75"), D("-14.75")),
            },
        ),
    ],
    ids=["line", "even"],
)
def test_hand_computed_idle_sharing(
    how: IdleShare, gross: Decimal, tiers: dict[Tier, tuple[Decimal, Decimal]]
) -> None:
    report = shared(how)

    assert (report.used_cost, report.idle_cost, report.total_cost) == (42, D("5.5"), D("47.5"))
    assert report.revenue == 44
    assert report.gross_margin == gross
    assert report.margin_after_idle == D("-3.5")  # the same whatever the choice
    rows = by(report.by_tier, "tier")
    assert {t: (rows[t].shared_idle_cost, rows[t].gross_margin) for t in tiers} == tiers
    orgs = by(report.by_org, "org")
    if how is IdleShare.EVEN:
        assert orgs["acme"].shared_idle_cost == orgs["research"].shared_idle_cost == D("2.75")
    # A capacity slice always carries its pool's whole idle cost.
    assert by(report.by_gpu_type, "gpu_type")["h100"].idle_cost == D("5.5")


def test_idle_shared_by_used_cost() -> None:
    report = shared(IdleShare.WEIGHTED)

    rows = by(report.by_tier, "tier")
    assert rows[Tier.INTERNAL].shared_idle_cost == D("5.5") * 12 / 42
    assert rows[Tier.ON_DEMAND].shared_idle_cost == D("5.5") * 24 / 42
    # The last share takes what remains, so nothing is lost to rounding.
    assert abs(rows[Tier.SPOT].shared_idle_cost - D("5.5") * 6 / 42) < D("1e-26")
    assert sum(Fraction(r.shared_idle_cost) for r in report.by_tier) == Fraction("5.5")
    assert report.shared_idle_cost == D("5.5")
    assert report.gross_margin == report.margin_after_idle == D("-3.5")


def test_internal_use_is_valued_at_cost_and_at_the_price_it_displaced() -> None:
    report = shared(IdleShare.LINE)

    internal = by(report.by_tier, "tier")[Tier.INTERNAL]
    assert (internal.revenue, internal.internal_gpu_hours, internal.internal_cost) == (0, 10, 12)
    assert internal.opportunity_value == 20
    research = by(report.by_org, "org")["research"]
    assert (research.internal_cost, research.opportunity_value) == (12, 20)
    assert (report.internal_cost, report.opportunity_value) == (12, 20)
    assert by(report.by_org, "org")["acme"].internal_cost == 0


# -- Hand case 3: months and regions ----------------------------------------------------------
# 2026-10-31 22:00 → 2026-11-01 02:00 (2 h in each month), 8 H100 in us-east and 8 in eu-west,
# each at 1.6 per used GPU-hour and 1.53 per idle one.
#   acme: 4 GPUs in us-east 23:00 → 01:00: 4 GPU-h in October, 4 in November (cost 6.4 each).
#   revenue 10 in each month.
#   per month: capacity 2 × 16 = 32; us-east idle 16 − 4 = 12 → 18.36; eu-west 16 → 24.48.
#   October: used 4, used cost 6.4, idle 42.84, margin 3.6, after idle −39.24. November alike.
#   us-east: capacity 32, used 8, used cost 12.8, idle 24 × 1.53 = 36.72, revenue 20.
#   eu-west: capacity 32, used 0, idle 48.96, revenue 0.
MONTH_START = datetime(2026, 10, 31, 22, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 1, 2, tzinfo=UTC)
TWO_REGIONS = [
    CapacityBlock("h100", 8, cost("1.5", "0.1"), D("0.03"), region="us-east"),
    CapacityBlock("h100", 8, cost("1.5", "0.1"), D("0.03"), region="eu-west"),
]


def test_hand_computed_months_and_regions() -> None:
    acme = span(
        "acme", Tier.ON_DEMAND, 4, MONTH_START + timedelta(hours=1), MONTH_END - timedelta(hours=1)
    )
    revenue = [
        RevenueItem("acme", month, D(10), "h100", Tier.ON_DEMAND, "us-east")
        for month in ("2026-10", "2026-11")
    ]

    report = margin_analysis(MONTH_START, MONTH_END, TWO_REGIONS, [acme], revenue)

    months = by(report.by_month, "month")
    assert list(months) == ["2026-10", "2026-11"]
    for month in months.values():
        assert (month.capacity_gpu_hours, month.gpu_hours_used) == (32, 4)
        assert (month.used_cost, month.idle_cost) == (D("6.4"), D("42.84"))
        assert (month.gross_margin, month.margin_after_idle) == (D("3.6"), D("-39.24"))
        assert month.utilisation == D("0.125")
    regions = by(report.by_region, "region")
    assert list(regions) == ["eu-west", "us-east"]
    east, west = regions["us-east"], regions["eu-west"]
    assert (east.capacity_gpu_hours, east.gpu_hours_used, east.used_cost) == (32, 8, D("12.8"))
    assert (east.idle_cost, east.revenue) == (D("36.72"), 20)
    assert (west.capacity_gpu_hours, west.gpu_hours_used, west.idle_cost) == (32, 0, D("48.96"))
    assert by(report.by_org, "org")["acme"].revenue == 20
    assert report.idle_cost == D("85.68")


def test_usage_in_a_region_without_capacity_names_the_region() -> None:
    lost = span("acme", Tier.SPOT, 1, MONTH_START, MONTH_END, region="ap-south")
    with pytest.raises(MissingCapacity, match="h100 in region ap-south"):
        margin_analysis(MONTH_START, MONTH_END, TWO_REGIONS, [lost], [])


def test_capacity_without_a_region_serves_every_region() -> None:
    anywhere = [CapacityBlock("h100", 8, cost("1.5", "0.1"), D("0.03"))]
    lost = span("acme", Tier.SPOT, 1, MONTH_START, MONTH_END, region="ap-south")

    report = margin_analysis(MONTH_START, MONTH_END, anywhere, [lost], [])

    assert report.used_cost == 4 * D("1.6")


def test_revenue_tied_to_no_gpu_type_is_its_own_row() -> None:
    # A minimum-spend true-up or a token meter line names no GPU type.
    minimum = RevenueItem("acme", "2026-11", D("100.00"))

    report = margin_analysis(MONTH_START, MONTH_END, TWO_REGIONS, [], [minimum])

    assert report.revenue == 100
    none_row = by(report.by_gpu_type, "gpu_type")[None]
    assert (none_row.revenue, none_row.used_cost, none_row.capacity_gpu_hours) == (100, 0, 0)
    assert by(report.by_month, "month")["2026-11"].revenue == 100


# -- share_idle on its own ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "users", "parts"),
    [
        (IdleShare.LINE, [("a", D(1), D(1))], [0]),
        (IdleShare.EVEN, [("a", D(3), D(9)), ("b", D(1), D(1))], [D(5), D(5)]),
        (
            IdleShare.EVEN,
            [("a", D(3), D(9)), ("a", D(1), D(1)), ("b", D(1), D(1))],
            [D("3.75"), D("1.25"), D(5)],
        ),
        (IdleShare.WEIGHTED, [("a", D(3), D(9)), ("b", D(1), D(1))], [D(9), D(1)]),
        # Free capacity (no used cost) falls back to GPU-seconds.
        (IdleShare.WEIGHTED, [("a", D(3), D(0)), ("b", D(1), D(0))], [D("7.5"), D("2.5")]),
    ],
    ids=["line", "even", "even-within-org", "weighted", "weighted-free"],
)
def test_share_idle(
    how: IdleShare, users: list[tuple[str, Decimal, Decimal]], parts: list[Decimal]
) -> None:
    total = D(10) if how is not IdleShare.LINE else D(4)
    assert share_idle(total, users, how) == parts


# -- identities for every input ---------------------------------------------------------------

money = st.decimals(min_value=0, max_value=10, places=4)
block_st = st.builds(
    lambda gpu_type, region, gpus, fixed, energy, idle: CapacityBlock(
        gpu_type, gpus, cost(str(fixed), str(energy)), idle, region=region
    ),
    gpu_type=st.sampled_from(["h100", "a100"]),
    region=st.sampled_from(["us-east", "eu-west", None]),
    gpus=st.integers(min_value=1, max_value=32),
    fixed=money,
    energy=money,
    idle=money,
)
WINDOW_START = datetime(2026, 10, 30, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 2, 6, tzinfo=UTC)
span_st = st.builds(
    lambda org, tier, gpus, start_min, minutes, region, gpu_type: span(
        org,
        tier,
        gpus,
        WINDOW_START + timedelta(minutes=start_min),
        WINDOW_START + timedelta(minutes=start_min + minutes),
        region,
        gpu_type,
    ),
    org=st.sampled_from(["acme", "globex", "research"]),
    tier=st.sampled_from(list(Tier)),
    gpus=st.integers(min_value=1, max_value=8),
    start_min=st.integers(min_value=-600, max_value=4000),
    minutes=st.integers(min_value=1, max_value=3000),
    region=st.sampled_from(["us-east", "eu-west"]),
    gpu_type=st.sampled_from(["h100", "a100"]),
)
item_st = st.builds(
    RevenueItem,
    org=st.sampled_from(["acme", "globex"]),
    month=st.sampled_from(["2026-10", "2026-11"]),
    amount=st.decimals(min_value=-50, max_value=5000, places=2),
    gpu_type=st.sampled_from(["h100", "a100", None]),
    tier=st.sampled_from([Tier.ON_DEMAND, Tier.SPOT, Tier.RESERVED, None]),
    region=st.sampled_from(["us-east", "eu-west", None]),
)


def _f(value: Decimal | None) -> Fraction:
    return Fraction(value or 0)


def _covers(blocks: list[CapacityBlock], spans: list[UsageSpan]) -> bool:
    for s in spans:
        if s.end <= WINDOW_START or s.start >= WINDOW_END:
            continue  # outside the window: never costed, so never refused
        regions = {b.region for b in blocks if b.gpu_type == s.gpu_type}
        if s.region not in regions and None not in regions:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.lists(block_st, min_size=1, max_size=4),
    spans=st.lists(span_st, max_size=8, unique_by=lambda s: s.id),
    revenue=st.lists(item_st, max_size=6),
    how=st.sampled_from(list(IdleShare)),
)
def test_margin_identities_hold_in_every_breakdown(
    capacity: list[CapacityBlock],
    spans: list[UsageSpan],
    revenue: list[RevenueItem],
    how: IdleShare,
) -> None:
    if not _covers(capacity, spans):
        with pytest.raises(MissingCapacity):
            margin_analysis(WINDOW_START, WINDOW_END, capacity, spans, revenue, idle_share=how)
        return
    report = margin_analysis(WINDOW_START, WINDOW_END, capacity, spans, revenue, idle_share=how)

    # revenue − cost = margin; used + idle = total cost; after idle = revenue − total cost.
    assert _f(report.total_cost) == _f(report.used_cost) + _f(report.idle_cost)
    assert _f(report.gross_margin) == (
        _f(report.revenue) - _f(report.used_cost) - _f(report.shared_idle_cost)
    )
    assert _f(report.margin_after_idle) == _f(report.revenue) - _f(report.total_cost)
    assert 0 <= report.shared_idle_cost <= report.idle_cost
    if how is IdleShare.LINE:
        assert report.shared_idle_cost == 0
    for rows in (
        report.by_gpu_type,
        report.by_tier,
        report.by_org,
        report.by_region,
        report.by_month,
    ):
        assert sum(_f(r.gpu_hours_used) for r in rows) == _f(report.used_gpu_hours)
        for name in ("revenue", "used_cost", "shared_idle_cost", "gross_margin"):
            assert sum(_f(getattr(r, name)) for r in rows) == _f(getattr(report, name)), name
        assert sum(_f(r.internal_cost) for r in rows) == _f(report.internal_cost)
        for r in rows:
            assert _f(r.gross_margin) == _f(r.revenue) - _f(r.used_cost) - _f(r.shared_idle_cost)
            assert _f(r.margin_after_idle) == _f(r.revenue) - _f(r.used_cost) - _f(r.idle_cost)
    for capacity_rows in (report.by_gpu_type, report.by_region, report.by_month):
        assert sum(_f(r.idle_cost) for r in capacity_rows) == _f(report.idle_cost)
        assert sum(_f(r.capacity_gpu_hours) for r in capacity_rows) == _f(report.capacity_gpu_hours)
    for r in report.by_tier:
        if r.tier is Tier.INTERNAL:
            assert r.revenue == 0


@pytest.mark.parametrize("seconds", [20, 1, 7, 3601])
def test_a_period_of_any_length_is_costed(seconds: int) -> None:
    # Capacity hours of an odd-length period have no exact decimal form: rows still add up.
    end = T0 + timedelta(seconds=seconds)
    use = span("acme", Tier.SPOT, 1, T0, end)

    report = margin_analysis(T0, end, SHARE_CAPACITY, [use], [], idle_share=IdleShare.EVEN)

    assert (
        report.capacity_gpu_hours == by(report.by_gpu_type, "gpu_type")["h100"].capacity_gpu_hours
    )
    assert _f(report.total_cost) == _f(report.used_cost) + _f(report.idle_cost)
