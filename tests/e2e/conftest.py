"""Fixtures for end-to-end tests through the real server process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.e2e.server import ServerProcess

FLEET = """
node_models:
  - name: hgx-h100-2
    capex_per_node: 100000
    life_years: 5
    power_kw_per_node: 2.55
    draw_fraction: 1.0
    idle_draw_fraction: 0.3
    pue: 1.3
    price_per_kwh: 0.08
    colo_per_kw_month: 184
regions:
  - name: local
    clusters:
      - name: laptop
        engine: local
        nodes:
          - name: gpu-a
            gpu_type: h100
            gpus: 2
            cpus: 8
            memory_gb: 64
            node_model: hgx-h100-2
            topology: {nvlink_domain: nvl-a}
"""


def wait_for(
    check: Callable[[], Any], timeout: float = 60, every: float = 0.2, what: str = ""
) -> Any:
    """Poll until `check()` returns something truthy; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what or check}: last={last!r}")


def job_file(data_dir: Path, job_id: str, attempt: int, name: str) -> Path:
    """A file a job wrote into its own directory (its /job in the local engine's sandbox), as
    the machine sees it: jobs cannot write anywhere else, so tests read their records here."""
    return data_dir / "engine" / "local" / job_id / str(attempt) / "work" / name


def client(url: str, key: str) -> httpx.Client:
    """An HTTP client with a bearer key."""
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    """A one-node fleet: 2 × h100, so an internal job needing 2 GPUs must reclaim them from spot."""
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    return path


@pytest.fixture
def server(tmp_path: Path, fleet_file: Path) -> Iterator[ServerProcess]:
    """The control plane running for one test, on SQLite in its data directory."""
    srv = ServerProcess(tmp_path / "data", fleet_file).start()
    yield srv
    srv.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(
    request: pytest.FixtureRequest, tmp_path: Path, fleet_file: Path
) -> Iterator[ServerProcess]:
    """The control plane on each database backend (a fresh PostgreSQL database per test)."""
    env = {}
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        if pg is None:
            skip_or_fail("PostgreSQL is not available")
        env["NEOCLOUD_DATABASE_URL"] = pg.fresh_database()
    srv = ServerProcess(tmp_path / "data", fleet_file, env=env).start()
    yield srv
    srv.stop()
