"""Billing periods: calendar months in UTC, named `YYYY-MM`."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from neocloud.billing.intervals import require_aware, require_interval, utc
from neocloud.domain.text import MAX_YEAR, MIN_YEAR

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a month `YYYY-MM` in UTC; ValueError naming the value if it is not one."""
    match = _PERIOD.match(period) if isinstance(period, str) else None
    if match is None:
        raise ValueError(f"invalid billing period {period!r}: expected YYYY-MM, e.g. 2026-11")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"invalid billing period {period!r}: month must be 01 to 12")
    # The years every instant the platform keeps lies in (neocloud.domain.text).
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(
            f"invalid billing period {period!r}: year must be {MIN_YEAR} to {MAX_YEAR}"
        )
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_of(at: datetime) -> str:
    """The billing period (`YYYY-MM`, UTC) an instant falls in."""
    moment = utc(require_aware(at, "at"))
    return f"{moment.year:04d}-{moment.month:02d}"


def month_slices(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """[start, end) cut at UTC month boundaries: (`YYYY-MM`, slice start, slice end) in order."""
    require_interval(start, end, "window")
    slices: list[tuple[str, datetime, datetime]] = []
    lo = utc(start)
    hi = utc(end)
    while lo < hi:
        period = period_of(lo)
        _, month_end = month_bounds(period)
        slices.append((period, lo, min(month_end, hi)))
        lo = month_end
    return slices
