"""Faults on a real Slurm cluster, through the real control plane: a node dies mid-run, the
controller becomes unreachable, the control plane is SIGKILLed, a cluster is misconfigured.
Each test has a Slurm cluster of its own, since it breaks it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neocloud.domain.fleet_file import parse_fleet
from neocloud.engines.options import OPTION_RULES
from tests.e2e.conftest import client, wait_for
from tests.e2e.server import ServerProcess
from tests.e2e.slurm_support import (
    fleet_text,
    job,
    job_out,
    lifetime,
    report,
    seconds_per_gpu,
    start_cluster,
    submit,
    until_state,
    usage,
)
from tests.engines.slurm_harness import SlurmCluster

pytestmark = pytest.mark.e2e


@pytest.fixture
def slurm() -> Iterator[SlurmCluster]:
    """A Slurm cluster of this test's own."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def out(slurm: SlurmCluster) -> Path:
    """Where jobs write what they saw (they run as unprivileged users)."""
    return job_out(slurm)


def _server(slurm: SlurmCluster, tmp_path: Path, **fleet: str) -> ServerProcess:
    path = tmp_path / "fleet.yaml"
    path.write_text(fleet_text(slurm, tmp_path / "attempts", **fleet))
    return ServerProcess(tmp_path / "data", path).start()


def _cluster_check(c, name: str = "hpc") -> dict[str, object]:  # type: ignore[no-untyped-def]
    checks = c.get("/v1/fleet/check").json()["clusters"]
    return dict(next(x for x in checks if x["cluster"] == name))


def test_a_node_that_dies_requeues_its_job_which_runs_elsewhere(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path)
    try:
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=600, gpus=8)
        first = until_state(op, job_id, "running")
        wait_for(lambda: (out / f"{job_id}-1-0.json").exists(), what="the job to start")
        time.sleep(1.5)
        node = first["allocations"][0]["node"]
        slurm_id = first_slurm_id(slurm, job_id)

        slurm.kill_node(node, [slurm_id])
        died = time.time()
        # Requeued (its policy) and started again on the other node, the dead one unschedulable.
        second = wait_for(
            lambda: (j := job(op, job_id))["attempts"] == 2 and j["state"] == "running" and j,
            timeout=90,
            what="the job to run again",
        )
        [current] = [a for a in second["allocations"] if a["ended_at"] is None]
        assert current["node"] != node
        events = [e["reason"] for e in op.get(f"/v1/jobs/{job_id}/events").json()]
        assert "node_failed" in events and "requeued" in events
        check = _cluster_check(op)
        down = {n["name"]: n["state"] for n in check["nodes"]}  # type: ignore[union-attr]
        assert down[node] == "down"

        # The first attempt counted until the node died, not until Slurm noticed.
        [record] = usage(op, job_id)
        started = report(out, job_id, 1)["start"]
        assert abs(seconds_per_gpu(record) - (died - started)) < 1

        slurm.start_node(node)
        wait_for(
            lambda: {n["state"] for n in _cluster_check(op)["nodes"]} == {"up"},  # type: ignore[union-attr]
            what="the node to return",
        )
        assert op.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
        until_state(op, job_id, "cancelled")
    finally:
        srv.stop()


def test_a_job_with_no_attempts_left_fails_when_its_node_dies(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    # Its retry policy allows one attempt in all: a node failure ends it, nothing is requeued.
    srv = _server(slurm, tmp_path)
    try:
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=600, gpus=8, max_attempts=1)
        first = until_state(op, job_id, "running")
        wait_for(lambda: (out / f"{job_id}-1-0.json").exists(), what="the job to start")
        slurm.kill_node(first["allocations"][0]["node"], [first_slurm_id(slurm, job_id)])

        done = until_state(op, job_id, "failed")

        assert (done["reason"], done["attempts"], done["max_attempts"]) == ("node_failed", 1, 1)
        assert "no attempts left: 1 of max_attempts 1" in done["message"]
        assert len(usage(op, job_id)) == 1  # one attempt, counted once
    finally:
        srv.stop()


def first_slurm_id(slurm: SlurmCluster, job_id: str) -> str:
    """The Slurm job id of a job's first attempt, found by the name neocloud gives it."""
    return slurm.cli("squeue", "-h", "--states=all", "-n", f"nc-{job_id}-1", "-o", "%i").strip()


