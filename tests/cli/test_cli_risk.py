"""`neocloud economics risk`: margin at risk through the real CLI, offline (no server)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli.harness import Cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SCENARIO = REPO / "docs" / "examples" / "scenario.yaml"
DEMO_FLEET = REPO / "src" / "neocloud" / "demo" / "fleet.yaml"
KEYS = {
    "expected_margin",
    "p5_margin",
    "p50_margin",
    "p95_margin",
    "probability_of_loss",
    "margin_at_risk",
    "sensitivity",
    "wall_s",
}


def risk_json(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli.run("economics", "risk", "--scenarios", "2000", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_json_has_the_documented_figures_and_needs_no_server(cli: Cli) -> None:
    data = risk_json(cli, "--horizon-months", "24", "--seed", "5")

    assert set(data) >= KEYS
    assert cli.built == []  # no client was made: nothing talks to a server
    assert (data["fleet"], data["horizon_months"], data["scenarios"], data["seed"]) == (
        "demo fleet",
        24,
        2000,
        5,
    )
    assert data["currency"] == "USD"
    # Money is printed the way the project prints Decimals: exact strings, here to the cent.
    p5, p50, p95 = (Decimal(data[k]) for k in ("p5_margin", "p50_margin", "p95_margin"))
    assert p5 <= p50 <= p95
    # MaR is expected − P5 of the unrounded figures, so it may differ by a cent.
    mar = Decimal(data["margin_at_risk"])
    assert abs(mar - (Decimal(data["expected_margin"]) - p5)) <= Decimal("0.01")
    assert Decimal(data["expected_margin"]).as_tuple().exponent == -2
    assert 0 <= Decimal(data["probability_of_loss"]) <= 1
    assert isinstance(data["wall_s"], float)
    assert len(data["monthly"]) == 24
    assert {row["input"] for row in data["sensitivity"]} >= {"h100 price", "useful life"}
    assert set(data["sensitivity"][0]) == {
        "input",
        "rank_correlation",
        "swing",
        "bottom_decile_margin",
        "top_decile_margin",
    }


def test_the_same_seed_gives_the_same_figures(cli: Cli) -> None:
    first = risk_json(cli, "--seed", "42")
    again = risk_json(cli, "--seed", "42")
    other = risk_json(cli, "--seed", "43")

    del first["wall_s"], again["wall_s"], other["wall_s"]
    assert first == again
    assert first["expected_margin"] != other["expected_margin"]


def test_a_scenario_file_and_a_fleet_file_are_used(cli: Cli, tmp_path: Path) -> None:
    figures = ("expected_margin", "p5_margin", "p95_margin", "sensitivity", "monthly")
    defaults = risk_json(cli)
    # The demo fleet named as a file, and the example scenario (every key set to its default):
    # the same futures.
    example = risk_json(cli, "--fleet", str(DEMO_FLEET), "--scenario", str(EXAMPLE_SCENARIO))
    assert (example["fleet"], example["scenario"]) == (str(DEMO_FLEET), str(EXAMPLE_SCENARIO))
    assert [example[k] for k in figures] == [defaults[k] for k in figures]

    dearer = risk_json(
        cli, "--scenario", str(write(tmp_path, "gpu_types: {h100: {price_per_gpu_hour: 4}}\n"))
    )
    assert Decimal(dearer["expected_margin"]) > Decimal(defaults["expected_margin"])


def test_human_output_shows_the_figures_and_the_sensitivity_table(cli: Cli) -> None:
    result = cli.run("economics", "risk", "--scenarios", "1000", "--horizon-months", "12")

    assert result.exit_code == 0, result.output
    for text in (
        "P5 margin (USD)",
        "probability of a loss",
        "MaR(5 %)",
        "Sensitivity",
        "h100 price",
    ):
        assert text in result.stdout


def test_a_bad_scenario_file_lists_every_problem_and_runs_nothing(cli: Cli, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "gpu_types:\n"
        "  h100:\n"
        "    price_per_gpu_hour: -2\n"
        "    sellable_cap: 1.5\n"
        "  b200: {}\n"
        "volatility: 3\n",
    )

    result = cli.run("economics", "risk", "--scenario", str(path))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:3: gpu_types.h100.price_per_gpu_hour: must be between 0 and 10000",
        f"{path}:4: gpu_types.h100.sellable_cap: must be between 0 and 1",
        f"{path}:5: gpu_types.b200: not a GPU type of the fleet (it has a100, h100)",
        f"{path}:6: volatility: unknown key (expected one of gpu_types, useful_life,"
        " internal_growth_per_year, internal_growth_spread, electricity_price_volatility)",
        f"error: 4 problem(s) in {path}; nothing was run",
    ]


def test_a_bad_scenario_file_with_json_prints_the_problems_as_json(
    cli: Cli, tmp_path: Path
) -> None:
    path = write(tmp_path, "internal_growth_spread: -1\n")

    result = cli.run("economics", "risk", "--scenario", str(path), "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "problems": [
            {
                "file": str(path),
                "line": 1,
                "key": "internal_growth_spread",
                "message": "must be between 0 and 10",
            }
        ]
    }


def test_a_bad_fleet_file_is_reported_the_same_way(cli: Cli, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("node_models: []\n", encoding="utf-8")

    result = cli.run("economics", "risk", "--fleet", str(fleet))

    assert result.exit_code == 1
    assert f"{fleet}:1: node_models: must not be empty" in result.stderr
    assert "nothing was run" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scenarios", "0"), "'--scenarios': Input should be greater than or equal to 1"),
        (
            ("--horizon-months", "0"),
            "'--horizon-months': Input should be greater than or equal to 1",
        ),
        (("--seed", "-1"), "'--seed': Input should be greater than or equal to 0"),
        (("--horizon-months", "1201"), "'--horizon-months': Input should be less than or equal"),
        (
            ("--scenarios", "1000000", "--horizon-months", "600"),
            "--scenarios: 1000000 scenarios × 600 months is more than 20,000,000 scenario-months",
        ),
    ],
)
def test_bad_sizes_are_refused(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli.run("economics", "risk", *args)

    assert result.exit_code == 2
    assert message in " ".join(result.stderr.replace("│", " ").split())
