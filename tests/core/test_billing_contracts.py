"""Reserved contracts: take-or-pay by whole UTC days, and the reserved usage they cover."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.contracts import (
    Coverage,
    ReservedContract,
    billed_days,
    contract_lines,
    cover_reserved,
)
from neocloud.billing.document import GPU_METER, DocumentLine, LineKind
from neocloud.billing.periods import month_bounds
from neocloud.billing.usage import UsageSpan
from neocloud.domain.jobs import Tier

D = Decimal


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def contract(
    start: datetime,
    end: datetime,
    *,
    id: str = "c1",
    gpus: int = 4,
    price: str = "2.00",
    org: str = "acme",
    gpu_type: str = "h100",
) -> ReservedContract:
    return ReservedContract(id, org, gpu_type, gpus, start, end, D(price), "USD")


# 15 Nov 2026 10:00 to 10 Feb 2027 06:00: days touched are 15 Nov … 10 Feb, both ends whole.
TERM = contract(utc(2026, 11, 15, 10), utc(2027, 2, 10, 6))


@pytest.mark.parametrize(
    ("term", "period", "expected"),
    [
        (TERM, "2026-10", None),
        (TERM, "2026-11", (date(2026, 11, 15), 16)),
        (TERM, "2026-12", (date(2026, 12, 1), 31)),
        (TERM, "2027-01", (date(2027, 1, 1), 31)),
        (TERM, "2027-02", (date(2027, 2, 1), 10)),
        (TERM, "2027-03", None),
        (contract(utc(2026, 11, 5, 12), utc(2026, 11, 8)), "2026-11", (date(2026, 11, 5), 3)),
        (contract(utc(2026, 11, 30, 23), utc(2027, 1, 1)), "2026-11", (date(2026, 11, 30), 1)),
        (contract(utc(2026, 11, 30, 23), utc(2027, 1, 1)), "2026-12", (date(2026, 12, 1), 31)),
        (contract(utc(2026, 11, 1), utc(2026, 12, 1)), "2026-11", (date(2026, 11, 1), 30)),
        (contract(utc(2026, 11, 1), utc(2026, 12, 1)), "2026-12", None),
        (
            contract(utc(2026, 11, 10, 10), utc(2026, 11, 10, 11)),
            "2026-11",
            (date(2026, 11, 10), 1),
        ),
    ],
    ids=[
        "before-the-term",
        "first-month-from-the-start-day",
        "middle-month-whole",
        "another-whole-month",
        "last-month-to-the-end-day",
        "after-the-term",
        "term-inside-one-month",
        "term-starting-on-the-last-day-pays-that-day",
        "the-month-after-a-last-day-start",
        "term-of-exactly-one-month",
        "an-end-at-midnight-pays-no-day-after",
        "one-hour-pays-its-day",
    ],
)
def test_billed_days(
    term: ReservedContract, period: str, expected: tuple[date, int] | None
) -> None:
    assert billed_days(term, *month_bounds(period)) == expected


@pytest.mark.parametrize(
    ("period", "days", "amount"),
    [("2026-11", 16, "3072.00"), ("2026-12", 31, "5952.00"), ("2027-02", 10, "1920.00")],
    ids=["first-month", "middle-month", "last-month"],
)
def test_the_contract_line_is_gpus_times_price_times_24_hours_a_day(
    period: str, days: int, amount: str
) -> None:
    start, end = month_bounds(period)
    [line] = contract_lines(TERM, start, end)

    first = billed_days(TERM, start, end)
    assert first is not None
    assert line == DocumentLine(
        kind=LineKind.CONTRACT,
        description=f"h100 reserved contract c1: 4 GPUs × {days} days",
        quantity=D(4 * 24 * days),
        unit="GPU-hour",
        unit_price=D("2.00"),
        amount=D(amount),
        service_start=datetime.combine(first[0], datetime.min.time(), tzinfo=UTC),
        service_end=datetime.combine(first[0], datetime.min.time(), tzinfo=UTC)
        + timedelta(days=days),
        meter=GPU_METER,
        gpu_type="h100",
        tier=Tier.RESERVED,
        ref="c1",
    )


def test_a_contract_line_is_rounded_once_and_says_day_for_one_day() -> None:
    term = contract(utc(2026, 11, 30, 23), utc(2026, 12, 20), gpus=1, price="1.23456")
    [line] = contract_lines(term, *month_bounds("2026-11"))
    # 24 GPU-hours × 1.23456 = 29.62944 → 29.63
    assert (line.description, line.quantity, line.amount) == (
        "h100 reserved contract c1: 1 GPU × 1 day",
        D(24),
        D("29.63"),
    )
    assert contract_lines(term, *month_bounds("2027-01")) == []


@settings(max_examples=200)
@given(
    start=st.integers(0, 90 * 24 * 60),
    length=st.integers(1, 60 * 24 * 60),
    cuts=st.lists(st.integers(1, 200 * 24 * 60 - 1), max_size=6, unique=True),
)
def test_periods_that_tile_time_bill_every_day_of_the_term_exactly_once(
    start: int, length: int, cuts: list[int]
) -> None:
    origin = utc(2026, 10, 1)
    term = contract(origin + timedelta(minutes=start), origin + timedelta(minutes=start + length))
    bounds = [origin, *(origin + timedelta(minutes=c) for c in sorted(cuts))]
    bounds.append(origin + timedelta(days=200))
    days = [billed_days(term, a, b) for a, b in pairwise(bounds)]

    counted = sum(d[1] for d in days if d is not None)
    first, last = term.start.date(), (term.end - timedelta(microseconds=1)).date()
    assert counted == (last - first).days + 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": ""}, "contract id must be a non-empty string"),
        ({"gpu_type": ""}, "contract c1: gpu_type must be a non-empty string"),
        ({"gpus": 0}, "contract c1: gpus must be an integer >= 1"),
        ({"gpus": True}, "contract c1: gpus must be an integer >= 1"),
        ({"end": utc(2026, 11, 1)}, "contract c1 term ends .* before it starts"),
        ({"end": utc(2026, 11, 2)}, "contract c1: the term is empty"),
        ({"unit_price": D(-1)}, "contract c1: unit_price must be >= 0"),
        ({"unit_price": D("NaN")}, "contract c1: unit_price must be a finite Decimal"),
        ({"currency": "usd"}, "contract c1: currency must be an ISO code"),
        ({"start": datetime(2026, 11, 2)}, "contract c1 term start must be timezone-aware"),  # noqa: DTZ001
    ],
)
def test_a_contract_refuses_bad_fields_naming_them(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "id": "c1",
        "org": "acme",
        "gpu_type": "h100",
        "gpus": 4,
        "start": utc(2026, 11, 2),
        "end": utc(2026, 12, 2),
        "unit_price": D(2),
        "currency": "USD",
    }
    with pytest.raises(ValueError, match=message):
        ReservedContract(**(fields | kwargs))  # type: ignore[arg-type]


# -- coverage of reserved usage -----------------------------------------------------------------

T0 = utc(2026, 11, 1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def span(
    start: float,
    end: float,
    *,
    id: str = "s1",
    gpus: int = 1,
    tier: Tier = Tier.RESERVED,
    region: str = "us-east",
    gpu_type: str = "h100",
    org: str = "acme",
) -> UsageSpan:
    return UsageSpan(id, org, None, "job", gpu_type, tier, region, gpus, at(start), at(end))


def _excess(spans: list[UsageSpan]) -> list[tuple[str, int, datetime, datetime]]:
    return [(s.region, s.gpus, s.start, s.end) for s in spans if s.tier is Tier.RESERVED]


def test_a_contract_covers_reserved_usage_up_to_its_gpus() -> None:
    term = contract(at(0), at(100), gpus=8)
    covered, rest = cover_reserved([span(1, 11, gpus=10)], [term])

    assert covered == [Coverage(term, D(8 * 10 * 3600), at(1), at(11))]
    assert _excess(rest) == [("us-east", 2, at(1), at(11))]


def test_usage_outside_the_term_and_other_usage_is_not_covered() -> None:
    term = contract(at(5), at(8), gpus=8)
    others = [
        span(0, 2, id="o1", tier=Tier.ON_DEMAND),
        span(0, 2, id="o2", gpu_type="a100"),
        span(0, 2, id="o3", org="beta"),
    ]
    covered, rest = cover_reserved([span(4, 9, gpus=2), *others], [term])

    assert covered == [Coverage(term, D(2 * 3 * 3600), at(5), at(8))]
    assert [s for s in rest if s in others] == others
    assert _excess([s for s in rest if s not in others]) == [
        ("us-east", 2, at(4), at(5)),
        ("us-east", 2, at(8), at(9)),
    ]


def test_the_earliest_contract_is_filled_first() -> None:
    early = contract(at(0), at(100), id="early", gpus=4)
    late = contract(at(2), at(100), id="late", gpus=4)
    covered, rest = cover_reserved([span(0, 4, gpus=6)], [late, early])

    assert covered == [
        Coverage(early, D(4 * 4 * 3600), at(0), at(4)),
        Coverage(late, D(2 * 2 * 3600), at(2), at(4)),
    ]
    assert _excess(rest) == [("us-east", 2, at(0), at(2))]


def test_contracts_cover_regions_in_name_order_and_the_excess_falls_on_the_last() -> None:
    term = contract(at(0), at(10), gpus=6)
    usage = [span(0, 1, id="u", gpus=4, region="us-east"), span(0, 1, id="e", gpus=4, region="eu")]
    covered, rest = cover_reserved(usage, [term])

    assert covered == [Coverage(term, D(6 * 3600), at(0), at(1))]
    assert _excess(rest) == [("us-east", 2, at(0), at(1))]
