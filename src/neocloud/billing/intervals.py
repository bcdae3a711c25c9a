"""Exact time arithmetic for billing: aware instants and Decimal seconds, never floats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from neocloud.domain.money import SECONDS_PER_HOUR

_SECONDS_PER_DAY = 86_400


def require_aware(value: datetime, name: str) -> datetime:
    """Return value unchanged if it carries a UTC offset; raise ValueError naming it if naive."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value


def require_interval(start: datetime, end: datetime, what: str = "interval") -> None:
    """Raise ValueError unless both ends are aware and start <= end."""
    require_aware(start, f"{what} start")
    require_aware(end, f"{what} end")
    if end < start:
        raise ValueError(f"{what} ends ({end.isoformat()}) before it starts ({start.isoformat()})")


def exact_seconds(delta: timedelta) -> Decimal:
    """A duration as exact Decimal seconds, microseconds included."""
    whole = delta.days * _SECONDS_PER_DAY + delta.seconds
    return Decimal(whole) + Decimal(delta.microseconds).scaleb(-6)


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact seconds from start to end (negative if end is earlier)."""
    return exact_seconds(end - start)


def hours(seconds: Decimal) -> Decimal:
    """Seconds as hours (at the context's precision: a third of a second has no exact form)."""
    return seconds / SECONDS_PER_HOUR


def utc(value: datetime) -> datetime:
    """The same instant expressed in UTC."""
    return value.astimezone(UTC)