def test_an_unreachable_controller_degrades_the_engine_and_loses_no_job(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path)
    try:
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=12)
        until_state(op, job_id, "running")

        slurm.stop_controller()
        degraded = wait_for(
            lambda: (c := _cluster_check(op))["state"] == "degraded" and c,
            what="the engine reported degraded",
        )
        assert "squeue" in str(degraded["message"]) or "sinfo" in str(degraded["message"])
        shown = op.get("/v1/fleet").json()["engines"]
        assert [e["state"] for e in shown if e["cluster"] == "hpc"] == ["degraded"]
        time.sleep(3)
        assert job(op, job_id)["state"] == "running"

        slurm.start_controller()
        done = until_state(op, job_id, "succeeded", "failed", timeout=120)
        assert done["state"] == "succeeded" and done["attempts"] == 1
        wait_for(lambda: _cluster_check(op)["state"] == "ok", what="the engine ok again")
        [record] = usage(op, job_id)
        assert abs(seconds_per_gpu(record) - lifetime(report(out, job_id, 1))) < 1
    finally:
        srv.stop()


def test_sigkill_of_the_control_plane_loses_no_job_and_counts_usage_once(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path)
    try:
        op = client(srv.url, srv.operator_key)
        short = submit(op, out, seconds=4)
        long = submit(op, out, seconds=10, gpus=4, nodes=2)
        for job_id in (short, long):
            until_state(op, job_id, "running")
        srv.kill()
        # The short job ends while nobody watches.
        wait_for(lambda: "end" in report(out, short, 1), what="the short job to end")
    finally:
        srv.stop()

    srv = ServerProcess(tmp_path / "data", tmp_path / "fleet.yaml").start()
    try:
        op = client(srv.url, srv.operator_key)
        for job_id in (short, long):
            done = until_state(op, job_id, "succeeded", "failed", timeout=120)
            assert (done["state"], done["attempts"]) == ("succeeded", 1)
    finally:
        srv.stop()

    # Never launched twice: one Slurm job per attempt.
    names = slurm.cli("squeue", "-h", "--states=all", "-o", "%j").split()
    assert sorted(names) == sorted([f"nc-{short}-1", f"nc-{long}-1"])
    srv = ServerProcess(tmp_path / "data", tmp_path / "fleet.yaml").start()
    try:
        op = client(srv.url, srv.operator_key)
        time.sleep(1.5)
        assert len(usage(op, short)) == 1 and len(usage(op, long)) == 2
        [record] = usage(op, short)
        assert abs(seconds_per_gpu(record) - lifetime(report(out, short, 1))) < 1
        for record in usage(op, long):
            assert abs(seconds_per_gpu(record) - lifetime(report(out, long, 1, 0))) < 1
    finally:
        srv.stop()


BROKEN_CLUSTER = """\
      - name: broken
        engine: slurm
        engine_options: {bin_dir: /nonexistent/slurm/bin}
        nodes:
          - {name: b1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: hgx-h100}
"""


def test_misconfigured_clusters_are_reported_and_the_rest_of_the_fleet_works(
    slurm: SlurmCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(slurm, tmp_path, extra_clusters=BROKEN_CLUSTER, n2_gpu_type="a100")
    try:
        banner = srv.log_path.read_text()
        assert "cluster broken" in banner and "sbatch" in banner
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=1)
        done = until_state(op, job_id, "succeeded", "failed")
        assert done["state"] == "succeeded"
        assert done["allocations"][0]["node"] == "n1"

        env = {**os.environ, "NEOCLOUD_URL": srv.url, "NEOCLOUD_API_KEY": srv.operator_key}
        cli = [str(Path(sys.executable).with_name("neocloud")), "fleet", "check"]
        checked = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
        assert checked.returncode == 1
        assert "broken" in checked.stdout and "misconfigured" in checked.stdout
        assert "bin_dir" in checked.stdout
        assert "n2" in checked.stdout and "mismatch" in checked.stdout
        assert "declares 8 × a100 but slurm has 8 × h100" in checked.stdout
    finally:
        srv.stop()


def test_a_fleet_is_discovered_from_slurm(slurm: SlurmCluster) -> None:
    cli = [
        str(Path(sys.executable).with_name("neocloud")),
        "fleet",
        "discover",
        "--slurm",
        "--conf",
        str(slurm.conf),
        "--partition",
        "gpu",
        "--cluster",
        "hpc",
    ]
    found = subprocess.run(cli, capture_output=True, text=True, timeout=60)

    assert found.returncode == 0, found.stderr
    parsed = parse_fleet(found.stdout, OPTION_RULES)
    assert parsed.problems == []
    assert parsed.fleet is not None
    assert [(n.name, n.gpu_type, n.gpus) for n in parsed.fleet.nodes] == [
        ("n1", "h100", 8),
        ("n2", "h100", 8),
    ]
    assert parsed.fleet.clusters[0].engine == "slurm"
    assert parsed.fleet.clusters[0].engine_options["conf"] == str(slurm.conf)
