"""The charge file read in the core: a billing Charge, or every problem by line and path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud.billing.charges import Charge, ChargeModel, PriceTier
from neocloud.billing.charges_file import read_charge

D = Decimal


@pytest.mark.parametrize(
    ("text", "charge"),
    [
        (
            "model: graduated\ntiers:\n  - {up_to: 1000, unit_price: 0.01, flat_fee: 5}\n"
            "  - {unit_price: 0.005}\n",
            Charge(
                ChargeModel.GRADUATED,
                tiers=(PriceTier(D(1000), D("0.01"), D(5)), PriceTier(None, D("0.005"))),
            ),
        ),
        ("model: per_unit\nunit_price: '0.0000015'\n", Charge(ChargeModel.PER_UNIT, D("1.5E-6"))),
        (
            "model: package\npackage_size: 1000\npackage_price: 2.00\n",
            Charge(ChargeModel.PACKAGE, package_size=D(1000), package_price=D("2.00")),
        ),
        (
            "model: volume\ntiers:\n  - {up_to: 10, unit_price: 1}\n"
            "  - {up_to: null, unit_price: 0}\n",
            Charge(ChargeModel.VOLUME, tiers=(PriceTier(D(10), D(1)), PriceTier(None, D(0)))),
        ),
    ],
)
def test_a_good_file_gives_the_charge_exactly(text: str, charge: Charge) -> None:
    parsed = read_charge(text)

    assert parsed.problems == []
    assert parsed.value == charge


CASES = [
    ("empty", "", ["None: <root>: the file is empty (expected a charge mapping with a 'model')"]),
    (
        "only null",
        "~\n",
        ["1: <root>: the file is empty (expected a charge mapping with a 'model')"],
    ),
    (
        "a quoted number that is not one",
        "model: per_unit\nunit_price: 'ten'\n",
        ["2: unit_price: must be a number, got 'ten'"],
    ),
    (
        "an infinite price, as written",
        "model: per_unit\nunit_price: ' inf'\n",
        ["2: unit_price: must be a finite number, got  inf"],
    ),
    (
        "a unit price above the API's bound",
        "model: per_unit\nunit_price: 100001\n",
        ["2: unit_price: must be at most 100000, got 100001"],
    ),
    (
        "a tier not a mapping",
        "model: graduated\ntiers:\n  - 5\n  - {unit_price: 1}\n",
        ["3: tiers[0]: must be a mapping (up_to, unit_price, flat_fee), got a number"],
    ),
    (
        "too many tiers",
        "model: graduated\ntiers:\n"
        + "".join(f"  - {{up_to: {i}, unit_price: 1}}\n" for i in range(1, 51))
        + "  - {unit_price: 1}\n",
        ["2: tiers: takes at most 50 tiers, got 51"],
    ),
    (
        "a bound that does not ascend is still the next one's floor",
        "model: graduated\ntiers:\n  - {up_to: 100, unit_price: 1}\n"
        "  - {up_to: 50, unit_price: 1}\n  - {up_to: 70, unit_price: 1}\n  - {unit_price: 1}\n",
        ["4: tiers[1].up_to: must be above the previous tier's up_to (100)"],
    ),
    (
        "an unknown key, named with what is allowed",
        "model: per_unit\nunit_price: 1\ncolour: red\n",
        ["3: colour: unknown key (expected model, unit_price, tiers, package_size, package_price)"],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_names_its_line_path_and_reason(
    case: str, text: str, expected: list[str]
) -> None:
    parsed = read_charge(text)

    assert parsed.value is None
    assert [f"{p.line}: {p}" for p in parsed.problems] == expected
