"""Composition: whole invoices and statements, line by line, from usage, prices and terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.billing.charges import Charge, PriceTier
from neocloud.billing.composition import LateUsage, OrgTerms, compose_invoice, compose_statement
from neocloud.billing.contracts import ReservedContract
from neocloud.billing.document import GPU_METER, BillingDocument, DocumentLine, LineKind
from neocloud.billing.invoice import InvoiceKind
from neocloud.billing.meters import Aggregation, Meter, MeterEvent
from neocloud.billing.pricebook import PriceEntry
from neocloud.billing.rating import (
    MissingCost,
    MissingPrice,
    RatingError,
    UnknownMeter,
    rate_invoice,
)
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
OCT = datetime(2026, 10, 1, tzinfo=UTC)
LONG_AGO = -24 * 365


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def span(
    start: float,
    end: float,
    *,
    id: str = "s1",
    gpus: int = 1,
    tier: Tier = Tier.ON_DEMAND,
    gpu_type: str = "h100",
    region: str = "us-east",
    org: str = "acme",
) -> UsageSpan:
    return UsageSpan(id, org, None, "job", gpu_type, tier, region, gpus, at(start), at(end))


def event(
    id: str,
    hours: float,
    value: str = "1",
    *,
    meter: str = "tokens",
    org: str = "acme",
    dims: Mapping[str, str] | None = None,
) -> MeterEvent:
    return MeterEvent(id, org, None, meter, D(value), at(hours), dict(dims or {}))


def price(
    unit_price: str,
    from_hours: float = LONG_AGO,
    *,
    meter: str = GPU_METER,
    gpu_type: str | None = None,
    tier: Tier = Tier.ON_DEMAND,
    region: str | None = None,
    charge: Charge | None = None,
    currency: str = "USD",
) -> PriceEntry:
    if gpu_type is None:
        gpu_type = "h100" if meter == GPU_METER else ""
    return PriceEntry(
        gpu_type, tier, D(unit_price), currency, at(from_hours), region, meter, charge
    )


TOKENS = Meter("tokens", Aggregation.SUM, "token", group_by=("model",))
PEAK = Meter("peak_gb", Aggregation.MAX, "GB")
CALLS = Meter("calls", Aggregation.COUNT, "call")
USERS = Meter("users", Aggregation.UNIQUE_COUNT, "user", unique_by="user")
METERS = [TOKENS, PEAK, CALLS, USERS]


def invoice(
    spans: Sequence[UsageSpan] = (),
    events: Sequence[MeterEvent] = (),
    prices: Sequence[PriceEntry] = (),
    *,
    contracts: Sequence[ReservedContract] = (),
    terms: OrgTerms = OrgTerms(),
    late: Sequence[LateUsage] = (),
) -> BillingDocument:
    return compose_invoice(
        "acme", START, END, spans, events, METERS, prices, contracts, terms, "USD", late
    )


def summary(doc: BillingDocument) -> list[tuple[LineKind, str, str, str | None]]:
    return [(ln.kind, ln.description, str(ln.amount), ln.ref) for ln in doc.lines]


def amounts(doc: BillingDocument) -> list[tuple[str, Decimal]]:
    return [(ln.description, ln.amount) for ln in doc.lines]


# -- a whole invoice ----------------------------------------------------------------------------


def test_a_hand_composed_invoice_with_every_kind_of_line_in_order() -> None:
    graduated_tokens = Charge.graduated(
        PriceTier(D(1000), D("0.001")), PriceTier(None, D("0.0005"), D(1))
    )
    prices = [
        price("2.50"),
        price("2.00", tier=Tier.RESERVED),
        price("0.001", meter="tokens", charge=graduated_tokens),
        price("2.50", from_hours=-24 * 40),
    ]
    contract = ReservedContract("c1", "acme", "h100", 8, at(0.5), at(24 * 40), D("1.80"), "USD")
    late = LateUsage(
        "inv-2026-10",
        OCT,
        START,
        spans=[span(-48, -46, id="late-1")],
    )
    terms = OrgTerms(discount_percent=D(10), minimum_spend=D("11000.00"), tax_rate=D("0.20"))

    doc = invoice(
        spans=[
            span(1, 4, id="od", gpus=2),  # 6 GPU-hours at 2.50 = 15.00
            span(1, 11, id="rs", gpus=10, tier=Tier.RESERVED),  # 80 h covered, 20 h at 2.00
        ],
        # 1,800 tokens: 1,000 × 0.001 + 800 × 0.0005 + 1 flat = 2.40
        events=[event(f"t{i}", i, "600", dims={"model": "llama"}) for i in range(3)],
        prices=prices,
        contracts=[contract],
        terms=terms,
        late=[late],
    )

    assert summary(doc) == [
        (LineKind.USAGE, "h100 reserved GPU time under contract c1", "0.00", "c1"),
        (LineKind.USAGE, "h100 reserved GPU time", "40.00", None),
        (LineKind.USAGE, "h100 on_demand GPU time", "15.00", None),
        (LineKind.USAGE, "tokens model=llama (graduated)", "2.40", None),
        # 8 GPUs × 24 h × 30 days × 1.80; contracts are not discounted
        (LineKind.CONTRACT, "h100 reserved contract c1: 8 GPUs × 30 days", "10368.00", "c1"),
        (LineKind.DISCOUNT, "Discount 10% on usage", "-5.74", None),
        # 11000 − (57.40 + 10368.00 − 5.74)
        (
            LineKind.MINIMUM_COMMITMENT,
            "Minimum spend of 11000.00 USD per period (spent 10419.66 USD)",
            "580.34",
            None,
        ),
        (
            LineKind.ADJUSTMENT,
            "h100 on_demand GPU time, late usage of invoice inv-2026-10",
            "5.00",
            "inv-2026-10",
        ),
        (
            LineKind.DISCOUNT,
            "Discount 10% on late usage of invoice inv-2026-10",
            "-0.50",
            "inv-2026-10",
        ),
        # 20 % of 11004.50
        (LineKind.TAX, "Tax 20%", "2200.90", None),
    ]
    assert (doc.subtotal, doc.tax, doc.total) == (D("11004.50"), D("2200.90"), D("13205.40"))
    assert (doc.org, doc.kind, doc.currency) == ("acme", InvoiceKind.INVOICE, "USD")

    covered, reserved, _, tokens = doc.lines[:4]
    assert (covered.quantity, covered.unit_price, covered.tier) == (
        D("80.000000"),
        D(0),
        Tier.RESERVED,
    )
    assert (reserved.quantity, reserved.unit_price) == (D("20.000000"), D("2.00"))
    assert (tokens.meter, tokens.unit, tokens.quantity, tokens.unit_price) == (
        "tokens",
        "token",
        D("1800.000000"),
        None,
    )
    assert (tokens.gpu_type, tokens.service_start, tokens.service_end) == (None, at(0), at(2))
    adjustment = doc.lines[7]
    assert (adjustment.service_start, adjustment.service_end) == (at(-48), at(-46))
    discount = doc.lines[5]
    assert (discount.quantity, discount.unit, discount.unit_price) == (
        D("57.40"),
        "USD",
        D("-0.1"),
    )


def test_gpu_lines_are_the_rated_invoice_lines() -> None:
    prices = [price("2.50"), price("3.00", 100), price("1.00", tier=Tier.SPOT)]
    spans = [
        span(10, 13, id="u1", gpus=2),
        span(98, 104, id="u2"),
        span(5, 5 + 1 / 3, id="u3", tier=Tier.SPOT),
    ]

    doc = invoice(spans, prices=prices)
    rated = rate_invoice("acme", START, END, spans, prices)

    assert [
        (ln.description, ln.gpu_type, ln.tier, ln.quantity, ln.unit, ln.unit_price, ln.amount)
        for ln in doc.lines
    ] == [
        (r.description, r.gpu_type, r.tier, r.quantity, r.unit, r.unit_price, r.amount)
        for r in rated.lines
    ]
    assert doc.total == rated.total == D("32.33")


def test_nothing_used_and_no_commitment_is_an_empty_invoice_even_with_a_tax_rate() -> None:
    doc = invoice(terms=OrgTerms(discount_percent=D(5), tax_rate=D("0.2")))
    assert (list(doc.lines), doc.total) == ([], D("0.00"))


# -- meters, tiers and price changes ------------------------------------------------------------

# Tokens at hours 1, 2 and 3; the price changes at 2.5: the first 120 are used under A, the
# last 60 under B, at positions 120 to 180 of the period.
TIMED = [event(f"t{i}", i, "60") for i in (1, 2, 3)]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (
            Charge.per_unit(D("0.01")),
            Charge.per_unit(D("0.02")),
            [("tokens model=", D("1.20")), ("tokens model=", D("1.20"))],
        ),
        (
            # A: 60 × 0.01, then 40 × 0.01 + 20 × 0.005; B from position 120: 60 × 0.01
            Charge.graduated(PriceTier(D(100), D("0.01")), PriceTier(None, D("0.005"))),
            Charge.graduated(PriceTier(D(100), D("0.02")), PriceTier(None, D("0.01"))),
            [("tokens model= (graduated)", D("1.10")), ("tokens model= (graduated)", D("0.60"))],
        ),
        (
            # total 180 is in the second tier: A's 120 at 0.005; B's 60 at 0.01 + B's flat 3
            Charge.volume(PriceTier(D(100), D("0.01"), D(1)), PriceTier(None, D("0.005"), D(2))),
            Charge.volume(PriceTier(D(100), D("0.02")), PriceTier(None, D("0.01"), D(3))),
            [("tokens model= (volume)", D("0.60")), ("tokens model= (volume)", D("3.60"))],
        ),
        (
            # packages of 50: A opens 3 (positions to 150), B opens the 4th at position 150
            Charge.package(D(50), D("1.00")),
            Charge.package(D(50), D("2.00")),
            [("tokens model= (package)", D("3.00")), ("tokens model= (package)", D("2.00"))],
        ),
    ],
    ids=["per-unit", "graduated-continues-from-earlier-units", "volume-by-period-total", "package"],
)
def test_a_mid_period_price_change_prices_each_unit_at_its_own_time_and_place(
    a: Charge, b: Charge, expected: list[tuple[str, Decimal]]
) -> None:
    prices = [
        price(str(a.unit_price or 0), meter="tokens", charge=a),
        price(str(b.unit_price or 0), 2.5, meter="tokens", charge=b),
    ]
    doc = invoice(events=TIMED, prices=prices)

    assert sorted(amounts(doc), key=lambda x: x[1]) == sorted(expected, key=lambda x: x[1])
    assert sum(ln.quantity for ln in doc.lines) == D(180)


def test_graduated_gpu_time_counts_gpu_hours_across_a_price_change() -> None:
    a = Charge.graduated(PriceTier(D(12), D("3.00")), PriceTier(None, D("2.00")))
    b = Charge.graduated(PriceTier(D(12), D("4.00")), PriceTier(None, D("1.00")))
    prices = [price("3.00", charge=a), price("4.00", 15, charge=b)]
    # 10 h under A at 3.00; then positions 10 to 20 under B: 2 h at 4.00 + 8 h at 1.00
    doc = invoice([span(0, 10, id="x"), span(20, 30, id="y")], prices=prices)

    assert [(ln.quantity, ln.unit_price, ln.amount) for ln in doc.lines] == [
        (D("10.000000"), None, D("30.00")),
        (D("10.000000"), None, D("16.00")),
    ]
    assert doc.lines[0].description == "h100 on_demand GPU time (graduated)"


def test_tiers_count_per_region() -> None:
    volume = Charge.volume(PriceTier(D(10), D("3.00")), PriceTier(None, D("2.00")))
    prices = [price("3.00", charge=volume)]
    # 8 h in each region: each region's total is in the first tier
    doc = invoice([span(0, 8, id="e", region="eu"), span(0, 8, id="u", region="us")], prices=prices)
    assert [(ln.quantity, ln.amount) for ln in doc.lines] == [(D("16.000000"), D("48.00"))]


def test_max_is_priced_when_first_reached_and_distinct_values_when_first_seen() -> None:
    prices = [
        price("1.00", meter="peak_gb"),
        price("2.00", 3, meter="peak_gb"),
        price("0.10", meter="users"),
        price("0.20", 3, meter="users"),
        price("0.01", meter="calls"),
        price("0.02", 3, meter="calls"),
    ]
    events = [
        event("p1", 1, "5", meter="peak_gb"),
        event("p2", 2, "9", meter="peak_gb"),
        event("p3", 4, "9", meter="peak_gb"),
        event("u1", 1, meter="users", dims={"user": "ann"}),
        event("u2", 2, meter="users", dims={"user": "bob"}),
        event("u3", 4, meter="users", dims={"user": "ann"}),
        event("u4", 4, meter="users", dims={"user": "cat"}),
        event("c1", 1, "50", meter="calls"),
        event("c2", 4, "50", meter="calls"),
    ]
    doc = invoice(events=events, prices=prices)

    assert [(ln.description, ln.quantity, ln.unit_price, ln.amount) for ln in doc.lines] == [
        ("calls", D("1.000000"), D("0.01"), D("0.01")),
        ("calls", D("1.000000"), D("0.02"), D("0.02")),
        ("peak_gb", D("9.000000"), D("1.00"), D("9.00")),
        ("users", D("2.000000"), D("0.10"), D("0.20")),
        ("users", D("1.000000"), D("0.20"), D("0.20")),
    ]


def test_event_dimensions_choose_the_gpu_type_tier_and_region_of_the_price() -> None:
    prices = [
        price("1.00", meter="tokens"),
        price("3.00", meter="tokens", gpu_type="h100"),
        price("0.50", meter="tokens", tier=Tier.SPOT),
        price("5.00", meter="tokens", region="eu"),
    ]
    events = [
        event("a", 1, dims={"model": "m"}),
        event("b", 1, dims={"model": "m", "gpu_type": "h100"}),
        event("c", 1, dims={"model": "m", "tier": "spot"}),
        event("d", 1, dims={"model": "m", "region": "eu"}),
        event("e", 1, dims={"model": "m", "region": "us"}),
    ]
    doc = invoice(events=events, prices=prices)

    assert amounts(doc) == [
        ("tokens model=m", D("2.00")),
        ("tokens model=m", D("5.00")),
        ("tokens spot model=m", D("0.50")),
        ("tokens h100 model=m", D("3.00")),
    ]
    assert doc.lines[0].quantity == D(2)  # us has no regional price: the general one
    assert doc.lines[3].gpu_type == "h100"


def test_meter_usage_without_a_price_is_never_billed_as_zero() -> None:
    prices = [price("0.01", 5, meter="tokens")]
    with pytest.raises(MissingPrice) as raised:
        invoice(events=[event("late", 7), event("early", 2)], prices=prices)
    assert (raised.value.meter, raised.value.at) == ("tokens", at(2))
    assert str(raised.value) == (
        "no USD price for meter tokens (any GPU type, on_demand) in region None"
        " in force at 2026-11-01T02:00:00+00:00"
    )
    # Nothing used needs no price.
    assert invoice(events=[event("zero", 2, "0")], prices=prices).lines == ()


def test_events_outside_the_period_or_of_other_orgs_are_not_billed() -> None:
    prices = [price("1.00", meter="tokens")]
    events = [event("before", -1), event("after", 24 * 30), event("beta", 1, org="beta")]
    assert invoice(events=[*events, event("in", 1)], prices=prices).total == D("1.00")


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (event("x", 1, meter="unknown"), UnknownMeter, "event x: meter unknown is not declared"),
        (
            event("x", 1, meter=GPU_METER),
            ValueError,
            "gpu_seconds is measured from allocations",
        ),
    ],
    ids=["undeclared-meter", "gpu-seconds-as-events"],
)
def test_events_that_cannot_be_rated_are_refused(
    bad: MeterEvent, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        invoice(events=[bad], prices=[price("1.00", meter="tokens")])


# -- contracts, discounts, minimums, tax --------------------------------------------------------

CONTRACT = ReservedContract("c1", "acme", "h100", 2, START, END, D("1.00"), "USD")


def test_reserved_usage_beyond_the_contract_needs_a_reserved_price() -> None:
    with pytest.raises(MissingPrice) as raised:
        invoice([span(0, 1, gpus=3, tier=Tier.RESERVED)], contracts=[CONTRACT])
    assert (raised.value.tier, raised.value.at) == (Tier.RESERVED, at(0))
    # Within the contract no price is needed: the contract line pays for it.
    doc = invoice([span(0, 1, gpus=2, tier=Tier.RESERVED)], contracts=[CONTRACT])
    assert amounts(doc) == [
        ("h100 reserved GPU time under contract c1", D("0.00")),
        ("h100 reserved contract c1: 2 GPUs × 30 days", D("1440.00")),
    ]


def test_contracts_of_other_orgs_are_ignored_and_another_currency_is_refused() -> None:
    other = ReservedContract("c9", "beta", "h100", 2, START, END, D("1.00"), "USD")
    assert invoice(contracts=[other]).lines == ()
    euro = ReservedContract("c2", "acme", "h100", 2, START, END, D("1.00"), "EUR")
    with pytest.raises(ValueError, match="contract c2 is in EUR, the invoice in USD"):
        invoice(contracts=[euro])
    # A contract that ended before the period (or any late period) billed does not matter.
    old = ReservedContract("c3", "acme", "h100", 2, OCT - timedelta(days=90), OCT, D(1), "EUR")
    assert invoice(contracts=[old]).lines == ()
    with pytest.raises(ValueError, match="contract c3 is in EUR"):
        invoice(contracts=[old], late=[LateUsage("inv-sep", OCT - timedelta(days=30), OCT)])


@pytest.mark.parametrize(
    ("percent", "discount"),
    [("0", None), ("10", "-1.00"), ("12.5", "-1.25"), ("0.05", "-0.01"), ("100", "-10.00")],
)
def test_the_discount_is_a_share_of_usage_rounded_once_and_contracts_keep_their_rate(
    percent: str, discount: str | None
) -> None:
    doc = invoice(
        [span(0, 4)], prices=[price("2.50")], contracts=[CONTRACT], terms=OrgTerms(D(percent))
    )
    lines = [ln for ln in doc.lines if ln.kind is LineKind.DISCOUNT]
    assert [str(ln.amount) for ln in lines] == ([discount] if discount else [])
    assert doc.total == D("10.00") + D("1440.00") + (D(discount) if discount else 0)


@pytest.mark.parametrize(
    ("minimum", "true_up"),
    [("0", None), ("5.00", None), ("9.00", None), ("9.01", "0.01"), ("100.00", "91.00")],
)
def test_the_minimum_tops_up_the_discounted_subtotal(minimum: str, true_up: str | None) -> None:
    terms = OrgTerms(discount_percent=D(10), minimum_spend=D(minimum))
    doc = invoice([span(0, 4)], prices=[price("2.50")], terms=terms)  # 10.00 − 1.00
    lines = [ln for ln in doc.lines if ln.kind is LineKind.MINIMUM_COMMITMENT]
    assert [str(ln.amount) for ln in lines] == ([true_up] if true_up else [])
    assert doc.total == max(D("9.00"), D(minimum))


def test_a_minimum_is_owed_even_without_usage() -> None:
    doc = invoice(terms=OrgTerms(minimum_spend=D("50.00"), tax_rate=D("0.1")))
    assert summary(doc) == [
        (
            LineKind.MINIMUM_COMMITMENT,
            "Minimum spend of 50.00 USD per period (spent 0.00 USD)",
            "50.00",
            None,
        ),
        (LineKind.TAX, "Tax 10%", "5.00", None),
    ]


@pytest.mark.parametrize(
    ("hours", "rate", "tax"),
    [(0.02, "0.1", "0.01"), (0.06, "0.03", "0.00"), (2, "0.19", "0.95"), (0.18, "0.0833", "0.04")],
    ids=["half-a-cent-rounds-up", "under-half-rounds-down", "exact", "sub-cent-rate"],
)
def test_tax_is_the_rate_times_the_subtotal_rounded_half_up_once(
    hours: float, rate: str, tax: str
) -> None:
    # e.g. 0.02 h at 2.50 = 0.05, × 0.1 = 0.005 → 0.01 (half-up); 0.45 × 0.0833 = 0.037485
    doc = invoice([span(0, hours)], prices=[price("2.50")], terms=OrgTerms(tax_rate=D(rate)))
    assert doc.lines[-1].kind is LineKind.TAX
    assert doc.tax == D(tax)
    assert doc.total == doc.subtotal + doc.tax


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discount_percent": D(101)}, "discount_percent must be between 0 and 100"),
        ({"discount_percent": D(-1)}, "discount_percent must be between 0 and 100"),
        ({"tax_rate": D("1.5")}, "tax_rate must be between 0 and 1"),
        ({"tax_rate": D("NaN")}, "tax_rate must be a finite Decimal"),
        ({"minimum_spend": D("10.001")}, "minimum_spend must be >= 0 in whole cents"),
        ({"minimum_spend": D("-1")}, "minimum_spend must be >= 0 in whole cents"),
    ],
)
def test_terms_refuse_bad_values_naming_the_field(kwargs: dict[str, Decimal], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OrgTerms(**kwargs)


# -- late usage ---------------------------------------------------------------------------------

GRADUATED = Charge.graduated(PriceTier(D(100), D("1.00")), PriceTier(None, D("0.50")))


def late_of_october(**kwargs: Sequence[object]) -> LateUsage:
    return LateUsage("inv-oct", OCT, START, **kwargs)  # type: ignore[arg-type]


def test_late_usage_is_rated_at_the_price_of_its_own_time() -> None:
    prices = [price("2.00"), price("3.00", 0)]
    doc = invoice(
        [span(0, 1, id="now")],
        prices=prices,
        late=[late_of_october(spans=[span(-10, -9, id="then")])],
    )
    assert summary(doc) == [
        (LineKind.USAGE, "h100 on_demand GPU time", "3.00", None),
        (
            LineKind.ADJUSTMENT,
            "h100 on_demand GPU time, late usage of invoice inv-oct",
            "2.00",
            "inv-oct",
        ),
    ]


def test_late_units_take_their_place_after_what_the_period_already_billed() -> None:
    prices = [price("1.00", meter="tokens", charge=GRADUATED)]
    billed = [event("b1", -100, "90")]
    late = late_of_october(events=[event("l1", -50, "20")], billed_events=billed)

    doc = invoice(prices=prices, late=[late])

    # F(110) − F(90) = 10 × 1.00 + 10 × 0.50; alone it would have been 20.00
    [line] = doc.lines
    assert (line.kind, line.quantity, line.amount, line.ref) == (
        LineKind.ADJUSTMENT,
        D(20),
        D("15.00"),
        "inv-oct",
    )
    assert (line.service_start, line.service_end) == (at(-50), at(-50))


def test_a_volume_tier_reached_late_is_a_credit() -> None:
    volume = Charge.volume(PriceTier(D(100), D("1.00")), PriceTier(None, D("0.50")))
    prices = [price("1.00", meter="tokens", charge=volume)]
    late = late_of_october(events=[event("l1", -50, "20")], billed_events=[event("b1", -100, "90")])
    # billed 90 × 1.00; now 110 × 0.50 = 55.00
    assert [ln.amount for ln in invoice(prices=prices, late=[late]).lines] == [D("-35.00")]


def test_usage_resent_after_it_was_billed_is_not_billed_again() -> None:
    prices = [price("1.00", meter="tokens")]
    billed = event("b1", -100, "90")
    resent = MeterEvent("b1", "acme", None, "tokens", D(999), billed.time, {})
    late = late_of_october(events=[resent], billed_events=[billed], spans=[])
    assert invoice(prices=prices, late=[late], terms=OrgTerms(D(10))).lines == ()


@pytest.mark.parametrize(
    ("late", "message"),
    [
        (
            [late_of_october(events=[event("x", 1)])],
            "late usage of invoice inv-oct: event x at 2026-11-01T01:00:00",
        ),
        (
            [LateUsage("inv-now", OCT, at(1))],
            "late usage of invoice inv-now must belong to a period that ended by",
        ),
        ([late_of_october(), late_of_october()], "late usage: invoice inv-oct is given twice"),
    ],
    ids=["event-outside-its-period", "period-overlapping-this-one", "same-invoice-twice"],
)
def test_late_usage_must_belong_to_one_earlier_period(late: list[LateUsage], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invoice(prices=[price("1.00", meter="tokens")], late=late)


# -- statements ---------------------------------------------------------------------------------


def test_a_statement_shows_gpu_time_at_cost_and_meters_at_internal_prices() -> None:
    prices = [
        price("9.99", tier=Tier.INTERNAL),  # GPU prices do not apply at cost
        price("0.50", meter="tokens", tier=Tier.INTERNAL),
    ]
    spans = [span(0, 10, gpus=8, tier=Tier.INTERNAL)]
    events = [event("t", 1, "3", dims={"model": "m"})]
    late = late_of_october(spans=[span(-5, -4, id="l", tier=Tier.INTERNAL)])

    doc = compose_statement(
        "acme", START, END, spans, events, METERS, prices, {"h100": D("1.50")}, "USD", [late]
    )

    assert doc.kind is InvoiceKind.STATEMENT
    assert summary(doc) == [
        (LineKind.USAGE, "h100 internal GPU time at cost", "120.00", None),
        (LineKind.USAGE, "tokens model=m", "1.50", None),
        (
            LineKind.ADJUSTMENT,
            "h100 internal GPU time at cost, late usage of invoice inv-oct",
            "1.50",
            "inv-oct",
        ),
    ]


def test_a_statement_needs_the_cost_of_every_gpu_type_used_late_or_not() -> None:
    late = late_of_october(spans=[span(-5, -4, id="l", gpu_type="mi300x")])
    with pytest.raises(MissingCost, match="mi300x"):
        compose_statement("acme", START, END, [], [], [], [], {"h100": D(1)}, "USD", [late])


def test_a_rated_invoice_cannot_show_tiered_gpu_prices() -> None:
    with pytest.raises(RatingError, match="priced with a graduated charge"):
        rate_invoice("acme", START, END, [span(0, 1)], [price("1.00", charge=GRADUATED)])


def test_document_lines_are_whole_cents_and_the_total_their_sum() -> None:
    doc = invoice(
        [span(0, 1 / 7, gpus=3)],
        [event(f"e{i}", i, "0.333333") for i in range(5)],
        [price("2.4999"), price("0.0123", meter="tokens")],
        terms=OrgTerms(D("7.5"), D("0.00"), D("0.19")),
    )
    assert all(isinstance(ln, DocumentLine) for ln in doc.lines)
    assert doc.total == sum(ln.amount for ln in doc.lines)


def test_late_usage_names_its_invoice_and_a_meter_is_declared_once() -> None:
    with pytest.raises(ValueError, match="late usage: invoice_id must be a non-empty string"):
        LateUsage("", OCT, START)
    with pytest.raises(ValueError, match=r"late usage of x period ends .* before it starts"):
        LateUsage("x", START, OCT)
    other_tokens = Meter("tokens", Aggregation.MAX, "token")
    with pytest.raises(ValueError, match="meters: tokens is declared twice, differently"):
        compose_invoice("acme", START, END, [], [], [TOKENS, other_tokens], [])
    assert compose_invoice("acme", START, END, [], [], [TOKENS, TOKENS], []).lines == ()
