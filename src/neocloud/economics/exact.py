"""Exact Decimal sums for reports whose rows must add up to their totals to the last digit."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from neocloud.billing.charges import exact_arithmetic

ZERO = Decimal(0)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The sum of values, with no rounding at all (Inexact raises)."""
    # Evaluate the values first, in the caller's context: a generator would otherwise run its
    # divisions inside the trapping context below and fail on any inexact quotient.
    terms = list(values)
    with exact_arithmetic():
        return sum(terms, ZERO)


def exact_difference(a: Decimal, b: Decimal) -> Decimal:
    """a − b with no rounding (even negation rounds to the context, so this runs exact)."""
    with exact_arithmetic():
        return a - b


def split_exactly(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """total split in proportion to weights; the parts add up to total exactly.

    Each part but the last is total × weight / Σ weights at the context's precision; the last
    takes what remains, so no rounding ever leaks out of the split. Weights must be >= 0 with a
    positive sum.
    """
    whole = exact_sum(weights)
    if whole <= 0 or any(w < 0 for w in weights):
        raise ValueError("split weights must be >= 0 with a positive sum")
    parts = [total * w / whole for w in weights[:-1]]
    parts.append(exact_difference(total, exact_sum(parts)))
    return parts
