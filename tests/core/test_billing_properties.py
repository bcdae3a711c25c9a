"""Invariants of the rating engine: documents that do not depend on how usage was cut or sent."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.charges import (
    Charge,
    PriceTier,
    charge_amount,
    scaled_charge_amount,
    volume_tier,
)
from neocloud.billing.composition import OrgTerms, compose_invoice
from neocloud.billing.contracts import ReservedContract
from neocloud.billing.document import GPU_METER, BillingDocument, LineKind
from neocloud.billing.meters import Aggregation, Meter, MeterEvent
from neocloud.billing.pricebook import PriceEntry
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier
from neocloud.domain.money import CENT, to_cents

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
PERIOD_MINUTES = 30 * 24 * 60
LONG_AGO = START - timedelta(days=365)
TIERS = [Tier.RESERVED, Tier.ON_DEMAND, Tier.SPOT]

TOKENS = Meter("tokens", Aggregation.SUM, "token", group_by=("model",))
CALLS = Meter("calls", Aggregation.COUNT, "call")
PEAK = Meter("peak_gb", Aggregation.MAX, "GB")
USERS = Meter("users", Aggregation.UNIQUE_COUNT, "user", unique_by="user")
METERS = [TOKENS, CALLS, PEAK, USERS]


def minute(m: int) -> datetime:
    return START + timedelta(minutes=m)


# -- strategies ---------------------------------------------------------------------------------

prices_st = st.decimals(min_value=0, max_value=20, places=4)
minutes_st = st.integers(min_value=-2 * 24 * 60, max_value=PERIOD_MINUTES + 2 * 24 * 60)


@st.composite
def tiers_st(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    bounds = sorted(draw(st.sets(st.decimals(min_value=1, max_value=500, places=1), max_size=3)))
    ups: list[Decimal | None] = [*bounds, None]
    return tuple(PriceTier(up, draw(prices_st), draw(prices_st)) for up in ups)


charges_st = st.one_of(
    st.none(),
    tiers_st().map(lambda t: Charge.graduated(*t)),
    tiers_st().map(lambda t: Charge.volume(*t)),
    st.builds(
        Charge.package,
        st.decimals(min_value="0.5", max_value=100, places=1),
        prices_st,
    ),
)


def _charge_price(charge: Charge | None, price: Decimal) -> Decimal:
    return price if charge is None else charge.unit_price or D(0)


@st.composite
def price_book_st(draw: st.DrawFn) -> list[PriceEntry]:
    """A price for every GPU type × tier and meter from long ago, and changes at random times."""
    book = []
    for gpu_type in ("h100", "a100"):
        for tier in TIERS:
            charge = draw(charges_st)
            book.append(
                PriceEntry(
                    gpu_type,
                    tier,
                    _charge_price(charge, draw(prices_st)),
                    "USD",
                    LONG_AGO,
                    charge=charge,
                )
            )
    for meter in METERS:
        charge = draw(charges_st)
        price = _charge_price(charge, draw(prices_st))
        book.append(
            PriceEntry("", Tier.ON_DEMAND, price, "USD", LONG_AGO, None, meter.name, charge)
        )
    for _ in range(draw(st.integers(0, 5))):
        charge = draw(charges_st)
        price = _charge_price(charge, draw(prices_st))
        when = minute(draw(minutes_st))
        meter = draw(st.sampled_from([GPU_METER, *(m.name for m in METERS)]))
        if meter == GPU_METER:
            gpu_type, tier = draw(st.sampled_from(["h100", "a100"])), draw(st.sampled_from(TIERS))
        else:
            gpu_type, tier = "", Tier.ON_DEMAND
        region = draw(st.sampled_from([None, "eu"]))
        book.append(PriceEntry(gpu_type, tier, price, "USD", when, region, meter, charge))
    return book


@st.composite
def span_st(draw: st.DrawFn, index: int) -> UsageSpan:
    begin = minute(draw(minutes_st)) + timedelta(microseconds=draw(st.integers(0, 999_999)))
    length = timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)), seconds=draw(st.integers(0, 59)))
    return UsageSpan(
        f"span-{index}",
        "acme",
        None,
        "job",
        draw(st.sampled_from(["h100", "a100"])),
        draw(st.sampled_from(TIERS)),
        draw(st.sampled_from(["eu", "us"])),
        draw(st.integers(1, 16)),
        begin,
        begin + length,
    )


@st.composite
def event_st(draw: st.DrawFn, index: int) -> MeterEvent:
    meter = draw(st.sampled_from(METERS))
    dims = {"model": draw(st.sampled_from(["llama", "mistral"]))}
    dims["user"] = draw(st.sampled_from(["ann", "bob", "cat"]))
    if draw(st.booleans()):
        dims["region"] = "eu"
    return MeterEvent(
        f"event-{index}",
        "acme",
        None,
        meter.name,
        draw(st.decimals(min_value=0, max_value=400, places=3)),
        minute(draw(minutes_st)) + timedelta(seconds=draw(st.integers(0, 59))),
        dims,
    )


@st.composite
def usage_st(draw: st.DrawFn) -> tuple[list[UsageSpan], list[MeterEvent]]:
    spans = [draw(span_st(i)) for i in range(draw(st.integers(0, 6)))]
    events = [draw(event_st(i)) for i in range(draw(st.integers(0, 8)))]
    return spans, events


contracts_st = st.lists(
    st.builds(
        lambda i, gpus, start, length, price: ReservedContract(
            f"c{i}",
            "acme",
            "h100",
            gpus,
            minute(start),
            minute(start + length),
            price,
            "USD",
        ),
        st.integers(0, 1_000),
        st.integers(1, 12),
        minutes_st,
        st.integers(1, 40 * 24 * 60),
        prices_st,
    ),
    max_size=2,
    unique_by=lambda c: c.id,
)
terms_st = st.builds(
    OrgTerms,
    st.decimals(min_value=0, max_value=100, places=2),
    st.decimals(min_value=0, max_value=50_000, places=2),
    st.decimals(min_value=0, max_value=1, places=3),
)


def compose(
    spans: list[UsageSpan],
    events: list[MeterEvent],
    prices: list[PriceEntry],
    contracts: Sequence[ReservedContract] = (),
    terms: OrgTerms = OrgTerms(),
) -> BillingDocument:
    return compose_invoice(
        "acme", START, END, spans, events, METERS, prices, contracts, terms, "USD"
    )


# -- documents --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(usage=usage_st(), prices=price_book_st(), contracts=contracts_st, terms=terms_st)
def test_lines_are_whole_cents_and_the_total_is_their_sum(
    usage: tuple[list[UsageSpan], list[MeterEvent]],
    prices: list[PriceEntry],
    contracts: list[ReservedContract],
    terms: OrgTerms,
) -> None:
    doc = compose(*usage, prices, contracts, terms)

    assert all(ln.amount == ln.amount.quantize(CENT) for ln in doc.lines)
    assert doc.total == sum((ln.amount for ln in doc.lines), D(0))
    assert doc.total == doc.subtotal + doc.tax


@settings(max_examples=150, deadline=None)
@given(
    usage=usage_st(),
    prices=price_book_st(),
    contracts=contracts_st,
    terms=terms_st,
    seed=st.integers(),
)
def test_rating_the_same_usage_again_in_any_order_gives_the_same_document(
    usage: tuple[list[UsageSpan], list[MeterEvent]],
    prices: list[PriceEntry],
    contracts: list[ReservedContract],
    terms: OrgTerms,
    seed: int,
) -> None:
    spans, events = usage
    first = compose(spans, events, prices, contracts, terms)
    shuffle = random.Random(seed)
    spans2, events2 = list(spans), list(events)
    shuffle.shuffle(spans2)
    shuffle.shuffle(events2)
    # Re-sent usage: the same span or event id counts once.
    again = compose(spans2 + spans[:1], events2 + events[:2], prices, contracts, terms)

    assert again == first
    assert compose(spans, events, prices, contracts, terms) == first


@settings(max_examples=200, deadline=None)
@given(
    usage=usage_st().filter(lambda u: bool(u[0])),
    prices=price_book_st(),
    contracts=contracts_st,
    which=st.integers(min_value=0),
    cut=st.integers(0, 10**6),
)
def test_cutting_a_span_in_two_changes_nothing(
    usage: tuple[list[UsageSpan], list[MeterEvent]],
    prices: list[PriceEntry],
    contracts: list[ReservedContract],
    which: int,
    cut: int,
) -> None:
    # A requeued job or a restarted meter cuts usage differently; tiered positions are summed
    # per price segment, so no line moves, tiered, packaged or covered by a contract.
    spans, events = usage
    victim = spans[which % len(spans)]
    instant = victim.start + (victim.end - victim.start) * cut // 10**6
    head = replace(victim, id=victim.id + "/a", end=instant)
    tail = replace(victim, id=victim.id + "/b", start=instant)
    pieces = [s for s in spans if s is not victim] + [head, tail]

    assert compose(pieces, events, prices, contracts) == compose(spans, events, prices, contracts)


@settings(max_examples=150, deadline=None)
@given(usage=usage_st(), prices=price_book_st(), percent=st.decimals(0, 100, places=3))
def test_a_discount_never_takes_more_than_the_usage_it_discounts(
    usage: tuple[list[UsageSpan], list[MeterEvent]], prices: list[PriceEntry], percent: Decimal
) -> None:
    doc = compose(*usage, prices, terms=OrgTerms(discount_percent=percent))

    base = sum((ln.amount for ln in doc.lines if ln.kind is LineKind.USAGE), D(0))
    discount = sum((ln.amount for ln in doc.lines if ln.kind is LineKind.DISCOUNT), D(0))
    assert -base <= discount <= 0
    assert discount == -to_cents(base * percent / 100)
    assert base + discount >= 0


@settings(max_examples=150, deadline=None)
@given(usage=usage_st(), prices=price_book_st(), contracts=contracts_st, terms=terms_st)
def test_the_tax_line_is_the_rate_times_the_subtotal_rounded_once(
    usage: tuple[list[UsageSpan], list[MeterEvent]],
    prices: list[PriceEntry],
    contracts: list[ReservedContract],
    terms: OrgTerms,
) -> None:
    doc = compose(*usage, prices, contracts, terms)

    taxes = [ln for ln in doc.lines if ln.kind is LineKind.TAX]
    if terms.tax_rate == 0 or not doc.lines:
        assert taxes == []
        return
    assert doc.lines[-1] is taxes[0]
    assert doc.tax == to_cents(terms.tax_rate * doc.subtotal)
    assert doc.subtotal >= terms.minimum_spend


@settings(max_examples=150, deadline=None)
@given(
    charge=charges_st.filter(lambda c: c is not None),
    values=st.lists(st.decimals(min_value=0, max_value=300, places=2), min_size=1, max_size=8),
)
def test_with_one_price_all_period_a_meter_costs_the_charge_of_its_total(
    charge: Charge, values: list[Decimal]
) -> None:
    price = PriceEntry(
        "", Tier.ON_DEMAND, charge.unit_price or D(0), "USD", LONG_AGO, None, "tokens", charge
    )
    events = [
        MeterEvent(f"e{i}", "acme", None, "tokens", v, minute(i), {"model": "m"})
        for i, v in enumerate(values)
    ]
    doc = compose([], events, [price])

    assert doc.total == to_cents(charge_amount(charge, sum(values, D(0))))


# -- charges ----------------------------------------------------------------------------------

amounts_st = st.decimals(min_value=0, max_value=100, places=4)
quantities_st = st.decimals(min_value=0, max_value=10_000, places=6)


@settings(max_examples=300)
@given(tiers=tiers_st(), a=quantities_st, b=quantities_st)
def test_graduated_is_monotone_in_quantity(
    tiers: tuple[PriceTier, ...], a: Decimal, b: Decimal
) -> None:
    low, high = sorted((a, b))
    charge = Charge.graduated(*tiers)
    assert charge_amount(charge, low) <= charge_amount(charge, high)


@settings(max_examples=200)
@given(price=amounts_st, quantity=quantities_st)
def test_one_tier_without_a_flat_fee_is_per_unit(price: Decimal, quantity: Decimal) -> None:
    expected = charge_amount(Charge.per_unit(price), quantity)
    assert charge_amount(Charge.graduated(PriceTier(None, price)), quantity) == expected
    assert charge_amount(Charge.volume(PriceTier(None, price)), quantity) == expected


@settings(max_examples=300)
@given(tiers=tiers_st(), quantity=quantities_st)
def test_volume_is_never_negative_and_prices_every_unit_at_one_tier(
    tiers: tuple[PriceTier, ...], quantity: Decimal
) -> None:
    charge = Charge.volume(*tiers)
    amount = charge_amount(charge, quantity)
    assert amount >= 0
    tier = volume_tier(charge, quantity)
    assert amount == (0 if tier is None else quantity * tier.unit_price + tier.flat_fee)


@settings(max_examples=300)
@given(tiers=tiers_st(), quantity=quantities_st, per=st.sampled_from([1, 60, 3600]))
def test_scaling_is_the_same_amount_in_finer_units(
    tiers: tuple[PriceTier, ...], quantity: Decimal, per: int
) -> None:
    for charge in (Charge.graduated(*tiers), Charge.volume(*tiers), Charge.package(D(7), D(3))):
        assert scaled_charge_amount(charge, quantity * per, D(per)) == (
            charge_amount(charge, quantity) * per
        )
