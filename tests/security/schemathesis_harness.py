"""Schemathesis, from its own virtualenv, against a real control-plane process.

Schemathesis lives in `.venv-schemathesis` at the repository root, built from the pinned, hashed
`schemathesis.lock` beside this file and rebuilt when the lock changes (CI builds it in .ci/run);
it is never a dependency of neocloud. The server it fuzzes runs a fleet whose only cluster is a
Ray cluster nobody listens for, so whatever jobs the fuzzer submits stay pending and nothing it
generates is ever executed.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.locked_venv import LockStep, build_locked_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = Path(os.environ.get("NEOCLOUD_SCHEMATHESIS_VENV", ROOT / ".venv-schemathesis"))
LOCK = HERE / "schemathesis.lock"
CLI = VENV / "bin" / "schemathesis"


def build_venv() -> str | None:
    """Build (or reuse) `.venv-schemathesis` from the lock; a reason string when it cannot."""
    return build_locked_venv("Schemathesis", VENV, CLI, LockStep(LOCK))


def unreachable_fleet(port: int) -> str:
    """A fleet file whose one cluster is a Ray cluster at a port nobody listens on."""
    return f"""\
node_models:
  - name: box
    capex_per_node: 100000
    life_years: 5
    power_kw_per_node: 3
    pue: 1.3
    price_per_kwh: 0.08
regions:
  - name: fuzz
    clusters:
      - name: nowhere
        engine: ray
        engine_options:
          address: http://127.0.0.1:{port}
          request_timeout_seconds: "1"
        nodes:
          - name_prefix: n-
            count: 2
            gpu_type: a100
            gpus: 4
            cpus: 32
            memory_gb: 256
            node_model: box
"""


@dataclass
class Result:
    """What one schemathesis run said: its exit code and its output (summary included)."""

    returncode: int
    output: str


def run_schemathesis(
    base_url: str,
    key: str,
    phases: str,
    max_examples: int,
    report: Path,
    timeout: float,
    seed: int = 1,
) -> Result:
    """Run the CLI over the server's whole OpenAPI document with one key."""
    cmd = [
        str(CLI),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "-H",
        f"Authorization: Bearer {key}",
        "--checks",
        "not_a_server_error,status_code_conformance,response_schema_conformance,"
        "content_type_conformance,unsupported_method",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--phases",
        phases,
        "--workers",
        "2",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        # Revoking or rotating the fuzzer's own key (its id is in GET /v1/me) would end the run;
        # bad input to those two routes is covered by tests/api.
        "--exclude-path-regex",
        r"^/v1/keys/\{key_id\}/(revoke|rotate)$",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"}
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        cwd=report.parent,
    )
    return Result(done.returncode, done.stdout + done.stderr)
