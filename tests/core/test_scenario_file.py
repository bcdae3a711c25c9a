"""The scenario file: what it may set, and every way it can be wrong (file: key: reason)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from neocloud.domain.exact_yaml import FileProblem
from neocloud.economics.risk.margin_at_risk import UsefulLife, default_scenario
from neocloud.economics.risk.scenario_file import parse_scenario
from tests.core.test_risk_support import fleet

D = Decimal
FLEET = fleet(("h100", 8), ("a100", 4))
DEFAULTS = default_scenario(FLEET)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "scenario.yaml"


def test_keys_left_out_keep_their_defaults() -> None:
    text = """
internal_growth_per_year: 0.25
useful_life: {mode: 6}
gpu_types:
  h100:
    price_per_gpu_hour: 2.10
    sellable_cap: 0.4
"""
    parsed = parse_scenario(text, FLEET)

    assert parsed.problems == []
    assert parsed.scenario == replace(
        DEFAULTS,
        internal_growth_per_year=D("0.25"),
        useful_life=UsefulLife(D(4), D(6), D(7)),
        gpu_types={
            "a100": DEFAULTS.gpu_types["a100"],
            "h100": replace(
                DEFAULTS.gpu_types["h100"], price_per_gpu_hour=D("2.10"), sellable_cap=D("0.4")
            ),
        },
    )
    # Numbers are exact: 2.10 is the Decimal 2.10, never a binary float.
    assert parsed.scenario is not None
    assert str(parsed.scenario.gpu_types["h100"].price_per_gpu_hour) == "2.10"


def test_a_file_with_only_comments_and_a_mapping_is_all_defaults() -> None:
    assert parse_scenario("# nothing to change\n{}\n", FLEET).scenario == DEFAULTS


def test_a_null_useful_life_or_gpu_types_keeps_the_defaults() -> None:
    assert parse_scenario("useful_life:\ngpu_types: ~\n", FLEET).scenario == DEFAULTS


FRACTION = "must be between 0 and 1"
GPU_TYPE_KEYS = (
    "price_per_gpu_hour, price_drift_per_year, price_volatility, sellable_cap,"
    " internal_utilisation, external_demand, external_demand_volatility,"
    " external_demand_month_noise"
)
ROOT_KEYS = (
    "gpu_types, useful_life, internal_growth_per_year, internal_growth_spread,"
    " electricity_price_volatility"
)


def h100(setting: str) -> str:
    """A file setting one key of the h100 entry."""
    return f"gpu_types: {{h100: {{{setting}}}}}\n"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("", "<root>", "the scenario file is empty (expected a mapping of scenario keys)"),
        ("- 1\n", "<root>", "must be a mapping, got a list"),
        ("volatility: 0.3\n", "volatility", f"unknown key (expected one of {ROOT_KEYS})"),
        (
            "internal_growth_per_year: -1\n",
            "internal_growth_per_year",
            "must be greater than -1 and at most 10",
        ),
        (
            "internal_growth_spread: '0.1'\n",
            "internal_growth_spread",
            "must be a number, got '0.1'",
        ),
        (
            "electricity_price_volatility: true\n",
            "electricity_price_volatility",
            "must be a number, got a boolean",
        ),
        (
            "electricity_price_volatility: .nan\n",
            "electricity_price_volatility",
            "must be a finite number",
        ),
        (
            "gpu_types: [h100]\n",
            "gpu_types",
            "must be a mapping of GPU type to settings, got a list",
        ),
        (
            "gpu_types: {b200: {}}\n",
            "gpu_types.b200",
            "not a GPU type of the fleet (it has a100, h100)",
        ),
        ("gpu_types: {h100: 2.5}\n", "gpu_types.h100", "must be a mapping, got a number"),
        (
            h100("price: 2"),
            "gpu_types.h100.price",
            f"unknown key (expected one of {GPU_TYPE_KEYS})",
        ),
        (
            h100("price_per_gpu_hour: -2.5"),
            "gpu_types.h100.price_per_gpu_hour",
            "must be between 0 and 10000",
        ),
        (
            h100("price_per_gpu_hour: cheap"),
            "gpu_types.h100.price_per_gpu_hour",
            "must be a number, got 'cheap'",
        ),
        (
            h100("price_drift_per_year: -1.2"),
            "gpu_types.h100.price_drift_per_year",
            "must be greater than -1 and at most 10",
        ),
        (
            h100("price_volatility: -0.3"),
            "gpu_types.h100.price_volatility",
            "must be between 0 and 5",
        ),
        (h100("sellable_cap: 1.2"), "gpu_types.h100.sellable_cap", FRACTION),
        (h100("internal_utilisation: -0.1"), "gpu_types.h100.internal_utilisation", FRACTION),
        (h100("external_demand: 2"), "gpu_types.h100.external_demand", FRACTION),
        (
            h100("external_demand_volatility: 1.5"),
            "gpu_types.h100.external_demand_volatility",
            FRACTION,
        ),
        (
            h100("external_demand_month_noise: -0.01"),
            "gpu_types.h100.external_demand_month_noise",
            FRACTION,
        ),
        ("useful_life: 5\n", "useful_life", "must be a mapping, got a number"),
        ("useful_life: {low: 0}\n", "useful_life.low", "must be greater than 0 and at most 50"),
        (
            "useful_life: {median: 5}\n",
            "useful_life.median",
            "unknown key (expected one of low, mode, high)",
        ),
        ("useful_life: {mode: 8}\n", "useful_life.mode", "must be between low (4) and high (7)"),
        ("useful_life: {low: 8}\n", "useful_life.low", "must be <= high (7)"),
    ],
)
def test_each_bad_input_is_named_by_its_key_with_the_reason(
    text: str, key: str, reason: str
) -> None:
    parsed = parse_scenario(text, FLEET)

    assert parsed.scenario is None
    assert [(p.path, p.message) for p in parsed.problems] == [(key, reason)]


def test_every_problem_is_reported_with_its_line_in_file_order() -> None:
    text = """gpu_types:
  h100:
    price_per_gpu_hour: -1
    sellable_cap: 3
  a100:
    external_demand: -0.5
useful_life:
  low: 2
  colour: blue
"""
    parsed = parse_scenario(text, FLEET)

    assert parsed.scenario is None
    assert parsed.problems == [
        FileProblem("gpu_types.h100.price_per_gpu_hour", "must be between 0 and 10000"),
        FileProblem("gpu_types.h100.sellable_cap", "must be between 0 and 1"),
        FileProblem("gpu_types.a100.external_demand", "must be between 0 and 1"),
        FileProblem("useful_life.colour", "unknown key (expected one of low, mode, high)"),
    ]
    assert [p.line for p in parsed.problems] == [3, 4, 6, 9]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            "gpu_types: {h100: {sellable_cap: 0.3}\n",  # one closing brace short
            "expected ',' or '}', but got '<stream end>'",
            2,
        ),
        ("useful_life:\n  low: 4\n  low: 5\n", "found duplicate key 'low'", 3),
    ],
)
def test_a_file_that_is_not_yaml_is_one_problem_with_its_line(
    text: str, message: str, line: int
) -> None:
    parsed = parse_scenario(text, FLEET)

    assert [(p.path, p.message, p.line) for p in parsed.problems] == [("<yaml>", message, line)]


def test_the_documented_example_reads_against_the_demo_fleet_shape() -> None:
    parsed = parse_scenario(EXAMPLE.read_text(encoding="utf-8"), FLEET)

    assert parsed.problems == []
    assert parsed.scenario is not None
    assert set(parsed.scenario.gpu_types) == {"a100", "h100"}
