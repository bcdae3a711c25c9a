"""How values read in tables, and how error details are laid out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from neocloud.cli.output import decimal_text, detail_lines


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1.10"), "1.10"),
        (Decimal("1E-5"), "0.00001"),
        (Decimal("7200"), "7200"),
        (Decimal("1.141552511415525114155251142"), "1.141553"),
        (Decimal("-0.0017861908437"), "-0.001786"),
        (Decimal("0.0000004"), "0.000000"),
        (Decimal("1E+3"), "1000"),
    ],
)
def test_table_decimals_are_fixed_point_to_six_places(value: Decimal, shown: str) -> None:
    assert decimal_text(value) == shown


@pytest.mark.parametrize(
    ("details", "lines"),
    [
        ({"field": "name"}, ["field: name"]),
        (
            {"problems": [{"path": "regions[0]", "message": "must be a mapping"}]},
            ["regions[0]: must be a mapping"],
        ),
        # One validation error is already the message; several are listed.
        ({"field": "a", "errors": [{"field": "a", "message": "bad"}]}, ["field: a"]),
        (
            {"errors": [{"field": "a", "message": "bad"}, {"field": "b", "message": "worse"}]},
            ["a: bad", "b: worse"],
        ),
        ({"limits": {"gpus": 16}}, ['limits: {"gpus": 16}']),
    ],
)
def test_detail_lines(details: dict[str, Any], lines: list[str]) -> None:
    assert detail_lines(details) == lines
