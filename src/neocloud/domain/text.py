"""What text and instants the platform accepts from anyone, shared by the API and the engines.

Both databases must store what the API accepted: PostgreSQL refuses NUL in text and JSON, and
neither can encode a lone surrogate, so those are refused everywhere. Identifiers and names are
shown in tables, logs and invoices, so they may hold no control character at all, nor the bidi
controls that make a name read as another.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

# Instants the platform can store, compare and render on both backends once normalised to UTC;
# 9999 is left out so a bound plus a month or a day never overflows.
MIN_YEAR = 1970
MAX_YEAR = 9998

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text on every backend, or None (NUL, lone surrogates)."""
    if "\x00" in value:
        return "must not contain NUL (\\u0000)"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return "must not contain lone surrogates"
    return None


def name_problem(value: str) -> str | None:
    """Why a string is not acceptable as an identifier or a name, or None."""
    problem = text_problem(value)
    if problem is not None:
        return problem
    for c in value:
        if unicodedata.category(c) == "Cc":
            return f"must not contain control characters (found U+{ord(c):04X})"
        if c in _BIDI_CONTROLS:
            return f"must not contain bidirectional controls (found U+{ord(c):04X})"
    return None


def instant_problem(value: datetime) -> str | None:
    """Why an instant is outside what the platform keeps (years 1970..9998 in UTC), or None."""
    if value.tzinfo is None:
        year = value.year
    else:
        try:
            year = value.astimezone(UTC).year
        except OverflowError:
            return f"must be between {MIN_YEAR} and {MAX_YEAR} (UTC)"
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"must be between {MIN_YEAR} and {MAX_YEAR} (UTC)"
    return None


def date_problem(value: date) -> str | None:
    """Why a calendar date is outside years 1970..9998, or None."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return f"must be between {MIN_YEAR} and {MAX_YEAR}"
    return None
