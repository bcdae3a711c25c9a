"""Jobs through the real control plane on a real Slurm cluster (two nodes × 8 fake H100).

neocloud places each job; Slurm runs it there. Every test compares what the job itself saw (its
GPUs, its node, its own start and end) with what neocloud recorded (allocations, states, usage).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import client, wait_for
from tests.e2e.server import ServerProcess
from tests.e2e.slurm_support import (
    fleet_text,
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


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    """One Slurm cluster for this module's tests."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def server(
    slurm: SlurmCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """The control plane with the Slurm cluster as its fleet."""
    base = tmp_path_factory.mktemp("slurm-e2e")
    fleet = base / "fleet.yaml"
    fleet.write_text(fleet_text(slurm, base / "attempts"))
    srv = ServerProcess(base / "data", fleet).start()
    yield srv
    srv.stop()


@pytest.fixture
def out(slurm: SlurmCluster) -> Path:
    """Where jobs write what they saw (they run as unprivileged users)."""
    return job_out(slurm)


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
    for record in records:
        rank = next(r for r in ranks if r["node"] == placed_node(done, record))
        assert abs(seconds_per_gpu(record) - lifetime(rank)) < 1


def placed_node(job: dict[str, object], record: dict[str, object]) -> str:
    """The node of the allocation a usage record counts."""
    allocations = job["allocations"]
    assert isinstance(allocations, list)
    ids = {a["id"].split("_", 1)[1]: a["node"] for a in allocations}
    return str(ids[str(record["id"]).split("_", 1)[1]])


def test_a_failing_job_is_failed_with_its_exit_code(server: ServerProcess, out: Path) -> None:
    op = client(server.url, server.operator_key)
    job_id = submit(op, out, seconds=1, code=3)

    done = until_state(op, job_id, "succeeded", "failed")

    assert (done["state"], done["exit_code"]) == ("failed", 3)
    assert "exited with code 3" in done["message"]
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
    # Requeued: the second attempt runs once the internal work is done; stop it.
    until_state(acme, spot, "running")
    assert acme.post(f"/v1/jobs/{spot}/cancel").status_code == 200
    until_state(acme, spot, "cancelled")
    by_node = {r["node"]: lifetime(r) for r in first}
    first_attempt = [r for r in usage(acme, spot)][:2]
    for record in first_attempt:
        assert record["gpus"] == 8
        assert min(abs(seconds_per_gpu(record) - life) for life in by_node.values()) < 1
