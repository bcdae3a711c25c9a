"""The scheduler benchmark runs end to end on a tiny fleet (figures are not asserted: speed is
measured by the benchmark itself, never by timed tests)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from neocloud.bench.scheduler import run
from neocloud.cli.bench import app

KEYS = {
    "decisions_per_s",
    "placements",
    "preemptions",
    "p99_decision_ms",
    "peak_rss_mb",
    "fragmentation",
    "definitions",
}


def test_run_returns_every_figure() -> None:
    figures = run(64, 500, 1)
    assert figures.keys() >= KEYS
    assert figures["fill_decisions"] == 500  # every job placed or given a reason
    assert figures["placements"] > 0
    assert figures["churn_events"] == 50
    assert set(figures["fragmentation"]) >= {"total"}
    assert figures["pending_at_end"] + figures["running_at_end"] > 0


def test_same_seed_same_decisions() -> None:
    first, second = run(32, 200, 7), run(32, 200, 7)
    for key in ("decisions", "placements", "preemptions", "fragmentation"):
        assert first[key] == second[key]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="nodes and jobs"):
        run(0, 10, 1)


def test_the_command_prints_json_and_a_table() -> None:
    result = CliRunner().invoke(app, ["scheduler", "--nodes", "32", "--jobs", "200", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout).keys() >= KEYS
    table = CliRunner().invoke(app, ["scheduler", "--nodes", "32", "--jobs", "200"])
    assert table.exit_code == 0, table.output
    assert "decisions per second" in table.stdout
