"""Jobs through the real control plane on a real Ray cluster (two nodes × 8 fake GPUs).

neocloud places each job; Ray runs it there. Every test compares what the job itself saw (its
GPUs, its node, its own start and end) with what neocloud recorded (allocations, states, usage).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import client, wait_for
from tests.e2e.ray_support import fleet_text, start_cluster
from tests.e2e.server import ServerProcess
from tests.e2e.slurm_support import (
    job,
    lifetime,
    report,
    seconds_per_gpu,
    submit,
    until_state,
    usage,
)
from tests.engines.ray_harness import RayCluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ray() -> Iterator[RayCluster]:
    """One Ray cluster for this module's tests."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


def _server(ray: RayCluster, base: Path, **fleet: str) -> ServerProcess:
    path = base / "fleet.yaml"
    path.write_text(fleet_text(ray, **fleet))
    return ServerProcess(base / "data", path).start()


@pytest.fixture(scope="module")
def server(ray: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The control plane with the Ray cluster as its fleet."""
    srv = _server(ray, tmp_path_factory.mktemp("ray-e2e"))
    yield srv
    srv.stop()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where jobs write what they saw."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def _check(c: httpx.Client) -> dict[str, object]:
    checks = c.get("/v1/fleet/check").json()["clusters"]
    return dict(next(x for x in checks if x["cluster"] == "rayc"))


def test_a_job_runs_on_the_gpus_neocloud_recorded_and_is_billed_its_lifetime(
    server: ServerProcess, out: Path
) -> None:
    op = client(server.url, server.operator_key)
    job_id = submit(op, out, seconds=3, gpus=2)

    done = until_state(op, job_id, "succeeded", "failed")

    seen = report(out, job_id, 1)
    assert (done["state"], done["exit_code"], done["attempts"]) == ("succeeded", 0, 1)
    [alloc] = done["allocations"]
    assert (alloc["node"], ",".join(map(str, alloc["gpu_indices"]))) == (seen["node"], seen["gpus"])
    [record] = usage(op, job_id)
    assert record["gpus"] == 2
    assert abs(seconds_per_gpu(record) - lifetime(seen)) < 1


def test_a_two_node_gang_runs_one_rank_per_node(server: ServerProcess, out: Path) -> None:
    op = client(server.url, server.operator_key)
    job_id = submit(op, out, seconds=2, gpus=4, nodes=2)

    done = until_state(op, job_id, "succeeded", "failed")

    assert done["state"] == "succeeded"
    ranks = [report(out, job_id, 1, rank) for rank in (0, 1)]
    placed = {a["node"]: ",".join(map(str, a["gpu_indices"])) for a in done["allocations"]}
    assert placed == {r["node"]: r["gpus"] for r in ranks}
    assert set(placed) == {"n1", "n2"}
    records = usage(op, job_id)
    assert len(records) == 2
    # Usage counts the gang from its first rank's start to its last rank's end.
    span = max(float(r["end"]) for r in ranks) - min(float(r["start"]) for r in ranks)
    for record in records:
        assert abs(seconds_per_gpu(record) - span) < 1


def test_a_failing_job_is_failed_with_its_exit_code(server: ServerProcess, out: Path) -> None:
    op = client(server.url, server.operator_key)
    job_id = submit(op, out, seconds=1, code=3)

    done = until_state(op, job_id, "succeeded", "failed")

    assert (done["state"], done["exit_code"]) == ("failed", 3)
    [record] = usage(op, job_id)
    assert abs(seconds_per_gpu(record) - lifetime(report(out, job_id, 1))) < 1


def test_cancel_gives_the_job_its_sigterm_and_bills_until_it_ended(
    server: ServerProcess, out: Path
) -> None:
    op = client(server.url, server.operator_key)
    job_id = submit(op, out, seconds=600)
    until_state(op, job_id, "running")
    wait_for(lambda: (out / f"{job_id}-1-0.json").exists(), what="the job to start")

    assert op.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    done = until_state(op, job_id, "cancelled")

    seen = report(out, job_id, 1)
    assert "term" in seen, "the job must receive SIGTERM before it is stopped"
    [record] = usage(op, job_id)
    assert abs(seconds_per_gpu(record) - lifetime(seen)) < 1
    assert done["reason"] == "cancelled"


def test_spot_work_is_preempted_with_a_notice_and_requeued(
    server: ServerProcess, out: Path
) -> None:
    op = client(server.url, server.operator_key)
    assert op.post("/v1/orgs", json={"name": "acme", "kind": "external"}).status_code == 201
    key = op.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "owner"}).json()["secret"]
    acme = client(server.url, key)
    spot = submit(acme, out, seconds=600, gpus=8, nodes=2, tier="spot", org=None)
    until_state(acme, spot, "running")
    wait_for(lambda: (out / f"{spot}-1-1.json").exists(), what="both spot ranks to start")

    internal = submit(op, out, seconds=2, gpus=8, priority_class="production")
    until_state(op, internal, "succeeded", timeout=120)

    first = [report(out, spot, 1, rank) for rank in (0, 1)]
    assert all("term" in r for r in first), "every rank must receive the preemption notice"
    events = acme.get(f"/v1/jobs/{spot}/events").json()
    assert any(e["reason"] == "preempted" for e in events)
    until_state(acme, spot, "running")
    assert acme.post(f"/v1/jobs/{spot}/cancel").status_code == 200
    until_state(acme, spot, "cancelled")
    span = max(float(r["end"]) for r in first) - min(float(r["start"]) for r in first)
    for record in usage(acme, spot)[:2]:
        assert record["gpus"] == 8
        assert abs(seconds_per_gpu(record) - span) < 1


def test_a_node_that_dies_requeues_its_job_with_usage_ending_at_the_failure(
    ray: RayCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(ray, tmp_path)
    try:
        op = client(srv.url, srv.operator_key)
        # One job per node, so one of them runs on n2, the worker node that will die.
        jobs = [submit(op, out, seconds=600, gpus=8) for _ in range(2)]
        running = {j: until_state(op, j, "running") for j in jobs}
        for j in jobs:
            wait_for(lambda j=j: (out / f"{j}-1-0.json").exists(), what=f"{j} to start")
        victim = next(j for j, v in running.items() if v["allocations"][0]["node"] == "n2")
        other = next(j for j in jobs if j != victim)
        time.sleep(1.5)

        ray.kill_node("n2")
        died = time.time()
        try:
            # Requeued (its policy); n1 is busy and n2 down, so it waits.
            wait_for(
                lambda: (j := job(op, victim))["state"] == "pending" and j["attempts"] >= 1 and j,
                timeout=90,
                what="the victim requeued",
            )
            events = [e["reason"] for e in op.get(f"/v1/jobs/{victim}/events").json()]
            assert "node_failed" in events and "requeued" in events
            down = {n["name"]: n["state"] for n in _check(op)["nodes"]}  # type: ignore[union-attr]
            assert down["n2"] == "down"
            [record] = usage(op, victim)
            started = report(out, victim, 1)["start"]
            assert abs(seconds_per_gpu(record) - (died - started)) < 1
            # The survivor's node is free once it is cancelled: the victim runs again there.
            assert op.post(f"/v1/jobs/{other}/cancel").status_code == 200
            again = until_state(op, victim, "running", timeout=90)
            assert again["attempts"] == 2
            assert [a["node"] for a in again["allocations"] if a["ended_at"] is None] == ["n1"]
            assert op.post(f"/v1/jobs/{victim}/cancel").status_code == 200
            until_state(op, victim, "cancelled")
        finally:
            ray.start_node("n2")
            ray.wait_ready()
    finally:
        srv.stop()


def test_sigkill_of_the_control_plane_loses_no_job_and_counts_usage_once(
    ray: RayCluster, tmp_path: Path, out: Path
) -> None:
    srv = _server(ray, tmp_path)
    try:
        op = client(srv.url, srv.operator_key)
        short = submit(op, out, seconds=4)
        long = submit(op, out, seconds=10, gpus=4, nodes=2)
        for job_id in (short, long):
            until_state(op, job_id, "running")
        srv.kill()
        wait_for(lambda: "end" in report(out, short, 1), what="the short job to end")
    finally:
        srv.stop()

    srv = ServerProcess(tmp_path / "data", tmp_path / "fleet.yaml").start()
    try:
        op = client(srv.url, srv.operator_key)
        for job_id in (short, long):
            done = until_state(op, job_id, "succeeded", "failed", timeout=120)
            assert (done["state"], done["attempts"]) == ("succeeded", 1)
        time.sleep(1.5)
        assert len(usage(op, short)) == 1 and len(usage(op, long)) == 2
        [record] = usage(op, short)
        assert abs(seconds_per_gpu(record) - lifetime(report(out, short, 1))) < 1
        ranks = [report(out, long, 1, rank) for rank in (0, 1)]
        span = max(float(r["end"]) for r in ranks) - min(float(r["start"]) for r in ranks)
        for record in usage(op, long):
            assert abs(seconds_per_gpu(record) - span) < 1
    finally:
        srv.stop()

    # Never launched twice: one Ray job per rank of each attempt.
    listed = httpx.get(f"{ray.address}/api/jobs/", timeout=10).json()
    ours = sorted(
        j["submission_id"]
        for j in listed
        if str(j["submission_id"]).endswith(tuple("01"))
        and (short in j["submission_id"] or long in j["submission_id"])
    )
    assert ours == sorted([f"nc-{short}-1-0", f"nc-{long}-1-0", f"nc-{long}-1-1"])


BROKEN_CLUSTER = """\
      - name: broken
        engine: ray
        engine_options: {{address: "{address}"}}
        nodes:
          - {{name: b1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: hgx-h100}}
"""


def test_misconfigured_clusters_are_reported_and_the_rest_of_the_fleet_works(
    ray: RayCluster, tmp_path: Path, out: Path
) -> None:
    # Not the dashboard: Ray's GCS port speaks gRPC, not Ray's REST API.
    wrong = f"http://127.0.0.1:{ray.gcs_port}"
    srv = _server(
        ray, tmp_path, extra_clusters=BROKEN_CLUSTER.format(address=wrong), n2_gpu_type="a100"
    )
    try:
        op = client(srv.url, srv.operator_key)
        job_id = submit(op, out, seconds=1)
        done = until_state(op, job_id, "succeeded", "failed")
        assert done["state"] == "succeeded"
        assert done["allocations"][0]["node"] == "n1"

        env = {**os.environ, "NEOCLOUD_URL": srv.url, "NEOCLOUD_API_KEY": srv.operator_key}
        cli = [str(Path(sys.executable).with_name("neocloud")), "fleet", "check"]
        checked = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
        assert checked.returncode == 1
        assert "broken" in checked.stdout and "engine_options.address" in checked.stdout
        assert "declares 8 × a100 but ray has 8 × h100" in checked.stdout
        banner = srv.log_path.read_text()
        assert "cluster broken" in banner
    finally:
        srv.stop()
