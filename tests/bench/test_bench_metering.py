"""The metering benchmark runs end to end on both backends and its counts are exact."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from neocloud.bench.metering import run
from neocloud.cli.main import app
from tests.pg import PostgresServer


def test_a_small_run_counts_every_duplicate_once(pg_server: PostgresServer | None) -> None:
    if pg_server is None:
        pytest.skip("PostgreSQL is not available")  # pg_database's fixture fails in CI
    assert pg_server.admin_dsn is not None
    figures = run(events=3_000, orgs=7, batch_size=500, seed=3, database_url=pg_server.admin_dsn)
    for backend in ("postgresql", "sqlite"):
        got = figures[backend]
        assert got["duplicates_sent"] > 0
        assert got["duplicates_counted"] == got["duplicates_sent"]
        assert got["accepted"] == 3_000 - got["duplicates_sent"]
        assert got["batches"] == 6
        assert got["ingest_events_per_s"] > 0
        assert got["invoices"] == 7  # every org used a priced meter


def test_the_cli_prints_json_per_backend() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "metering", "--events", "200", "--orgs", "2", "--backend", "sqlite", "--json"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert list(figures) == ["sqlite"]
    assert {"ingest_events_per_s", "duplicates_counted", "invoice_run_s"} <= set(figures["sqlite"])


def test_an_unknown_backend_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "metering", "--backend", "oracle"])
    assert result.exit_code == 2
    assert "postgresql or sqlite" in result.output
