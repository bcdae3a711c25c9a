"""A node drained in Slurm while neocloud's jobs run on it, through the real control plane.

With `on_drain: requeue` (the default) the node's jobs are stopped with their grace and requeued
(or failed when their requeue flag is off), their usage ending when the drain was seen; with
`on_drain: finish` they run to their end (Slurm's own meaning of drain). Either way the drained
node takes no new work until `state=resume`. The tests share one cluster and resume what they
drain.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import client, wait_for
from tests.e2e.server import ServerProcess
from tests.e2e.slurm_support import (
    fleet_text,
    job,
    job_out,
    report,
    seconds_per_gpu,
    start_cluster,
    submit,
    until_state,
    usage,
)
from tests.engines.slurm_harness import SlurmCluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    """A Slurm cluster for this module; each test resumes the nodes it drains."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def out(slurm: SlurmCluster) -> Path:
    """Where jobs write what they saw (they run as unprivileged users)."""
    return job_out(slurm)


def _server(slurm: SlurmCluster, tmp_path: Path, on_drain: str | None = None) -> ServerProcess:
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text(slurm, tmp_path / "attempts", on_drain=on_drain))
    return ServerProcess(tmp_path / "data", path).start()


def _node_states(c: httpx.Client) -> dict[str, str]:
    checks = c.get("/v1/fleet/check").json()["clusters"]
    [hpc] = [x for x in checks if x["cluster"] == "hpc"]
    return {n["name"]: n["state"] for n in hpc["nodes"]}


def _drain(slurm: SlurmCluster, node: str) -> float:
    """Drain a node in Slurm; returns the instant it was asked."""
    asked = time.time()
    slurm.cli("scontrol", "update", f"nodename={node}", "state=drain", "reason=test")
    return asked


def _resume(slurm: SlurmCluster, node: str) -> None:
    slurm.cli("scontrol", "update", f"nodename={node}", "state=resume", check=False)


def _event(c: httpx.Client, job_id: str, reason: str) -> dict[str, Any]:
    events = c.get(f"/v1/jobs/{job_id}/events").json()
    return dict(next(e for e in events if e["reason"] == reason))


def _instant(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_a_drained_node_requeues_its_job_and_takes_no_new_work_until_resumed(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path)
    node = ""
    try:
        op = client(srv.url, srv.operator_key)
        first = submit(op, out, seconds=600, gpus=8, grace_seconds=10)
        running = until_state(op, first, "running")
        wait_for(lambda: (out / f"{first}-1-0.json").exists(), what="the job to start")
        node = running["allocations"][0]["node"]

        asked = _drain(slurm, node)
        # Requeued and running again, on the other node: the drained one takes no new work.
        again = wait_for(
            lambda: (j := job(op, first))["attempts"] == 2 and j["state"] == "running" and j,
            timeout=90,
            what="the job to run again",
        )
        [current] = [a for a in again["allocations"] if a["ended_at"] is None]
        assert current["node"] != node
        assert _node_states(op)[node] == "drain"
        reasons = [e["reason"] for e in op.get(f"/v1/jobs/{first}/events").json()]
        assert reasons.count("node_drained") == 2  # the notice, then the preemption
        assert "requeued" in reasons
        # The job was told (SIGTERM), as on a cancel.
        assert "term" in report(out, first, 1)

        # Its first attempt counted until the drain was seen, by the job's own clock.
        seen = _instant(_event(op, first, "node_drained")["details"]["drain_seen_at"])
        assert seen >= asked - 0.5
        [record] = usage(op, first)  # the second attempt still runs
        assert abs(_instant(record["ended_at"]) - seen) < 1
        assert abs(seconds_per_gpu(record) - (seen - report(out, first, 1)["start"])) < 1

        # A second 8-GPU job waits: the only other node is busy and the drained one is closed.
        second = submit(op, out, seconds=1, gpus=8)
        time.sleep(4)
        assert job(op, second)["state"] == "pending"

        _resume(slurm, node)
        wait_for(lambda: _node_states(op)[node] == "up", what="the node to be up again")
        done = until_state(op, second, "succeeded", "failed")
        assert done["state"] == "succeeded"
        assert done["allocations"][0]["node"] == node
        assert op.post(f"/v1/jobs/{first}/cancel").status_code == 200
        until_state(op, first, "cancelled")
    finally:
        if node:
            _resume(slurm, node)
        srv.stop()


def test_a_drained_node_fails_a_job_that_does_not_requeue(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path)
    node = ""
    try:
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=600, gpus=2, requeue_on_preemption=False)
        running = until_state(op, job_id, "running")
        wait_for(lambda: (out / f"{job_id}-1-0.json").exists(), what="the job to start")
        node = running["allocations"][0]["node"]

        _drain(slurm, node)
        failed = until_state(op, job_id, "failed", "pending", "succeeded")
        assert (failed["state"], failed["reason"], failed["attempts"]) == (
            "failed",
            "node_drained",
            1,
        )
        seen = _instant(_event(op, job_id, "node_drained")["details"]["drain_seen_at"])
        [record] = usage(op, job_id)
        assert abs(seconds_per_gpu(record) - (seen - report(out, job_id, 1)["start"])) < 1
    finally:
        if node:
            _resume(slurm, node)
        srv.stop()


def test_with_on_drain_finish_the_job_runs_to_its_end(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path, on_drain="finish")
    node = ""
    try:
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=6, gpus=2)
        running = until_state(op, job_id, "running")
        node = running["allocations"][0]["node"]

        _drain(slurm, node)
        wait_for(lambda: _node_states(op)[node] == "drain", what="the drain to be seen")
        done = until_state(op, job_id, "succeeded", "failed", "pending")
        assert (done["state"], done["attempts"]) == ("succeeded", 1)
        assert "term" not in report(out, job_id, 1)
        # Meanwhile nothing new went to the drained node.
        other = submit(op, out, seconds=1, gpus=1)
        assert until_state(op, other, "succeeded")["allocations"][0]["node"] != node
    finally:
        if node:
            _resume(slurm, node)
        srv.stop()
