"""Finished jobs read from Slurm's accounting (sacct) on a real cluster with slurmdbd + MariaDB.

Once a finished job has left squeue (after MinJobAge), the engine takes its exit code, start and
end from `sacct`. To prove that path is the one taken, the tests remove the attempt's own fact
files (start, heartbeat, exit) before polling: the figures must still be right.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from neocloud.engines.base import EngineState
from neocloud.scheduler.model import GpuSlot
from tests.engines import slurm_harness
from tests.engines.conftest import slurm_engine_on
from tests.engines.slurm_accounting_harness import SlurmAccountingCluster
from tests.engines.slurm_harness import JOB_PYTHON

# Slurm jobs run as their org's unprivileged user: these replace the engine tests' own fixtures
# with a state dir and a work dir the jobs can reach, and specs without a working_dir.
job_space = slurm_harness.job_space
state_dir = slurm_harness.state_dir
workdir = slurm_harness.workdir
spec_defaults = slurm_harness.spec_defaults

# Writes its own start and end, then exits with argv[2] after argv[1] seconds.
TIMED = r"""
import json, os, sys, time
start = time.time()
time.sleep(float(sys.argv[1]))
with open(os.path.join(os.environ["OUT"], "own.json"), "w") as f:
    json.dump({"start": start, "end": time.time()}, f)
sys.exit(int(sys.argv[2]))
"""


def _left_queue(cluster: SlurmAccountingCluster, slurm_id: str) -> bool:
    return slurm_id not in cluster.cli("squeue", "-h", "--states=all", "-o", "%i").split()


def _forget_own_facts(attempt_dir: Path) -> list[str]:
    """Remove every file the job wrote about itself; returns their names."""
    removed = []
    for path in (attempt_dir / "run").iterdir():
        if path.name != "output.log":
            path.unlink()
            removed.append(path.name)
    return removed


def _sacct(cluster: SlurmAccountingCluster, slurm_id: str) -> dict[str, str]:
    fields = ("State", "ExitCode", "Start", "End")
    out = cluster.cli("sacct", "-n", "-X", "-P", "-j", slurm_id, "-o", ",".join(fields))
    return dict(zip(fields, out.splitlines()[0].split("|"), strict=True))


def _epoch(text: str) -> float:
    # sacct prints the controller's local time.
    return datetime.fromisoformat(text).astimezone().timestamp()


def test_a_finished_job_that_left_the_queue_is_read_from_sacct(
    slurm_accounting_cluster: SlurmAccountingCluster,
    state_dir: Path,
    workdir: Path,
    spec,
    unique_job_id: str,
    wait_for,
    until_ended,
) -> None:
    engine = slurm_engine_on(slurm_accounting_cluster, state_dir, accounting="auto")
    handle = engine.launch(
        spec(
            [JOB_PYTHON, "-c", TIMED, "2", "3"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            placement=(GpuSlot("n2", (0, 1)),),
        )
    )
    slurm_id = handle.id.rsplit("/", 1)[1]
    wait_for(lambda: (workdir / "own.json").exists(), "the job to finish")
    wait_for(lambda: _left_queue(slurm_accounting_cluster, slurm_id), "Slurm to purge the job")
    assert _forget_own_facts(state_dir / unique_job_id / "0")

    status = until_ended(engine, handle)

    recorded = _sacct(slurm_accounting_cluster, slurm_id)
    assert (recorded["State"], recorded["ExitCode"]) == ("FAILED", "3:0")
    assert status.state is EngineState.EXITED
    assert (status.exit_code, status.signal) == (3, None)
    assert status.started_at is not None and status.ended_at is not None
    assert status.started_at.timestamp() == _epoch(recorded["Start"])
    assert status.ended_at.timestamp() == _epoch(recorded["End"])
    # Accounting keeps whole seconds: the job's own clock agrees to within one.
    own = json.loads((workdir / "own.json").read_text())
    assert abs(status.started_at.timestamp() - own["start"]) < 1.5
    assert abs(status.ended_at.timestamp() - own["end"]) < 1.5


def test_a_job_that_succeeded_is_read_from_sacct_with_exit_code_zero(
    slurm_accounting_cluster: SlurmAccountingCluster,
    state_dir: Path,
    workdir: Path,
    spec,
    unique_job_id: str,
    wait_for,
    until_ended,
) -> None:
    engine = slurm_engine_on(slurm_accounting_cluster, state_dir, accounting="on")
    handle = engine.launch(
        spec(
            [JOB_PYTHON, "-c", TIMED, "1", "0"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
        )
    )
    slurm_id = handle.id.rsplit("/", 1)[1]
    wait_for(lambda: _left_queue(slurm_accounting_cluster, slurm_id), "Slurm to purge the job")
    _forget_own_facts(state_dir / unique_job_id / "0")

    status = until_ended(engine, handle)

    assert (status.state, status.exit_code, status.signal) == (EngineState.EXITED, 0, None)
    assert status.ended_at is not None
    assert status.ended_at.timestamp() == _epoch(_sacct(slurm_accounting_cluster, slurm_id)["End"])
