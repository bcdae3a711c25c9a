"""The Slurm engine when things break: a node dies, the controller is unreachable, the engine is
set up wrongly. Tests that break the cluster get a cluster of their own."""

from __future__ import annotations

import shutil
import stat
import time
from pathlib import Path

import pytest

from neocloud.engines.base import (
    EngineConfigError,
    EngineState,
    EngineUnavailable,
    NodeHealth,
)
from neocloud.engines.slurm.engine import SlurmEngine
from neocloud.engines.slurm.options import SlurmOptions
from neocloud.scheduler.model import GpuSlot
from tests.conftest import skip_or_fail
from tests.engines import slurm_harness
from tests.engines.conftest import NODES, slurm_engine_on
from tests.engines.slurm_harness import JOB_PYTHON

# Slurm jobs run as their org's unprivileged user: these replace the engine tests' own fixtures
# with a state dir and a work dir the jobs can reach, and specs without a working_dir.
job_space = slurm_harness.job_space
state_dir = slurm_harness.state_dir
workdir = slurm_harness.workdir
spec_defaults = slurm_harness.spec_defaults

STARTED = (
    "import os, time\n"
    "open(os.path.join(os.environ['OUT'], 'started'), 'w').write(str(time.time()))\n"
    "time.sleep(600)\n"
)


def test_a_job_on_a_node_that_dies_ends_as_node_failed_at_its_last_sign_of_life(
    own_slurm_cluster, spec, until_file, until_ended, wait_for, workdir: Path, state_dir: Path
) -> None:
    engine = slurm_engine_on(own_slurm_cluster, state_dir)
    handle = engine.launch(
        spec(
            [JOB_PYTHON, "-c", STARTED],
            env={"OUT": str(workdir)},
            placement=(GpuSlot("n2", (0, 1)),),
        )
    )
    until_file(workdir / "started")
    time.sleep(1.5)

    own_slurm_cluster.kill_node("n2", [handle.id.split("/")[2]])
    died = time.time()
    status = until_ended(engine, handle, timeout=60)

    assert status.state is EngineState.LOST
    assert status.reason_code == "node_failed"
    assert status.ended_at is not None and abs(status.ended_at.timestamp() - died) < 1.5
    down = {n.name: n.state for n in engine.inventory()}
    assert down == {"n1": NodeHealth.UP, "n2": NodeHealth.DOWN}

    own_slurm_cluster.start_node("n2")
    wait_for(lambda: {n.state for n in engine.inventory()} == {NodeHealth.UP}, "n2 to return")


def test_a_drained_node_is_reported_as_drain(own_slurm_cluster, state_dir: Path) -> None:
    engine = slurm_engine_on(own_slurm_cluster, state_dir)

    own_slurm_cluster.cli("scontrol", "update", "nodename=n1", "state=drain", "reason=disk")

    n1 = next(n for n in engine.inventory() if n.name == "n1")
    assert (n1.state, n1.reason) == (NodeHealth.DRAIN, "disk")


def test_an_unreachable_controller_is_unavailable_not_a_lost_job(
    own_slurm_cluster, spec, until_file, until_ended, workdir: Path, state_dir: Path
) -> None:
    engine = slurm_engine_on(own_slurm_cluster, state_dir, command_timeout_seconds="8")
    handle = engine.launch(
        spec(
            ["bash", "-c", "touch $OUT/started; sleep 6"],
            env={"OUT": str(workdir)},
        )
    )
    until_file(workdir / "started")

    own_slurm_cluster.stop_controller()
    with pytest.raises(EngineUnavailable, match="squeue"):
        engine.poll(handle)
    with pytest.raises(EngineUnavailable):
        engine.inventory()
    own_slurm_cluster.start_controller()

    status = until_ended(engine, handle, timeout=60)
    assert (status.state, status.exit_code) == (EngineState.EXITED, 0)


def test_missing_slurm_commands_are_a_configuration_error_with_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    options = SlurmOptions.from_engine_options({"bin_dir": str(empty)}, tmp_path / "state")

    with pytest.raises(EngineConfigError) as caught:
        SlurmEngine("east", options, NODES)

    message = str(caught.value)
    assert "sbatch" in message and str(empty) in message
    assert "apt-get install slurm-client" in message and "bin_dir" in message


def test_a_wrong_slurm_conf_path_is_a_configuration_error(tmp_path: Path) -> None:
    options = SlurmOptions.from_engine_options(
        {"conf": str(tmp_path / "nope.conf")}, tmp_path / "state"
    )
    if shutil.which("sbatch") is None:
        skip_or_fail("Slurm's commands are not installed")

    with pytest.raises(EngineConfigError, match=r"engine_options\.conf"):
        SlurmEngine("east", options, NODES)


def test_a_controller_that_never_answers_times_out_as_unavailable(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sbatch", "squeue", "scancel", "sinfo", "sacct"):
        program = bin_dir / name
        program.write_text("#!/bin/sh\nsleep 30\n")
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
    options = SlurmOptions.from_engine_options(
        {"bin_dir": str(bin_dir), "command_timeout_seconds": "0.5"}, tmp_path / "state"
    )

    with pytest.raises(EngineUnavailable, match=r"did not answer within 0\.5 s"):
        SlurmEngine("east", options, NODES).inventory()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accounting": "maybe"}, r"engine_options\.accounting"),
        ({"command_timeout_seconds": "soon"}, r"engine_options\.command_timeout_seconds"),
        ({"bin_dir": "usr/bin"}, r"engine_options\.bin_dir: must be an absolute path"),
    ],
)
def test_bad_engine_options_are_named(options: dict[str, str], message: str, tmp_path) -> None:
    with pytest.raises(EngineConfigError, match=message):
        SlurmOptions.from_engine_options(options, tmp_path)
