"""Fixtures for engine tests: a local engine over a temporary state dir, spec builders, waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from neocloud.engines.base import Engine, EngineHandle, EngineNode, EngineStatus, LaunchSpec
from neocloud.engines.local import attempt as local_attempt
from neocloud.engines.local import procfs
from neocloud.engines.local.engine import LocalEngine
from neocloud.engines.ray.engine import RayEngine
from neocloud.engines.ray.options import RayOptions
from neocloud.engines.slurm.engine import SlurmEngine
from neocloud.engines.slurm.options import SlurmOptions
from neocloud.scheduler.model import GpuSlot
from tests.conftest import skip_or_fail
from tests.engines import ray_harness, slurm_accounting_harness, slurm_harness
from tests.engines.ray_harness import RayCluster
from tests.engines.slurm_accounting_harness import SlurmAccountingCluster
from tests.engines.slurm_harness import SlurmCluster

NODES = (EngineNode("n1", "h100", 8), EngineNode("n2", "h100", 8))
WAIT_SECONDS = 30.0


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """Where the engine keeps its attempt directories."""
    return tmp_path / "engine-state"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory jobs may write their observations into."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def new_engine(state_dir: Path) -> Iterator[Callable[[], LocalEngine]]:
    """Make local engines over the same state dir (as a restarted control plane would)."""
    made: list[LocalEngine] = []

    def make() -> LocalEngine:
        engine = LocalEngine(state_dir, NODES)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()
    _kill_leftover_attempts(state_dir)


@pytest.fixture
def engine(new_engine: Callable[[], LocalEngine]) -> LocalEngine:
    """A local engine with two virtual 8-GPU nodes, n1 and n2."""
    return new_engine()


@pytest.fixture
def spec_defaults(workdir: Path) -> dict[str, Any]:
    """Fields every spec of a test module gets (a module may override this fixture)."""
    return {"working_dir": str(workdir)}


@pytest.fixture
def spec(spec_defaults: dict[str, Any]) -> Callable[..., LaunchSpec]:
    """Build a LaunchSpec: one GPU on n1, run in `workdir`, generous limits unless overridden."""

    def build(command: list[str], **overrides: Any) -> LaunchSpec:
        fields: dict[str, Any] = {
            "job_id": "job-1",
            "attempt": 0,
            "command": command,
            "env": {},
            **spec_defaults,
            "placement": (GpuSlot("n1", (0,)),),
            "max_runtime_seconds": 600,
            "grace_seconds": 5,
        }
        fields.update(overrides)
        return LaunchSpec(**fields)

    return build


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Wait until `condition()` holds, failing the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """Wait for a condition with a generous timeout (never a bound on speed)."""
    return _wait_for


@pytest.fixture
def until_ended() -> Callable[..., EngineStatus]:
    """Poll an attempt until it is exited or lost; return that status."""

    def wait(engine: Engine, handle: EngineHandle, timeout: float = WAIT_SECONDS) -> EngineStatus:
        statuses: list[EngineStatus] = []

        def ended() -> bool:
            statuses.append(engine.poll(handle))
            return statuses[-1].state.terminal

        _wait_for(ended, f"attempt {handle.id} to end", timeout)
        return statuses[-1]

    return wait


@pytest.fixture
def until_file() -> Callable[[Path], None]:
    """Wait until a job has created a file (its way of saying it got somewhere)."""

    def wait(path: Path) -> None:
        _wait_for(path.exists, f"{path.name} to appear")

    return wait


def _kill_leftover_attempts(state_dir: Path) -> None:
    """Safety net: a failing test must not leave job processes running."""
    for runner_file in state_dir.glob(f"*/*/{local_attempt.RUNNER}"):
        runner = local_attempt.read_json(runner_file)
        if runner is None or not procfs.is_same_process_alive(runner["pid"], runner["start_time"]):
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(runner["pgid"], signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(runner["pid"], 0)


# -- Slurm --------------------------------------------------------------------------------------


def _start_slurm() -> SlurmCluster:
    reason = slurm_harness.missing()
    if reason is not None:
        skip_or_fail(reason)
    return SlurmCluster().start()


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A real two-node Slurm cluster (8 fake H100 each) shared by the session's tests."""
    cluster = _start_slurm()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def slurm_accounting_cluster() -> Iterator[SlurmAccountingCluster]:
    """The two-node Slurm cluster with accounting (slurmdbd + MariaDB), started only for the
    tests that ask for it."""
    reason = slurm_accounting_harness.missing()
    if reason is not None:
        skip_or_fail(reason)
    cluster = SlurmAccountingCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def own_slurm_cluster() -> Iterator[SlurmCluster]:
    """A Slurm cluster of this test's own, for tests that break nodes or the controller."""
    cluster = _start_slurm()
    yield cluster
    cluster.stop()


def slurm_engine_on(cluster: SlurmCluster, state_dir: Path, **options: str) -> SlurmEngine:
    """A Slurm engine over the test cluster's two nodes."""
    # Its jobs run as unprivileged users, who must pass through to their attempt directories.
    slurm_harness.reachable(state_dir.parent)
    opts = SlurmOptions.from_engine_options(
        {"conf": str(cluster.conf), "partition": "gpu", "poll_cache_seconds": "0.2", **options},
        state_dir,
    )
    return SlurmEngine("test", opts, NODES)


@pytest.fixture
def slurm_engine(slurm_cluster: SlurmCluster, state_dir: Path) -> SlurmEngine:
    """A Slurm engine on the shared cluster, its attempt files in this test's temp dir."""
    return slurm_engine_on(slurm_cluster, state_dir)


@pytest.fixture
def unique_job_id() -> str:
    """A job id no other test uses: the session's Slurm cluster outlives each test."""
    return f"job-{uuid.uuid4().hex[:10]}"


# -- Ray ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A real two-node Ray cluster (8 fake GPUs each) shared by the session's tests."""
    reason = ray_harness.build_venv()
    if reason is not None:
        skip_or_fail(reason)
    try:
        cluster = RayCluster().start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        skip_or_fail(f"could not start a Ray cluster: {exc}")
    yield cluster
    cluster.stop()


def ray_engine_on(cluster: RayCluster, **options: str) -> RayEngine:
    """A Ray engine over the test cluster's two nodes."""
    opts = RayOptions.from_engine_options(
        {"address": cluster.address, "poll_cache_seconds": "0.2", **options}
    )
    return RayEngine("test", opts, NODES)


@pytest.fixture
def ray_engine(ray_cluster: RayCluster) -> Iterator[RayEngine]:
    """A Ray engine on the shared cluster."""
    engine = ray_engine_on(ray_cluster)
    yield engine
    engine.close()
