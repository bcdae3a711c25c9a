"""What the end-to-end Slurm tests share: a fleet file for the test cluster, a job that reports what
it saw, and helpers to read a job's facts back through the API."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import skip_or_fail
from tests.e2e.conftest import wait_for
from tests.engines import slurm_harness
from tests.engines.slurm_harness import JOB_PYTHON, SlurmCluster

NODE_MODEL = """\
node_models:
  - name: hgx-h100
    capex_per_node: 400000
    life_years: 5
    power_kw_per_node: 10.2
    pue: 1.3
    price_per_kwh: 0.08
"""

# Records, per attempt and rank, the GPUs it saw and its start; on SIGTERM writes `term` and exits
# 0; writes its end just before exiting. argv: seconds to run, exit code.
REPORTER = r"""
import json, os, signal, sys, time
start = time.time()
key = "{}-{}-{}".format(os.environ["NEOCLOUD_JOB_ID"], os.environ["NEOCLOUD_ATTEMPT"],
                        os.environ.get("NEOCLOUD_NODE_RANK", "0"))
path = os.path.join(os.environ["OUT"], key + ".json")
rec = {"start": start, "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
       "node": os.environ.get("NEOCLOUD_NODE_NAME")}
def save():
    with open(path + ".tmp", "w") as f: json.dump(rec, f)
    os.replace(path + ".tmp", path)
def on_term(*_):
    rec["term"] = time.time(); rec["end"] = time.time(); save(); sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
save()
deadline = start + float(sys.argv[1])
while time.time() < deadline:
    time.sleep(0.05)
rec["end"] = time.time()
save()
sys.exit(int(sys.argv[2]))
"""


def job_out(cluster: SlurmCluster) -> Path:
    """A directory every job may write what it saw into (its users are not root)."""
    return slurm_harness.open_to_jobs(cluster.job_space("out"))


def start_cluster() -> SlurmCluster:
    """A running test cluster, or a skip (a failure in CI) saying why there is none."""
    reason = slurm_harness.missing()
    if reason is not None:
        skip_or_fail(reason)
    return SlurmCluster().start()


def fleet_text(
    cluster: SlurmCluster,
    state_dir: Path,
    extra_clusters: str = "",
    n2_gpu_type: str = "h100",
    on_drain: str | None = None,
) -> str:
    """A fleet of one Slurm cluster (n1, n2 × 8 h100) plus any extra cluster entries.

    The attempt directories go under the cluster's run dir, named after `state_dir`: the jobs'
    unprivileged users must reach them, and pytest keeps its temp root private."""
    state_dir = cluster.job_space(state_dir.name)
    drain_option = f"          on_drain: {on_drain}\n" if on_drain else ""
    return (
        NODE_MODEL
        + f"""\
regions:
  - name: lab
    clusters:
      - name: hpc
        engine: slurm
        engine_options:
          conf: {cluster.conf}
          partition: gpu
          state_dir: {state_dir}
          poll_cache_seconds: "0.2"
          command_timeout_seconds: "8"
{drain_option}        nodes:
          - {{name: n1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: hgx-h100}}
          - {{name: n2, gpu_type: {n2_gpu_type}, gpus: 8, cpus: 16, memory_gb: 64,
              node_model: hgx-h100}}
"""
        + extra_clusters
    )


def submit(
    c: httpx.Client,
    out: Path,
    seconds: float,
    code: int = 0,
    gpus: int = 1,
    nodes: int = 1,
    **extra: Any,
) -> str:
    """Submit the reporter job; returns its id."""
    body = {
        "command": [JOB_PYTHON, "-c", REPORTER, str(seconds), str(code)],
        "env": {"OUT": str(out)},
        "resources": {"gpu_type": "h100", "gpus_per_node": gpus, "nodes": nodes},
        "tier": "internal",
        "org": "research",
        **extra,
    }
    r = c.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def job(c: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job as the API shows it."""
    return dict(c.get(f"/v1/jobs/{job_id}").json())


def until_state(c: httpx.Client, job_id: str, *states: str, timeout: float = 90) -> dict[str, Any]:
    """Wait until the job is in one of the states; return it."""
    found: dict[str, Any] = wait_for(
        lambda: (j := job(c, job_id))["state"] in states and j,
        timeout=timeout,
        what=f"{job_id} to be {'/'.join(states)}",
    )
    return found


def report(out: Path, job_id: str, attempt: int, rank: int = 0) -> dict[str, Any]:
    """What one rank of one attempt recorded."""
    return dict(json.loads((out / f"{job_id}-{attempt}-{rank}.json").read_text()))


def usage(c: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    """The job's usage records, oldest first."""
    items = c.get("/v1/usage/records", params={"from": "2020-01-01", "limit": 500}).json()["items"]
    return sorted((r for r in items if r["job_id"] == job_id), key=lambda r: r["started_at"])


def seconds_per_gpu(record: dict[str, Any]) -> float:
    """A usage record's GPU-seconds divided by its GPUs: how long it counted."""
    return float(Decimal(record["gpu_seconds"]) / record["gpus"])


def lifetime(rec: dict[str, Any]) -> float:
    """How long a rank really ran, by its own clock."""
    return float(rec["end"]) - float(rec["start"])
