"""Stopping work on Slurm: the notice (SIGTERM) reaches the job, SIGKILL follows after the grace."""

from __future__ import annotations

from pathlib import Path

from neocloud.engines.base import EngineState
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

# Writes `started`, then waits; on the first SIGTERM writes `term` and exits 0, unless it lingers.
NOTICED = r"""
import os, signal, sys, time
out = os.environ["OUT"]
rank = os.environ.get("NEOCLOUD_NODE_RANK", "0")
linger = len(sys.argv) > 1
def on_term(*_):
    path = os.path.join(out, f"term-{rank}")
    if not os.path.exists(path):  # the first notice only
        open(path, "w").write(str(time.time()))
    if not linger:
        sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
open(os.path.join(out, f"started-{rank}"), "w").close()
while True:
    time.sleep(0.1)
"""


def _wait_started(until_file, workdir: Path, ranks: int = 1) -> None:  # type: ignore[no-untyped-def]
    for rank in range(ranks):
        until_file(workdir / f"started-{rank}")


def test_cancel_sends_sigterm_to_the_job_which_can_exit_cleanly(
    slurm_engine, spec, until_ended, until_file, workdir: Path, unique_job_id: str
) -> None:
    handle = slurm_engine.launch(
        spec([JOB_PYTHON, "-c", NOTICED], job_id=unique_job_id, env={"OUT": str(workdir)})
    )
    _wait_started(until_file, workdir)

    slurm_engine.cancel(handle, grace_seconds=30)
    status = until_ended(slurm_engine, handle)

    assert (workdir / "term-0").exists()
    assert status.state is EngineState.EXITED
    assert status.reason_code == "cancelled"
    assert status.exit_code == 0


def test_every_rank_of_a_gang_gets_the_notice(
    slurm_engine, spec, until_ended, until_file, workdir: Path, unique_job_id: str
) -> None:
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", NOTICED],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            placement=(GpuSlot("n1", (0, 1)), GpuSlot("n2", (0, 1))),
        )
    )
    _wait_started(until_file, workdir, ranks=2)

    slurm_engine.cancel(handle, grace_seconds=30)
    status = until_ended(slurm_engine, handle)

    assert (workdir / "term-0").exists() and (workdir / "term-1").exists()
    assert status.reason_code == "cancelled"


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(
    slurm_engine, spec, until_ended, until_file, workdir: Path, unique_job_id: str
) -> None:
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", NOTICED, "linger"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
        )
    )
    _wait_started(until_file, workdir)

    slurm_engine.cancel(handle, grace_seconds=2)
    status = until_ended(slurm_engine, handle)

    noticed = float((workdir / "term-0").read_text())
    assert status.reason_code == "cancelled"
    assert status.ended_at is not None
    # Killed no sooner than the grace after the notice.
    assert status.ended_at.timestamp() >= noticed + 2


def test_the_kill_after_the_grace_happens_without_the_control_plane(
    slurm_cluster, spec, until_file, until_ended, workdir: Path, unique_job_id: str, state_dir
) -> None:
    engine = slurm_engine_on(slurm_cluster, state_dir)
    handle = engine.launch(
        spec(
            [JOB_PYTHON, "-c", NOTICED, "linger"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
        )
    )
    _wait_started(until_file, workdir)
    engine.cancel(handle, grace_seconds=1)
    del engine

    # Nobody polls: the batch script enforces the deadline. Wait for the job to leave Slurm.
    def gone() -> bool:
        out = slurm_cluster.cli("squeue", "-h", "-t", "R,CG", "-n", f"nc-{unique_job_id}-0")
        return not out.strip()

    from tests.engines.conftest import _wait_for

    _wait_for(gone, "the job to be killed")
    status = until_ended(slurm_engine_on(slurm_cluster, state_dir), handle)
    assert status.reason_code == "cancelled"


def test_cancel_of_a_job_still_pending_removes_it_from_the_queue(
    slurm_engine, spec, until_ended, unique_job_id: str
) -> None:
    # Every GPU of n1 is held by another job first, so this one waits in Slurm's queue.
    every_gpu = (GpuSlot("n1", tuple(range(8))),)
    blocker = slurm_engine.launch(
        spec(["sleep", "60"], job_id=f"{unique_job_id}-a", placement=every_gpu)
    )
    waiting = slurm_engine.launch(
        spec(["sleep", "60"], job_id=f"{unique_job_id}-b", placement=(GpuSlot("n1", (0,)),))
    )

    slurm_engine.cancel(waiting, grace_seconds=30)
    status = until_ended(slurm_engine, waiting)
    slurm_engine.cancel(blocker, grace_seconds=0)
    until_ended(slurm_engine, blocker)

    assert status.reason_code == "cancelled"
    assert status.started_at is None


def test_max_runtime_overrun_is_stopped_and_marked(
    slurm_engine, spec, until_ended, until_file, workdir: Path, unique_job_id: str
) -> None:
    handle = slurm_engine.launch(
        spec(
            [JOB_PYTHON, "-c", NOTICED],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            # Long enough for srun and Python to start and install the handler on a busy
            # machine: a SIGTERM before that would kill the job without its marker.
            max_runtime_seconds=6,
        )
    )
    _wait_started(until_file, workdir)

    status = until_ended(slurm_engine, handle)

    assert status.reason_code == "max_runtime_exceeded"
    assert (workdir / "term-0").exists()
