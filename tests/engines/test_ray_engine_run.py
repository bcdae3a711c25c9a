"""The Ray engine on a real Ray cluster: jobs run where neocloud placed them.

Two nodes × 8 fake GPUs (tests/engines/ray_harness.py), each carrying its `neocloud_node_<name>`
resource. The job writes down what it saw (CUDA_VISIBLE_DEVICES, node, rank, start and end
instants) and the tests compare that with what the engine reports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from neocloud.engines.base import (
    ADOPT_AFTER_RESTART,
    GANGS,
    LOGS,
    Engine,
    EngineError,
    EngineState,
    NodeHealth,
)
from neocloud.engines.ray.engine import submission_id
from neocloud.scheduler.model import GpuSlot
from tests.engines.conftest import ray_engine_on

# Records what a rank saw, then sleeps argv[1] seconds and exits with argv[2].
REPORT = r"""
import json, os, sys, time
start = time.time()
rank = os.environ.get("NEOCLOUD_NODE_RANK", "0")
seen = {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "NEOCLOUD_JOB_ID",
    "NEOCLOUD_ATTEMPT", "NEOCLOUD_NODE_NAME", "NEOCLOUD_NODE_RANK", "NEOCLOUD_NUM_NODES",
    "NEOCLOUD_GPUS", "MINE")}
seen["cwd"] = os.getcwd()
seen["start"] = start
time.sleep(float(sys.argv[1]))
seen["end"] = time.time()
with open(os.path.join(os.environ["OUT"], f"rank-{rank}.json"), "w") as f: json.dump(seen, f)
print(f"rank {rank} done", flush=True)
sys.exit(int(sys.argv[2]))
"""


def _report(workdir: Path, rank: int = 0) -> dict[str, object]:
    return dict(json.loads((workdir / f"rank-{rank}.json").read_text()))


def _seconds(status) -> float:  # type: ignore[no-untyped-def]
    return float((status.ended_at - status.started_at).total_seconds())


def test_ray_engine_implements_the_protocol(ray_engine) -> None:
    assert isinstance(ray_engine, Engine)
    assert ray_engine.name == "ray.test"
    assert {ADOPT_AFTER_RESTART, LOGS, GANGS} <= ray_engine.capabilities


def test_inventory_lists_nodes_by_their_custom_resource_with_gpus_and_health(ray_engine) -> None:
    nodes = ray_engine.inventory()

    assert [(n.name, n.gpu_type, n.gpus, n.state) for n in nodes] == [
        ("n1", "h100", 8, NodeHealth.UP),
        ("n2", "h100", 8, NodeHealth.UP),
    ]


def test_a_job_runs_on_the_chosen_node_and_sees_the_chosen_gpus(
    ray_engine, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", REPORT, "2", "0"],
            job_id=unique_job_id,
            env={"OUT": str(workdir), "MINE": "yes"},
            placement=(GpuSlot("n2", (3, 5)),),
        )
    )

    status = until_ended(ray_engine, handle, timeout=90)

    seen = _report(workdir)
    assert (status.state, status.exit_code, status.reason) == (EngineState.EXITED, 0, None)
    assert seen["CUDA_VISIBLE_DEVICES"] == "3,5"
    assert (seen["NEOCLOUD_NODE_NAME"], seen["NEOCLOUD_NODE_RANK"]) == ("n2", "0")
    assert (seen["NEOCLOUD_JOB_ID"], seen["NEOCLOUD_GPUS"], seen["MINE"]) == (
        unique_job_id,
        "2",
        "yes",
    )
    assert seen["cwd"] == str(workdir)
    job = ray_engine.api.job(submission_id(unique_job_id, 0, 0))
    n2 = next(n for n in ray_engine.inventory() if n.name == "n2")
    assert job is not None and job["driver_node_id"] == n2.labels["ray_node_id"]
    assert status.started_at is not None and status.ended_at is not None
    assert status.started_at.timestamp() == pytest.approx(float(seen["start"]), abs=1)
    assert status.ended_at.timestamp() == pytest.approx(float(seen["end"]), abs=1)
    assert _seconds(status) == pytest.approx(2, abs=1)


def test_a_gang_runs_one_rank_per_node_each_with_its_gpus(
    ray_engine, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", REPORT, "1", "0"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            placement=(GpuSlot("n1", (0, 1, 2, 3)), GpuSlot("n2", (4, 5, 6, 7))),
        )
    )

    status = until_ended(ray_engine, handle, timeout=90)

    assert (status.state, status.exit_code) == (EngineState.EXITED, 0)
    ranks = [_report(workdir, 0), _report(workdir, 1)]
    assert [(r["NEOCLOUD_NODE_NAME"], r["CUDA_VISIBLE_DEVICES"]) for r in ranks] == [
        ("n1", "0,1,2,3"),
        ("n2", "4,5,6,7"),
    ]
    assert {r["NEOCLOUD_NUM_NODES"] for r in ranks} == {"2"}
    first = min(float(r["start"]) for r in ranks)
    last = max(float(r["end"]) for r in ranks)
    assert status.started_at is not None and status.ended_at is not None
    assert status.started_at.timestamp() == pytest.approx(first, abs=1)
    assert status.ended_at.timestamp() == pytest.approx(last, abs=1)


def test_a_failing_job_reports_its_exit_code_and_its_output(
    ray_engine, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", REPORT, "0", "3"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
        )
    )

    status = until_ended(ray_engine, handle, timeout=90)
    chunk = ray_engine.logs(handle, 0, 1 << 20)

    assert (status.state, status.exit_code, status.signal) == (EngineState.EXITED, 3, None)
    assert chunk.data == b"rank 0 done\n"
    assert chunk.complete
    assert ray_engine.logs(handle, 5, 3).data == b"0 d"


def test_one_failing_rank_stops_the_whole_gang(
    ray_engine, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    # Rank 0 fails at once; rank 1 would run for ten minutes.
    command = (
        "import os, sys, time\n"
        "if os.environ['NEOCLOUD_NODE_RANK'] == '0': sys.exit(4)\n"
        "time.sleep(600)\n"
    )
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", command],
            job_id=unique_job_id,
            placement=(GpuSlot("n1", (0,)), GpuSlot("n2", (0,))),
        )
    )

    status = until_ended(ray_engine, handle, timeout=90)

    assert (status.state, status.exit_code) == (EngineState.EXITED, 4)


def test_launching_the_same_attempt_again_finds_it_instead_of_starting_twice(
    ray_cluster, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    command = [sys.executable, "-c", "import os; open(os.environ['OUT'] + '/runs', 'a').write('x')"]
    attempt = spec(command, job_id=unique_job_id, env={"OUT": str(workdir)})
    first = ray_engine_on(ray_cluster)
    handle = first.launch(attempt)
    first.close()

    # A restarted control plane launches the attempt it had not recorded as launched.
    again = ray_engine_on(ray_cluster)
    assert again.launch(attempt) == handle
    status = until_ended(again, handle, timeout=90)

    assert (status.state, status.exit_code) == (EngineState.EXITED, 0)
    assert (workdir / "runs").read_text() == "x"
    with pytest.raises(EngineError, match="another spec"):
        again.launch(spec([*command, "changed"], job_id=unique_job_id, env={"OUT": str(workdir)}))


def test_a_placement_on_a_node_outside_the_cluster_is_refused(ray_engine, spec) -> None:
    with pytest.raises(EngineError, match="not in cluster"):
        ray_engine.launch(spec(["true"], placement=(GpuSlot("n9", (0,)),)))
