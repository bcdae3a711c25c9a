"""The `neocloud` command against the real server: the README tour, as a test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import wait_for
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e
NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))


def cli(server: ServerProcess, *args: str, key: str | None = None, ok: bool = True) -> Any:
    """Run the CLI with --json and return the parsed output (or the process when ok=False)."""
    env = {**os.environ, "NEOCLOUD_URL": server.url, "NEOCLOUD_API_KEY": key or server.operator_key}
    proc = subprocess.run(
        [NEOCLOUD, "--json", *args], capture_output=True, text=True, env=env, timeout=60
    )
    if not ok:
        return proc
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_the_tour(server: ServerProcess, tmp_path: Path) -> None:
    assert cli(server, "fleet", "show")["gpus"] == 2
    cost = cli(server, "economics", "cost", "--node-model", "hgx-h100-2")
    assert cost["depreciation"] and cost["total"]
    cli(server, "orgs", "create", "acme", "--kind", "external")
    secret = cli(server, "keys", "create", "--org", "acme", "--name", "t", "--role", "owner")[
        "secret"
    ]
    job = cli(
        server,
        "jobs",
        "submit",
        "--gpu-type",
        "h100",
        "--gpus",
        "1",
        "--tier",
        "spot",
        "--",
        # The system's python3: a sandboxed job sees the system's programs, not the test's venv.
        "python3",
        "-c",
        "print('hi from the cli')",
        key=secret,
    )
    wait_for(
        lambda: cli(server, "jobs", "show", job["id"], key=secret)["state"] == "succeeded",
        what="cli job succeeded",
    )
    waited = cli(server, "jobs", "wait", job["id"], key=secret, ok=False)
    assert waited.returncode == 0
    logs = subprocess.run(
        [NEOCLOUD, "jobs", "logs", job["id"]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NEOCLOUD_URL": server.url, "NEOCLOUD_API_KEY": secret},
    )
    assert "hi from the cli" in logs.stdout
    usage = cli(server, "usage", "--from", "2020-01-01", "--group-by", "org,tier", key=secret)
    assert [r["tier"] for r in usage] == ["spot"]
    from datetime import UTC, datetime

    period = datetime.now(UTC).strftime("%Y-%m")
    invoices = cli(server, "invoices", "generate", "--period", period, "--org", "acme")
    assert invoices[0]["lines"]
    margin = cli(server, "margin", "--from", datetime.now(UTC).strftime("%Y-%m-01"))
    assert "gross_margin" in margin

    # Failures: a clear message on stderr and a non-zero exit.
    bad = cli(
        server,
        "jobs",
        "submit",
        "--gpu-type",
        "tpu",
        "--gpus",
        "1",
        "--tier",
        "spot",
        "--",
        "true",
        key=secret,
        ok=False,
    )
    assert bad.returncode == 1 and "resources.gpu_type" in bad.stderr
    other = cli(server, "jobs", "show", "job_doesnotexist", key=secret, ok=False)
    assert other.returncode == 1 and "not_found" in other.stderr


def test_fleet_validate_reports_every_problem_offline(tmp_path: Path) -> None:
    bad = tmp_path / "fleet.yaml"
    bad.write_text(
        "regions:\n  - name: r\n    clusters:\n      - name: c\n        nodes:\n"
        "          - {name: a, gpu_type: h100, gpus: 0, cpus: 1, memory_gb: 1, node_model: m}\n"
        "          - {name: b, gpu_type: h100, gpus: 8, cpus: 0, memory_gb: 1, node_model: m}\n"
    )
    proc = subprocess.run(
        [NEOCLOUD, "fleet", "validate", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "regions[0].clusters[0].nodes[0].gpus" in out
    assert "regions[0].clusters[0].nodes[1].cpus" in out
