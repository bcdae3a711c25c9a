"""Rating: invoice lines from usage and the price book, and statements at cost."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.invoice import InvoiceKind
from neocloud.billing.pricebook import PriceEntry, price_segments
from neocloud.billing.rating import (
    MissingCost,
    MissingPrice,
    RatedInvoice,
    RatedLine,
    rate_invoice,
    rate_statement,
)
from neocloud.billing.usage import UsageSpan, clip
from neocloud.domain.jobs import Tier
from neocloud.domain.money import CENT

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def span(
    start: datetime,
    end: datetime,
    *,
    id: str = "a1",
    org: str = "acme",
    gpu_type: str = "h100",
    tier: Tier = Tier.ON_DEMAND,
    gpus: int = 1,
    region: str = "us-east",
) -> UsageSpan:
    return UsageSpan(id, org, None, "job-1", gpu_type, tier, region, gpus, start, end)


def price(
    unit_price: str,
    from_hours: float = -24 * 365,
    *,
    gpu_type: str = "h100",
    tier: Tier = Tier.ON_DEMAND,
    currency: str = "USD",
    region: str | None = None,
) -> PriceEntry:
    return PriceEntry(gpu_type, tier, D(unit_price), currency, at(from_hours), region)


PRICES = [
    price("2.50"),
    price("3.00", from_hours=100),
    price("1.00", tier=Tier.SPOT),
    price("1.20", gpu_type="a100"),
]


def test_a_hand_rated_invoice() -> None:
    spans = [
        # 2 GPUs × 3 h at 2.50 = 15.00
        span(at(10), at(13), id="u1", gpus=2),
        # 1 GPU across the price change at 100 h: 2 h at 2.50 + 4 h at 3.00
        span(at(98), at(104), id="u2"),
        # 1 GPU × 20 min of spot at 1.00 = 0.3333… → 0.33
        span(at(5), at(5 + 1 / 3), id="u3", tier=Tier.SPOT),
        # 4 a100 GPUs × 30 min at 1.20 = 2.40
        span(at(1), at(1.5), id="u4", gpu_type="a100", gpus=4),
    ]

    invoice = rate_invoice("acme", START, END, spans, PRICES)

    assert invoice.lines == [
        RatedLine(
            "a100 on_demand GPU time",
            "a100",
            Tier.ON_DEMAND,
            D("2.000000"),
            "GPU-hour",
            D("1.20"),
            D("2.40"),
        ),
        RatedLine(
            "h100 on_demand GPU time",
            "h100",
            Tier.ON_DEMAND,
            D("8.000000"),
            "GPU-hour",
            D("2.50"),
            D("20.00"),
        ),
        RatedLine(
            "h100 on_demand GPU time",
            "h100",
            Tier.ON_DEMAND,
            D("4.000000"),
            "GPU-hour",
            D("3.00"),
            D("12.00"),
        ),
        RatedLine(
            "h100 spot GPU time", "h100", Tier.SPOT, D("0.333333"), "GPU-hour", D("1.00"), D("0.33")
        ),
    ]
    assert invoice.total == D("34.73")
    assert (invoice.org, invoice.kind, invoice.currency) == ("acme", InvoiceKind.INVOICE, "USD")


@pytest.mark.parametrize(
    ("microseconds", "unit_price", "quantity", "amount"),
    [
        (18_000_000, "1.00", "0.005000", "0.01"),
        (17_000_000, "1.00", "0.004722", "0.00"),
        (1_700, "100000", "0.000000", "0.05"),
        (3600 * 50 * 1_000_000, "0.0001", "50.000000", "0.01"),
    ],
    ids=[
        "half-cent-rounds-up",
        "under-half-cent-rounds-down",
        "amount-from-exact-seconds",
        "sub-cent-price",
    ],
)
def test_a_line_is_rounded_once_half_up_from_exact_seconds(
    microseconds: int, unit_price: str, quantity: str, amount: str
) -> None:
    end = at(0) + timedelta(microseconds=microseconds)
    invoice = rate_invoice("acme", START, END, [span(at(0), end)], [price(unit_price)])

    [line] = invoice.lines
    assert (line.quantity, line.amount) == (D(quantity), D(amount))
    assert str(line.quantity) == quantity


def test_only_the_org_and_the_period_are_billed() -> None:
    spans = [
        span(at(-5), at(1), id="straddles-start", gpus=1),
        span(END - timedelta(hours=2), END + timedelta(hours=7), id="straddles-end"),
        span(at(-10), at(-1), id="before"),
        span(at(1), at(2), id="other-org", org="beta"),
    ]

    [line] = rate_invoice("acme", START, END, spans, [price("1.00")]).lines

    assert line.quantity == D("3.000000")


def test_a_regional_price_applies_to_usage_in_its_region() -> None:
    prices = [price("2.00"), price("2.60", region="eu-west")]
    spans = [span(at(0), at(1), id="e", region="eu-west"), span(at(0), at(1), id="u")]

    lines = rate_invoice("acme", START, END, spans, prices).lines

    assert [(line.unit_price, line.quantity) for line in lines] == [
        (D("2.00"), D("1.000000")),
        (D("2.60"), D("1.000000")),
    ]


def test_usage_without_a_price_is_never_billed_as_zero() -> None:
    spans = [span(at(1), at(2)), span(at(0), at(1), id="s", tier=Tier.RESERVED)]

    with pytest.raises(MissingPrice) as raised:
        rate_invoice("acme", START, END, spans, PRICES)

    error = raised.value
    assert (error.gpu_type, error.tier, error.at, error.region) == (
        "h100",
        Tier.RESERVED,
        at(0),
        "us-east",
    )
    assert (
        "no USD price for h100 reserved in region us-east in force at 2026-11-01T00:00:00+00:00"
        in str(error)
    )


def test_usage_before_the_first_price_names_the_moment_it_starts() -> None:
    late = [price("2.00", from_hours=10)]

    with pytest.raises(MissingPrice) as raised:
        rate_invoice("acme", START, END, [span(at(8), at(12))], late)

    assert raised.value.at == at(8)


def test_a_price_in_another_currency_does_not_count() -> None:
    with pytest.raises(MissingPrice, match="no USD price"):
        rate_invoice("acme", START, END, [span(at(0), at(1))], [price("2.00", currency="EUR")])
    eur = rate_invoice(
        "acme", START, END, [span(at(0), at(1))], [price("2.00", currency="EUR")], currency="EUR"
    )
    assert eur.total == D("2.00")


def test_no_usage_gives_an_empty_invoice() -> None:
    invoice = rate_invoice("acme", START, END, [], PRICES)
    assert (invoice.lines, invoice.total) == ([], D("0.00"))


def test_naive_period_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="billing period start must be timezone-aware"):
        rate_invoice("acme", datetime(2026, 11, 1), END, [], PRICES)  # noqa: DTZ001


def test_a_statement_shows_internal_usage_at_cost() -> None:
    spans = [
        span(at(0), at(10), id="i1", org="research", tier=Tier.INTERNAL, gpus=8),
        span(at(0), at(2), id="i2", org="research", tier=Tier.INTERNAL, gpu_type="a100", gpus=2),
    ]
    unit_cost = {"h100": D("1.595522374429223744292237443"), "a100": D("0.72")}

    statement = rate_statement("research", START, END, spans, unit_cost)

    assert statement.kind is InvoiceKind.STATEMENT
    assert [
        (line.description, line.quantity, line.unit_price, line.amount) for line in statement.lines
    ] == [
        ("a100 internal GPU time at cost", D("4.000000"), D("0.72"), D("2.88")),
        # 80 GPU-hours × 1.5955223744… = 127.64178995… → 127.64
        ("h100 internal GPU time at cost", D("80.000000"), unit_cost["h100"], D("127.64")),
    ]
    assert statement.total == D("130.52")


def test_a_statement_needs_the_cost_of_every_gpu_type_used() -> None:
    spans = [span(at(0), at(1), org="research", tier=Tier.INTERNAL, gpu_type="mi300x")]
    with pytest.raises(MissingCost, match="mi300x"):
        rate_statement("research", START, END, spans, {"h100": D(1)})


# -- invariants -------------------------------------------------------------------------------

PERIOD_MINUTES = 30 * 24 * 60
minutes_st = st.integers(min_value=-2 * 24 * 60, max_value=PERIOD_MINUTES + 2 * 24 * 60)


def _span_from(
    start: int, length: int, micro: int, gpus: int, tier: Tier, gpu_type: str
) -> UsageSpan:
    begin = at(start / 60) + timedelta(microseconds=micro)
    return span(
        begin,
        begin + timedelta(minutes=length, microseconds=micro * 7 % 1_000_000),
        id=f"{start}/{length}/{micro}/{gpus}/{tier}/{gpu_type}",
        tier=tier,
        gpu_type=gpu_type,
        gpus=gpus,
    )


spans_st = st.lists(
    st.builds(
        _span_from,
        start=minutes_st,
        length=st.integers(min_value=0, max_value=5 * 24 * 60),
        micro=st.integers(min_value=0, max_value=999_999),
        gpus=st.integers(min_value=1, max_value=64),
        tier=st.sampled_from([Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT]),
        gpu_type=st.sampled_from(["h100", "a100"]),
    ),
    max_size=10,
    unique_by=lambda s: s.id,
)
prices_st = st.lists(
    st.builds(
        lambda p, m, tier, gpu_type: price(str(p), m / 60, tier=tier, gpu_type=gpu_type),
        p=st.decimals(min_value=0, max_value=20, places=4),
        m=minutes_st,
        tier=st.sampled_from([Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT]),
        gpu_type=st.sampled_from(["h100", "a100"]),
    ),
    max_size=6,
)
# Every GPU type × tier has a price from long before the period, so rating never fails here.
BASE_PRICES = [
    price(p, -24 * 365, tier=t, gpu_type=g)
    for g, p in (("h100", "2.4999"), ("a100", "1.1"))
    for t in (Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT)
]


def _exact_amounts(
    spans: list[UsageSpan], prices: list[PriceEntry]
) -> dict[tuple[str, Tier, Decimal], Decimal]:
    """Unrounded amounts per line, computed span by span straight from the price book."""
    amounts: dict[tuple[str, Tier, Decimal], Decimal] = defaultdict(Decimal)
    for s in spans:
        c = clip(s, START, END)
        if c is None:
            continue
        for seg in price_segments(prices, c.gpu_type, c.tier, c.start, c.end, c.region):
            assert seg.entry is not None
            seconds = c.gpus * D((seg.end - seg.start) // timedelta(microseconds=1)) / 1_000_000
            amounts[(c.gpu_type, c.tier, seg.entry.unit_price)] += (
                seconds * seg.entry.unit_price / 3600
            )
    return amounts


def _by_line(invoice: RatedInvoice) -> dict[tuple[str, Tier, Decimal], Decimal]:
    return {(line.gpu_type, line.tier, line.unit_price): line.amount for line in invoice.lines}


@settings(max_examples=200, deadline=None)
@given(spans=spans_st, extra=prices_st)
def test_lines_are_whole_cents_within_half_a_cent_and_the_total_is_their_sum(
    spans: list[UsageSpan], extra: list[PriceEntry]
) -> None:
    prices = BASE_PRICES + extra
    invoice = rate_invoice("acme", START, END, spans, prices)

    assert invoice.total == sum((line.amount for line in invoice.lines), D(0))
    exact = _exact_amounts(spans, prices)
    assert set(_by_line(invoice)) == set(exact)
    for key, amount in _by_line(invoice).items():
        assert amount == amount.quantize(CENT)
        assert abs(amount - exact[key]) <= D("0.005")


@settings(max_examples=200, deadline=None)
@given(spans=spans_st, extra=prices_st, seed=st.integers())
def test_rating_the_same_usage_again_gives_the_same_invoice(
    spans: list[UsageSpan], extra: list[PriceEntry], seed: int
) -> None:
    shuffled = list(spans)
    random.Random(seed).shuffle(shuffled)

    first = rate_invoice("acme", START, END, spans, BASE_PRICES + extra)
    again = rate_invoice("acme", START, END, shuffled + spans[:1], BASE_PRICES + extra)

    assert again == first


@settings(max_examples=200, deadline=None)
@given(
    spans=spans_st.filter(bool),
    extra=prices_st,
    which=st.integers(min_value=0),
    cut=st.integers(0, 10**6),
)
def test_cutting_a_span_in_two_at_any_instant_changes_no_line(
    spans: list[UsageSpan], extra: list[PriceEntry], which: int, cut: int
) -> None:
    # Seconds are summed exactly per line before the one rounding, so how usage is cut into
    # spans (a requeued job, a restarted meter) never moves a line by even a cent.
    victim = spans[which % len(spans)]
    instant = victim.start + (victim.end - victim.start) * cut // 10**6
    head = span(
        victim.start,
        instant,
        id=victim.id + "/a",
        tier=victim.tier,
        gpu_type=victim.gpu_type,
        gpus=victim.gpus,
    )
    tail = span(
        instant,
        victim.end,
        id=victim.id + "/b",
        tier=victim.tier,
        gpu_type=victim.gpu_type,
        gpus=victim.gpus,
    )
    cut_spans = [s for s in spans if s is not victim] + [head, tail]

    whole = rate_invoice("acme", START, END, spans, BASE_PRICES + extra)
    pieces = rate_invoice("acme", START, END, cut_spans, BASE_PRICES + extra)

    assert pieces.lines == whole.lines
    assert pieces.total == whole.total


@settings(max_examples=200, deadline=None)
@given(spans=spans_st, extra=prices_st, cut=st.integers(min_value=1, max_value=PERIOD_MINUTES - 1))
def test_splitting_the_period_moves_each_line_by_at_most_one_cent(
    spans: list[UsageSpan], extra: list[PriceEntry], cut: int
) -> None:
    # Each part's line is rounded on its own: two roundings of at most half a cent against one,
    # and all three are whole cents, so a line can move by one cent and never by more.
    middle = at(cut / 60)
    prices = BASE_PRICES + extra
    whole = _by_line(rate_invoice("acme", START, END, spans, prices))
    first = _by_line(rate_invoice("acme", START, middle, spans, prices))
    second = _by_line(rate_invoice("acme", middle, END, spans, prices))

    for key in whole.keys() | first.keys() | second.keys():
        parts = first.get(key, D(0)) + second.get(key, D(0))
        assert abs(parts - whole.get(key, D(0))) <= CENT
