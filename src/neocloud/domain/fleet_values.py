"""The fleet file's values: names, labels and numbers within bounds, as shapes (domain.yaml_shapes)
in the words fleet files have always used (`must be > 0`, `must be between 0 and 1`)."""

from __future__ import annotations

import re
from decimal import Decimal

from neocloud.domain.yaml_shapes import Check, Integer, MapOf, Number, Text, at_most, matching

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_HINT = "a name (letters, digits, '.', '_', '-')"
# As long as the store's label columns.
LABEL_LEN = 128

# A bound check serves both exact numbers and whole numbers.
Bound = Check[Decimal | int]


def above(low: int) -> Bound:
    """Check: the number is greater than low."""
    return lambda value: None if value > low else f"must be > {low}"


def at_least(low: int) -> Bound:
    """Check: the number is low or more."""
    return lambda value: None if value >= low else f"must be >= {low}"


def no_more_than(high: int) -> Bound:
    """Check: the number is high or less."""
    return lambda value: None if value <= high else f"must be <= {high}"


def _fraction(value: Decimal) -> str | None:
    return None if 0 <= value <= 1 else "must be between 0 and 1"


def number(*checks: Check[Decimal]) -> Number:
    """An exact, finite number, then checks in order."""
    return Number(checks=checks, show_strings=False)


NON_NEGATIVE = number(at_least(0))
POSITIVE = number(above(0))
FRACTION = number(_fraction)


def whole(*checks: Check[int]) -> Integer:
    """A whole number, then checks in order."""
    return Integer(checks=checks)


def text(pattern: re.Pattern[str], max_len: int, hint: str, *checks: Check[str]) -> Text:
    """A string of at most max_len characters matching pattern (`must be <hint>`), then checks."""
    return Text(checks=(at_most(max_len), matching(pattern, hint), *checks))


def name(max_len: int, *checks: Check[str]) -> Text:
    """A name (letters, digits, '.', '_', '-') of at most max_len characters, then checks."""
    return text(NAME, max_len, NAME_HINT, *checks)


def _label_value(value: str) -> str | None:
    return None if 0 < len(value) <= LABEL_LEN else f"must be 1 to {LABEL_LEN} characters"


def labels(key_pattern: re.Pattern[str]) -> MapOf[str]:
    """String keys matching key_pattern to non-empty strings; any problem spoils them all."""

    def key_problem(key: object) -> str | None:
        good = isinstance(key, str) and key_pattern.match(key) and len(key) <= LABEL_LEN
        return None if good else f"invalid key '{key}'"

    return MapOf(
        Text(expected="a string (quote numbers)", checks=(_label_value,)),
        key_checks=(key_problem,),
        key_problems_at_entry=False,
        all_or_nothing=True,
    )
