"""`neocloud simulate`: JSON and tables, every input problem printed, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from neocloud.cli.main import app
from neocloud.cli.simulate import MAX_PROBLEMS_SHOWN
from tests.sim.helpers import PHILLY_FLEET, PHILLY_FULL, PHILLY_TRACE, REPO, csv_text, fleet_yaml

TRACE = csv_text(
    "id,submit_time,duration,num_gpus,org,tier",
    "a,0,100,8,acme,internal",
    "b,10,50,8,acme,internal",
    "s,0,1000,8,globex,spot",
)


def invoke(*args: str, before: tuple[str, ...] = ()) -> Result:
    return CliRunner().invoke(app, [*before, "simulate", *args])


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    trace = tmp_path / "t.csv"
    trace.write_text(TRACE)
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml(nodes=2))
    return trace, fleet


def test_json_gives_per_tier_and_total_figures(files: tuple[Path, Path]) -> None:
    trace, fleet = files
    result = invoke("--trace", str(trace), "--fleet", str(fleet), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["jobs"] == 3 and data["fleet"] == {"file": str(fleet), "nodes": 2, "gpus": 16}
    assert data["quotas"] == "whole fleet per internal org"
    internal = data["tiers"]["internal"]
    # b reclaims the spot job's node at 10 and starts at 40, after the 30 s grace: JCTs 100
    # and 80, waits 0 and 30.
    assert (internal["jobs"], internal["jct_avg_s"], internal["wait_avg_s"]) == (2, 90.0, 15.0)
    spot = data["tiers"]["spot"]
    # The spot job is requeued at 40, restarts from scratch when b ends at 90, ends at 1090.
    assert (spot["preemptions"], spot["jct_avg_s"], spot["wait_avg_s"]) == (1, 1090.0, 50.0)
    assert data["total"]["jobs"] == 3 and data["makespan_s"] == 1090.0
    assert set(data["total"]) == {
        "jobs", "finished", "unfinished", "gpu_utilisation", "jct_avg_s", "jct_p95_s",
        "wait_avg_s", "wait_p95_s", "preemptions", "timed_out", "fragmentation_gpus",
        "makespan_s",
    }  # fmt: skip
    assert data["wall_s"] >= 0 and data["notes"] == []


def test_tables_for_people(files: tuple[Path, Path]) -> None:
    trace, fleet = files
    result = invoke("--trace", str(trace), "--fleet", str(fleet), "--sellable-cap", "h100=50%")
    assert result.exit_code == 0, result.output
    assert "JCT P95" in result.stdout and "FRAGMENTATION" in result.stdout
    assert [line.split()[0] for line in result.stdout.splitlines() if line.strip()][-3:] == [
        "internal",
        "spot",
        "total",
    ]


def test_the_global_json_flag_works_too(files: tuple[Path, Path]) -> None:
    trace, fleet = files
    result = invoke("--trace", str(trace), "--fleet", str(fleet), before=("--json",))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"]["jobs"] == 3


def test_the_example_mixed_trace_on_the_demo_fleet() -> None:
    trace = REPO / "docs" / "examples" / "mixed-trace.csv"
    fleet = REPO / "src" / "neocloud" / "demo" / "fleet.yaml"
    result = invoke(
        "--trace", str(trace), "--fleet", str(fleet), "--sellable-cap", "h100=50%", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["tiers"]) == ["internal", "on_demand", "spot"]
    assert data["total"]["finished"] == 10 and data["sellable_cap"] == {"h100": 0.5}
    # Internal and on-demand work reclaims GPUs from the spot sweeps.
    assert data["tiers"]["spot"]["preemptions"] > 0
    assert data["tiers"]["internal"]["preemptions"] == 0


def test_bad_trace_rows_are_all_printed_and_nothing_runs(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(csv_text("submit_time,duration,num_gpus", "0,10,x", "0,-1,1"))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml())
    result = invoke("--trace", str(trace), "--fleet", str(fleet))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{trace}:2: num_gpus: must be a positive integer, got 'x'",
        f"{trace}:3: duration: must be a number of seconds > 0, got '-1'",
        "error: 2 problem(s) in the inputs; nothing ran",
    ]


def test_many_problems_are_cut_short(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(csv_text("submit_time,duration,num_gpus", *["0,10,x"] * 60))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_yaml())
    result = invoke("--trace", str(trace), "--fleet", str(fleet))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == MAX_PROBLEMS_SHOWN + 2
    assert lines[-2] == f"… and {60 - MAX_PROBLEMS_SHOWN} more problems"


def test_fleet_problems_name_the_file_line_and_path(files: tuple[Path, Path]) -> None:
    trace, fleet = files
    fleet.write_text(fleet_yaml().replace("node_model: box", "node_model: nowhere"))
    result = invoke("--trace", str(trace), "--fleet", str(fleet), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "problems": [
            {
                "file": str(fleet),
                "line": 19,
                "field": "regions[0].clusters[0].nodes[0].node_model",
                "message": "unknown node model 'nowhere'",
            }
        ]
    }


def test_a_malformed_sellable_cap_is_a_usage_error(files: tuple[Path, Path]) -> None:
    trace, fleet = files
    result = invoke("--trace", str(trace), "--fleet", str(fleet), "--sellable-cap", "h100")
    assert result.exit_code == 2
    assert "is not TYPE=FRACTION" in result.stderr


def test_a_quota_file(files: tuple[Path, Path], tmp_path: Path) -> None:
    trace, fleet = files
    quotas = tmp_path / "q.csv"
    quotas.write_text(csv_text("org,gpu_type,gpus", "acme,h100,8"))
    result = invoke("--trace", str(trace), "--fleet", str(fleet), "--quotas", str(quotas), "--json")
    assert result.exit_code == 0, result.output
    # One node's worth of quota: the two internal jobs run one after the other.
    internal = json.loads(result.stdout)["tiers"]["internal"]
    assert internal["wait_avg_s"] == 45.0


def test_a_contract_file(files: tuple[Path, Path], tmp_path: Path) -> None:
    trace, fleet = files
    trace.write_text(csv_text("submit_time,duration,num_gpus,org,tier", "0,10,8,acme,reserved"))
    contracts = tmp_path / "c.csv"
    contracts.write_text(csv_text("org,gpu_type,gpus", "acme,h100,8"))
    args = ("--trace", str(trace), "--fleet", str(fleet), "--json")
    data = json.loads(invoke(*args, "--contracts", str(contracts)).stdout)
    assert data["contracts"] == str(contracts)
    assert data["tiers"]["reserved"]["finished"] == 1 and data["notes"] == []
    without = json.loads(invoke(*args).stdout)
    assert without["tiers"]["reserved"]["unfinished"] == 1
    assert without["notes"][0].startswith("1 reserved org(s) have no contract")


def test_the_philly_trace_with_its_fleet(tmp_path: Path) -> None:
    result = invoke(
        "--trace", str(PHILLY_TRACE), "--format", "philly", "--fleet", str(PHILLY_FLEET),
        "--limit", "300", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = 82247 if PHILLY_FULL else 2000
    assert (data["rows"], data["jobs"], data["skipped"]) == (rows, 300, {})
    assert data["quotas"].endswith("philly_vc_nodes.csv")
    assert data["fleet"]["gpus"] == 2816
    assert list(data["tiers"]) == ["internal"]
    assert data["total"]["finished"] + data["total"]["unfinished"] == 300
