"""The Slurm engine on a real Slurm cluster: jobs run where neocloud placed them.

Two nodes × 8 fake H100 (tests/engines/slurm_harness.py). The job itself writes down what it
saw (CUDA_VISIBLE_DEVICES, its node, its rank, its start and end instants), and the tests compare
that with what the engine reports.
"""

from __future__ import annotations

import json
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
from neocloud.engines.slurm.engine import job_name
from neocloud.scheduler.model import GpuSlot
from tests.engines import slurm_harness
from tests.engines.conftest import slurm_engine_on
from tests.engines.slurm_harness import JOB_PYTHON

# Slurm jobs run as their org's unprivileged user: these replace the engine tests' own fixtures
# with a state dir and a work dir the jobs can reach, and specs without a working_dir.
job_space = slurm_harness.job_space
state_dir = slurm_harness.state_dir
workdir = slurm_harness.workdir
spec_defaults = slurm_harness.spec_defaults

# Records what a rank saw, then sleeps argv[1] seconds and exits with argv[2].
REPORT = r"""
import json, os, sys, time
start = time.time()
rank = os.environ.get("NEOCLOUD_NODE_RANK", "0")
out = os.path.join(os.environ["OUT"], f"rank-{rank}.json")
seen = {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "NEOCLOUD_JOB_ID",
    "NEOCLOUD_ATTEMPT", "NEOCLOUD_NODE_NAME", "NEOCLOUD_NODE_RANK", "NEOCLOUD_NUM_NODES",
    "NEOCLOUD_GPUS", "SECRET_OF_THE_CONTROL_PLANE", "MINE")}
seen["cwd"] = os.getcwd()
seen["uid"] = os.getuid()
seen["start"] = start
time.sleep(float(sys.argv[1]))
seen["end"] = time.time()
with open(out, "w") as f: json.dump(seen, f)
print(f"rank {rank} done", flush=True)
sys.exit(int(sys.argv[2]))
"""


def _report(workdir: Path, rank: int = 0) -> dict[str, object]:
    return dict(json.loads((workdir / f"rank-{rank}.json").read_text()))


def test_slurm_engine_implements_the_protocol(slurm_engine) -> None:
    assert isinstance(slurm_engine, Engine)
    assert slurm_engine.name == "slurm.test"
    assert {ADOPT_AFTER_RESTART, LOGS, GANGS} <= slurm_engine.capabilities


def test_inventory_lists_nodes_gpu_types_counts_and_health_from_sinfo(slurm_engine) -> None:
    nodes = slurm_engine.inventory()

    assert [(n.name, n.gpu_type, n.gpus, n.state) for n in nodes] == [
        ("n1", "h100", 8, NodeHealth.UP),
        ("n2", "h100", 8, NodeHealth.UP),
    ]


def test_a_job_runs_on_the_chosen_node_and_sees_its_gpus(
    slurm_engine,
    spec,
    until_ended,
    wait_for,
    workdir: Path,
    unique_job_id: str,
    monkeypatch,
    state_dir: Path,
) -> None:
    monkeypatch.setenv("SECRET_OF_THE_CONTROL_PLANE", "hunter2")
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", REPORT, "1", "0"],
            job_id=unique_job_id,
            env={"OUT": str(workdir), "MINE": "yes"},
            placement=(GpuSlot("n2", (0, 1)),),
        )
    )
    running = []
    wait_for(
        lambda: (
            running.append(slurm_engine.poll(handle))
            or running[-1].state.terminal
            or running[-1].state is EngineState.RUNNING
        ),
        "the job to start",
    )

    status = until_ended(slurm_engine, handle)

    seen = _report(workdir)
    assert status.state is EngineState.EXITED and status.exit_code == 0
    assert status.reason is None
    assert seen["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert seen["NEOCLOUD_NODE_NAME"] == "n2"
    assert seen["NEOCLOUD_JOB_ID"] == unique_job_id
    assert (seen["NEOCLOUD_GPUS"], seen["NEOCLOUD_NUM_NODES"]) == ("2", "1")
    assert seen["MINE"] == "yes"
    assert seen["SECRET_OF_THE_CONTROL_PLANE"] is None
    # Its own directory, not the control plane's; as its org's user, never root.
    assert seen["cwd"] == str(state_dir / unique_job_id / "0" / "run")
    assert seen["uid"] not in (0, None)
    if running[-1].state is EngineState.RUNNING:
        assert running[-1].placement == (GpuSlot("n2", (0, 1)),)
    assert status.started_at is not None and status.ended_at is not None
    lifetime = float(seen["end"]) - float(seen["start"])  # type: ignore[arg-type]
    engine_lifetime = (status.ended_at - status.started_at).total_seconds()
    assert abs(engine_lifetime - lifetime) < 1


def test_a_gang_runs_one_rank_per_node_with_the_gpus_of_each(
    slurm_engine, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", REPORT, "0", "0"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            placement=(GpuSlot("n1", (0, 1, 2, 3)), GpuSlot("n2", (0, 1, 2, 3))),
        )
    )

    status = until_ended(slurm_engine, handle)

    assert status.state is EngineState.EXITED and status.exit_code == 0
    ranks = {r: _report(workdir, r) for r in (0, 1)}
    assert {r: (s["NEOCLOUD_NODE_NAME"], s["CUDA_VISIBLE_DEVICES"]) for r, s in ranks.items()} == {
        0: ("n1", "0,1,2,3"),
        1: ("n2", "0,1,2,3"),
    }
    assert {s["NEOCLOUD_NUM_NODES"] for s in ranks.values()} == {"2"}
    output = slurm_engine.logs(handle, 0, 10_000).data.decode()
    assert "0: rank 0 done" in output and "1: rank 1 done" in output


