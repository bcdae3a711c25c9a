"""`neocloud fleet`: offline validation, loading with problems, offerings, caps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neocloud.engines.options import OPTION_RULES
from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s

fleet_file = pytest.importorskip("neocloud.domain.fleet_file")

VALID = """\
node_models:
  - name: hgx-h100
    capex_per_node: 400000
    life_years: 5
    power_kw_per_node: 10.2
    pue: 1.3
    price_per_kwh: 0.08
  - name: mi300x-box
    capex_per_node: 300000
    life_years: 5
    power_kw_per_node: 9
    pue: 1.3
    price_per_kwh: 0.08
regions:
  - name: us-east
    clusters:
      - name: east-a
        nodes:
          - name_prefix: h100-
            count: 3
            gpu_type: h100
            gpus: 8
            cpus: 96
            memory_gb: 1024
            node_model: hgx-h100
          - name: amd-01
            gpu_type: mi300x
            gpus: 8
            cpus: 96
            memory_gb: 2048
            node_model: mi300x-box
"""

# Two mistakes: a node model nobody declared, and a negative GPU count.
INVALID = VALID.replace("node_model: mi300x-box", "node_model: nowhere").replace(
    "gpus: 8\n            cpus: 96\n            memory_gb: 1024",
    "gpus: -1\n            cpus: 96\n            memory_gb: 1024",
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return path


def test_validate_summarises_a_valid_file_offline(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("fleet", "validate", str(write(tmp_path, VALID)))

    assert result.exit_code == 0, result.output
    assert "valid: 4 nodes, 32 GPUs in 1 clusters, 1 regions" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["h100", "24"] in rows
    assert ["mi300x", "8"] in rows
    assert cli.built == []  # no Client, no server


def test_validate_lists_every_problem_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    expected = fleet_file.parse_fleet(INVALID, OPTION_RULES).problems
    assert len(expected) >= 2

    path = write(tmp_path, INVALID)
    result = cli.run("fleet", "validate", str(path))

    assert result.exit_code == 1
    assert all(p.line for p in expected), "every problem is located by its line"
    assert result.stdout.splitlines() == [
        f"{path}:{p.line}: {p.path}: {p.message}" for p in expected
    ]
    assert cli.built == []


@pytest.mark.parametrize(("text", "valid", "code"), [(VALID, True, 0), (INVALID, False, 1)])
def test_validate_json(cli: Cli, tmp_path: Path, text: str, valid: bool, code: int) -> None:
    result = cli.run("fleet", "validate", "--json", str(write(tmp_path, text)))

    out = json.loads(result.stdout)
    assert result.exit_code == code
    assert out["valid"] is valid
    assert bool(out["problems"]) is not valid
    if valid:
        assert (out["nodes"], out["gpus"]) == (4, 32)
        assert out["gpus_by_type"] == {"h100": 24, "mi300x": 8}


def test_validate_missing_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("fleet", "validate", str(tmp_path / "absent.yaml"))

    assert result.exit_code == 2


def test_load_prints_each_problem_the_server_found(cli: Cli, tmp_path: Path) -> None:
    problems = [
        {"path": "regions[0].clusters[0].nodes[1].node_model", "message": "unknown node model"},
        {"path": "regions[0].clusters[0].nodes[0].gpus", "message": "must be > 0"},
    ]
    cli.api.on(
        "PUT",
        "/v1/fleet",
        {
            "error": {
                "code": "invalid_fleet",
                "message": "the fleet file has 2 problems",
                "details": {"problems": problems},
            }
        },
        status=422,
    )

    result = cli.run("fleet", "load", str(write(tmp_path, INVALID)))

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: invalid_fleet: the fleet file has 2 problems",
        "  regions[0].clusters[0].nodes[1].node_model: unknown node model",
        "  regions[0].clusters[0].nodes[0].gpus: must be > 0",
    ]
    assert cli.api.last_json() == {"yaml": INVALID}


def test_show_prints_capacity_per_gpu_type(cli: Cli) -> None:
    cli.api.on("GET", "/v1/fleet", s.fleet_summary())

    result = cli.run("fleet", "show")

    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["h100", "16", "4", "0.3"] in rows


def test_offerings_one_price_column_per_tier(cli: Cli) -> None:
    cli.api.on("GET", "/v1/offerings", [s.offering()])

    result = cli.run("fleet", "offerings")

    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert lines[0] == ["GPU", "TYPE", "MAX", "GPUS/NODE", "ON_DEMAND", "SPOT", "CURRENCY"]
    assert ["h100", "8", "2.49", "1.10", "USD"] in lines


@pytest.mark.parametrize(("given", "sent"), [("0.3", "0.3"), ("30%", "0.3"), ("12.5%", "0.125")])
def test_cap_set_sends_an_exact_fraction(cli: Cli, given: str, sent: str) -> None:
    cli.api.on("PUT", "/v1/sellable-caps", {"gpu_type": "h100", "fraction": sent})

    result = cli.run("fleet", "cap", "set", "h100", given)

    assert result.exit_code == 0
    assert cli.api.last_json() == {"gpu_type": "h100", "fraction": sent}


def test_quota_set_json(cli: Cli) -> None:
    cli.api.on("PUT", "/v1/quotas", s.quota(gpus=32))

    result = cli.run("fleet", "quota", "set", "acme", "h100", "32", "--json")

    assert result.exit_code == 0
    assert cli.api.last_json() == {"org": "acme", "gpu_type": "h100", "gpus": 32, "borrow_limit": 0}
    assert json.loads(result.stdout) == s.quota(gpus=32)
