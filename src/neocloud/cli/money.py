"""Money in tables exactly as the API sent it: every digit, fixed-point, never rounded."""

from __future__ import annotations

from decimal import Decimal


def exact(value: Decimal | None) -> str | None:
    """Fixed-point text of an amount or price with all its digits (None stays None: `-`)."""
    # Tables otherwise cut figures to 6 places; a token price of 0.0000005 must not read 0.000001.
    return None if value is None else format(value, "f")