@pytest.mark.parametrize("code", [3, 42])
def test_a_failing_job_ends_with_its_exit_code(
    slurm_engine, spec, until_ended, workdir: Path, unique_job_id: str, code: int
) -> None:
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", REPORT, "0", str(code)],
            job_id=f"{unique_job_id}-{code}",
            env={"OUT": str(workdir)},
        )
    )

    status = until_ended(slurm_engine, handle)

    assert (status.state, status.exit_code, status.reason) == (EngineState.EXITED, code, None)


def test_a_failing_rank_ends_the_whole_gang(
    slurm_engine, spec, until_ended, unique_job_id: str
) -> None:
    script = (
        "import os, sys, time\n"
        "if os.environ['NEOCLOUD_NODE_RANK'] == '1': sys.exit(7)\n"
        "time.sleep(300)"
    )
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", script],
            job_id=unique_job_id,
            placement=(GpuSlot("n1", (0,)), GpuSlot("n2", (0,))),
        )
    )

    status = until_ended(slurm_engine, handle)

    assert status.state is EngineState.EXITED and status.exit_code != 0


def test_launching_the_same_attempt_twice_submits_it_once(
    slurm_engine, slurm_cluster, spec, until_ended, unique_job_id: str, state_dir: Path
) -> None:
    attempt = spec(["sleep", "1"], job_id=unique_job_id)

    first = slurm_engine.launch(attempt)
    again = slurm_engine.launch(attempt)
    # The control plane died between sbatch and recording the job id: found by its name.
    (state_dir / unique_job_id / "0" / "submitted.json").unlink()
    after_restart = slurm_engine_on(slurm_cluster, state_dir).launch(attempt)

    assert first == again == after_restart
    named = slurm_cluster.cli("squeue", "-h", "--states=all", "-o", "%i %j").split("\n")
    assert len([line for line in named if line.endswith(job_name(unique_job_id, 0))]) == 1
    assert until_ended(slurm_engine, first).exit_code == 0


def test_relaunching_an_attempt_with_another_spec_is_refused(
    slurm_engine, spec, unique_job_id: str
) -> None:
    slurm_engine.launch(spec(["sleep", "1"], job_id=unique_job_id))

    with pytest.raises(EngineError, match="another spec"):
        slurm_engine.launch(spec(["sleep", "2"], job_id=unique_job_id))


@pytest.mark.parametrize(
    ("placement", "message"),
    [
        ((GpuSlot("n9", (0,)),), "not in cluster"),
        ((GpuSlot("n1", (8,)),), r"node n1 has GPUs 0\.\.7, got \[8\]"),
    ],
)
def test_a_placement_the_cluster_cannot_honour_is_refused(
    slurm_engine, spec, placement: tuple[GpuSlot, ...], message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        slurm_engine.launch(spec(["true"], placement=placement))


def test_logs_are_read_from_the_output_file_and_complete_once_ended(
    slurm_engine, spec, until_ended, unique_job_id: str
) -> None:
    handle = slurm_engine.launch(
        spec(["bash", "-c", "for i in 1 2 3; do echo line $i; done"], job_id=unique_job_id)
    )
    until_ended(slurm_engine, handle)

    first = slurm_engine.logs(handle, 0, 7)
    rest = slurm_engine.logs(handle, first.next_offset, 1000)

    assert first.data == b"line 1\n" and not first.complete
    assert rest.data == b"line 2\nline 3\n" and rest.complete
