"""The meters file read in the core: the meters it declares, or every problem by line and path."""

from __future__ import annotations

import pytest

from neocloud.billing.meters import Aggregation, Meter
from neocloud.billing.meters_file import read_meters

GOOD = """\
meters:
  input_tokens:
    aggregation: sum
    unit: token
    group_by: [model]
  active_users: {aggregation: unique_count, unit: user, unique_by: user, description: MAU}
"""


def test_a_good_file_gives_billing_meters_in_file_order() -> None:
    parsed = read_meters(GOOD)

    assert parsed.problems == []
    assert parsed.value == {
        "input_tokens": Meter("input_tokens", Aggregation.SUM, "token", group_by=("model",)),
        "active_users": Meter(
            "active_users", Aggregation.UNIQUE_COUNT, "user", "user", description="MAU"
        ),
    }


CASES = [
    ("empty", "", ["None: <root>: the file is empty (expected a 'meters' mapping)"]),
    (
        "not a mapping",
        "- meters\n",
        ["1: <root>: must be a mapping with a 'meters' key, got a list"],
    ),
    (
        "no meters key",
        "metres: {}\n",
        [
            "1: metres: unknown key (expected 'meters')",
            "1: meters: missing required key",
        ],
    ),
    (
        "a meter not a mapping",
        "meters:\n  tokens: sum\n",
        ["2: meters.tokens: must be a mapping, got a string"],
    ),
    (
        "a unit the database cannot store",
        'meters:\n  tokens: {aggregation: sum, unit: "to\\0ken"}\n',
        ["2: meters.tokens.unit: must not contain NUL (\\u0000)"],
    ),
    (
        "a unit too long",
        f"meters:\n  tokens: {{aggregation: sum, unit: {'x' * 33}}}\n",
        ["2: meters.tokens.unit: must be at most 32 characters"],
    ),
    (
        "an empty unit",
        "meters:\n  tokens: {aggregation: sum, unit: ''}\n",
        ["2: meters.tokens.unit: must not be empty"],
    ),
    (
        "a description not text",
        "meters:\n  tokens: {aggregation: sum, unit: t, description: [a]}\n",
        ["2: meters.tokens.description: must be a string (quote numbers), got a list"],
    ),
    (
        "too many dimensions",
        "meters:\n  tokens: {aggregation: sum, unit: t, group_by: [a, b, c, d, e, f, g, h, i]}\n",
        ["2: meters.tokens.group_by: takes at most 8 dimensions, got 9"],
    ),
    (
        "group_by not a list",
        "meters:\n  tokens: {aggregation: sum, unit: t, group_by: model}\n",
        ["2: meters.tokens.group_by: must be a list of dimension names, got a string"],
    ),
    (
        "a meter name that is a number, with its other problems",
        "meters:\n  1:\n    unit: t\n",
        [
            "2: meters.1: a meter name must be a lower-case letter, then up to 62 lower-case"
            " letters, digits or _",
            "2: meters.1.aggregation: missing required key",
        ],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_names_its_line_path_and_reason(
    case: str, text: str, expected: list[str]
) -> None:
    parsed = read_meters(text)

    assert parsed.value is None
    assert [f"{p.line}: {p}" for p in parsed.problems] == expected
