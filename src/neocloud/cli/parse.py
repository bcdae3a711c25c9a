"""Turning command-line text into values: durations, decimals, moments, KEY=VALUE pairs.

Each parser raises ValueError with a sentence for people; Typer turns it into a usage error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in `90`, `30s`, `5m`, `2h` or `1d`."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (use e.g. 90, 30s, 5m, 2h, 1d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_decimal(text: str) -> Decimal:
    """An exact decimal number (never through float)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_fraction(text: str) -> Decimal:
    """A fraction as `0.3` or `30%`."""
    stripped = text.strip()
    if stripped.endswith("%"):
        return parse_decimal(stripped[:-1]) / 100
    return parse_decimal(stripped)


def parse_moment(text: str) -> datetime:
    """An aware UTC datetime from an ISO date (midnight UTC) or datetime (naive means UTC)."""
    stripped = text.strip()
    try:
        if len(stripped) == 10:
            return datetime.combine(date.fromisoformat(stripped), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO date or datetime (e.g. 2026-11-01 or 2026-11-01T09:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_env(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` items as a mapping; the value may itself contain `=`."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r} is not KEY=VALUE")
        env[key] = value
    return env


def parse_csv(text: str, allowed: tuple[str, ...]) -> list[str]:
    """A comma-separated list whose items must be among `allowed`."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise ValueError(f"unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return items
