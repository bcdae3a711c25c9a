"""Billing periods are calendar months in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from neocloud.billing.periods import month_bounds, month_slices, period_of


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        ("2028-02", datetime(2028, 2, 1, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)),
        ("2026-01", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
    ],
    ids=["november", "december-rolls-into-next-year", "leap-february", "january"],
)
def test_month_bounds(period: str, start: datetime, end: datetime) -> None:
    assert month_bounds(period) == (start, end)


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-13", "invalid billing period '2026-13': month must be 01 to 12"),
        ("2026-00", "invalid billing period '2026-00': month must be 01 to 12"),
        ("2026-1", "invalid billing period '2026-1': expected YYYY-MM, e.g. 2026-11"),
        ("26-11", "invalid billing period '26-11': expected YYYY-MM, e.g. 2026-11"),
        ("2026/11", "invalid billing period '2026/11': expected YYYY-MM, e.g. 2026-11"),
        ("2026-11-01", "invalid billing period '2026-11-01': expected YYYY-MM, e.g. 2026-11"),
        ("", "invalid billing period '': expected YYYY-MM, e.g. 2026-11"),
        ("0000-05", "invalid billing period '0000-05': year must be 1970 to 9998"),
        ("1969-12", "invalid billing period '1969-12': year must be 1970 to 9998"),
        ("9999-12", "invalid billing period '9999-12': year must be 1970 to 9998"),
    ],
    ids=[
        "month-13",
        "month-0",
        "one-digit-month",
        "two-digit-year",
        "slash",
        "a-date",
        "empty",
        "year-0",
        "year-1969",
        "year-9999",
    ],
)
def test_a_bad_period_is_refused_by_name(period: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        month_bounds(period)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("instant", "period"),
    [
        (datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC), "2026-11"),
        (datetime(2026, 12, 1, tzinfo=UTC), "2026-12"),
        # 08:00 on 1 December in Tokyo is still 30 November in UTC.
        (datetime(2026, 12, 1, 8, tzinfo=timezone(timedelta(hours=9))), "2026-11"),
    ],
    ids=["last-microsecond", "first-instant", "other-offset"],
)
def test_period_of(instant: datetime, period: str) -> None:
    assert period_of(instant) == period
    start, end = month_bounds(period)
    assert start <= instant < end


def test_period_of_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="at must be timezone-aware"):
        period_of(datetime(2026, 11, 5))  # noqa: DTZ001


def test_a_window_is_cut_at_utc_calendar_months() -> None:
    start = datetime(2026, 1, 31, 22, tzinfo=UTC)
    months = month_slices(start, datetime(2026, 3, 2, tzinfo=UTC))
    assert [(label, a.day, b.day) for label, a, b in months] == [
        ("2026-01", 31, 1),
        ("2026-02", 1, 1),
        ("2026-03", 1, 2),
    ]
    assert month_slices(start, start) == []
