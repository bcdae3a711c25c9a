"""The price book: which price is in force at an instant, and where an interval's price changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.charges import Charge, PriceTier
from neocloud.billing.pricebook import PriceEntry, PriceSegment, price_at, price_segments
from neocloud.domain.jobs import Tier

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def entry(
    price: str,
    from_hours: float,
    region: str | None = None,
    gpu_type: str = "h100",
    tier: Tier = Tier.ON_DEMAND,
) -> PriceEntry:
    return PriceEntry(gpu_type, tier, D(price), "USD", at(from_hours), region)


GENERAL_2 = entry("2.00", 0)
GENERAL_3 = entry("3.00", 10)
EAST_5 = entry("5.00", 5, region="us-east")
SPOT_1 = entry("1.00", 0, tier=Tier.SPOT)
A100_1 = entry("1.50", 0, gpu_type="a100")
BOOK = [GENERAL_2, GENERAL_3, EAST_5, SPOT_1, A100_1]


@pytest.mark.parametrize(
    ("when", "region", "expected"),
    [
        (-1, None, None),
        (0, None, GENERAL_2),
        (9.99, None, GENERAL_2),
        (10, None, GENERAL_3),
        (4, "us-east", GENERAL_2),
        (5, "us-east", EAST_5),
        (20, "us-east", EAST_5),
        (20, "eu-west", GENERAL_3),
    ],
    ids=[
        "before-any-price",
        "at-effective-from",
        "just-before-change",
        "at-change",
        "region-before-its-price",
        "region-price-starts",
        "region-price-beats-newer-general",
        "other-region-gets-general",
    ],
)
def test_price_at(when: float, region: str | None, expected: PriceEntry | None) -> None:
    assert price_at(BOOK, "h100", Tier.ON_DEMAND, at(when), region) == expected


def test_price_at_matches_gpu_type_and_tier() -> None:
    assert price_at(BOOK, "h100", Tier.SPOT, at(1)) == SPOT_1
    assert price_at(BOOK, "a100", Tier.ON_DEMAND, at(1)) == A100_1
    assert price_at(BOOK, "a100", Tier.SPOT, at(1)) is None


def test_of_two_prices_set_for_the_same_instant_the_later_one_wins() -> None:
    first, second = entry("2.00", 0), entry("2.20", 0)
    assert price_at([first, second], "h100", Tier.ON_DEMAND, at(1)) == second


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        price_at(BOOK, "h100", Tier.ON_DEMAND, datetime(2026, 11, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="effective_from must be timezone-aware"):
        PriceEntry("h100", Tier.SPOT, D(1), "USD", datetime(2026, 11, 1))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("price", "message"),
    [(D("-0.01"), "unit_price must be >= 0"), (D("NaN"), "finite"), (D("Infinity"), "finite")],
    ids=["negative", "nan", "infinite"],
)
def test_a_price_must_be_a_finite_non_negative_decimal(price: Decimal, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriceEntry("h100", Tier.SPOT, price, "USD", T0)


def test_segments_split_where_the_price_changes() -> None:
    segments = price_segments(BOOK, "h100", Tier.ON_DEMAND, at(-2), at(12))

    assert segments == [
        PriceSegment(at(-2), at(0), None),
        PriceSegment(at(0), at(10), GENERAL_2),
        PriceSegment(at(10), at(12), GENERAL_3),
    ]


def test_a_general_change_under_a_regional_price_does_not_split() -> None:
    segments = price_segments(BOOK, "h100", Tier.ON_DEMAND, at(1), at(20), region="us-east")

    assert segments == [
        PriceSegment(at(1), at(5), GENERAL_2),
        PriceSegment(at(5), at(20), EAST_5),
    ]


def test_empty_and_reversed_intervals() -> None:
    assert price_segments(BOOK, "h100", Tier.ON_DEMAND, at(3), at(3)) == []
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        price_segments(BOOK, "h100", Tier.ON_DEMAND, at(3), at(2))


hours_st = st.integers(min_value=-48 * 60, max_value=48 * 60).map(lambda m: m / 60)
books = st.lists(
    st.builds(
        entry,
        price=st.sampled_from(["1.00", "2.00", "2.50"]),
        from_hours=hours_st,
        region=st.sampled_from([None, "us-east", "eu-west"]),
    ),
    max_size=8,
)


@settings(max_examples=200)
@given(
    book=books,
    a=hours_st,
    b=hours_st,
    region=st.sampled_from([None, "us-east"]),
    probe=st.integers(min_value=0, max_value=999_999),
)
def test_segments_tile_the_interval_and_agree_with_price_at(
    book: list[PriceEntry], a: float, b: float, region: str | None, probe: int
) -> None:
    start, end = sorted((at(a), at(b)))
    segments = price_segments(book, "h100", Tier.ON_DEMAND, start, end, region)

    if start == end:
        assert segments == []
        return
    assert segments[0].start == start
    assert segments[-1].end == end
    for before, after in pairwise(segments):
        assert before.end == after.start
        assert before.entry != after.entry
    for segment in segments:
        assert segment.start < segment.end
        inside = segment.start + (segment.end - segment.start) * probe // 1_000_000
        assert price_at(book, "h100", Tier.ON_DEMAND, inside, region) == segment.entry


# -- meters and charges -------------------------------------------------------------------------


def test_old_style_entries_price_gpu_time_per_unit() -> None:
    assert (GENERAL_2.meter, GENERAL_2.charge) == ("gpu_seconds", None)
    assert GENERAL_2.effective_charge == Charge.per_unit(D("2.00"))
    assert GENERAL_2.per_unit


def test_prices_are_keyed_by_meter_too() -> None:
    tokens = PriceEntry("", Tier.ON_DEMAND, D("0.002"), "USD", at(0), meter="tokens")
    book = [*BOOK, tokens]

    assert price_at(book, "", Tier.ON_DEMAND, at(1), meter="tokens") == tokens
    assert price_at(book, "h100", Tier.ON_DEMAND, at(1), meter="tokens") is None
    assert price_at(book, "h100", Tier.ON_DEMAND, at(1)) == GENERAL_2
    assert price_segments(book, "", Tier.ON_DEMAND, at(-1), at(1), meter="tokens") == [
        PriceSegment(at(-1), at(0), None),
        PriceSegment(at(0), at(1), tokens),
    ]


def test_a_tiered_entry_is_priced_by_its_charge() -> None:
    graduated = Charge.graduated(PriceTier(D(10), D("2.00")), PriceTier(None, D("1.50")))
    e = PriceEntry("h100", Tier.SPOT, D("2.00"), "USD", T0, charge=graduated)
    assert (e.effective_charge, e.per_unit) == (graduated, False)
    same = PriceEntry("h100", Tier.SPOT, D("2.00"), "USD", T0, charge=Charge.per_unit(D("2.0")))
    assert same.per_unit


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gpu_type": ""}, "gpu_type is required for a price of gpu_seconds"),
        ({"meter": "Tokens"}, "meter must be a meter name"),
        ({"charge": Charge.per_unit(D(3))}, "a per_unit charge at 3 contradicts unit_price 2"),
        ({"charge": "graduated"}, "charge must be a Charge or None"),
    ],
    ids=["gpu-price-without-gpu-type", "bad-meter-name", "contradicting-per-unit", "not-a-charge"],
)
def test_an_entry_refuses_inconsistent_keys_and_charges(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "gpu_type": "h100",
        "tier": Tier.SPOT,
        "unit_price": D(2),
        "currency": "USD",
        "effective_from": T0,
    }
    with pytest.raises(ValueError, match=message):
        PriceEntry(**(fields | kwargs))  # type: ignore[arg-type]


def test_a_meter_price_may_leave_the_gpu_type_empty() -> None:
    assert PriceEntry("", Tier.SPOT, D(1), "USD", T0, meter="tokens").gpu_type == ""
