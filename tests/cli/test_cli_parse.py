"""Command-line values: durations, fractions, moments, KEY=VALUE and comma lists."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.cli.parse import (
    parse_csv,
    parse_decimal,
    parse_duration,
    parse_env,
    parse_fraction,
    parse_moment,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("0", 0),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1H", 3600),
        (" 45s ", 45),
    ],
)
def test_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "1.5h", "-5s", "10w", "1h30m", "1 h", "ten"])
def test_bad_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.3", Decimal("0.3")),
        ("30%", Decimal("0.3")),
        ("1", Decimal(1)),
        ("2.5%", Decimal("0.025")),
    ],
)
def test_fraction(text: str, value: Decimal) -> None:
    assert parse_fraction(text) == value


@pytest.mark.parametrize("text", ["abc", "NaN", "Infinity", "%", ""])
def test_bad_decimal(text: str) -> None:
    with pytest.raises(ValueError):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:30:00Z", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        ("2026-11-01T09:30:00", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        ("2026-11-01T10:30:00+01:00", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_moment(text: str, moment: datetime) -> None:
    parsed = parse_moment(text)

    assert parsed == moment
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "01/11/2026"])
def test_bad_moment(text: str) -> None:
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_moment(text)


def test_env_pairs() -> None:
    assert parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


@pytest.mark.parametrize("pair", ["A", "=1"])
def test_bad_env_pair(pair: str) -> None:
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_env([pair])


def test_csv_accepts_only_known_keys() -> None:
    assert parse_csv("gpu_type, tier", ("gpu_type", "tier", "org")) == ["gpu_type", "tier"]
    with pytest.raises(ValueError, match="unknown region"):
        parse_csv("gpu_type,region", ("gpu_type", "tier"))
