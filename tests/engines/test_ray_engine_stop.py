"""Stopping work on Ray: SIGTERM as the notice, SIGKILL after the grace, max runtime."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from neocloud.engines.base import EngineState

# On SIGTERM writes a marker (a spot job saving its state), then takes argv[1] seconds to exit.
NOTICED = r"""
import os, signal, sys, time
out = os.environ["OUT"]
def on_term(*_):
    open(os.path.join(out, "noticed"), "w").write(str(time.time()))
    time.sleep(float(sys.argv[1]))
    open(os.path.join(out, "saved"), "w").write(str(time.time()))
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
open(os.path.join(out, "started"), "w").write(str(time.time()))
while True: time.sleep(0.1)
"""


def _stamp(path: Path) -> float:
    return float(path.read_text())


def test_cancel_sends_sigterm_and_the_job_finishes_within_its_grace(
    ray_engine, spec, until_file, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", NOTICED, "1"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            grace_seconds=10,
        )
    )
    until_file(workdir / "started")

    ray_engine.cancel(handle, 10)
    status = until_ended(ray_engine, handle, timeout=90)

    assert (workdir / "noticed").exists() and (workdir / "saved").exists()
    assert (status.state, status.reason_code, status.exit_code) == (
        EngineState.EXITED,
        "cancelled",
        0,
    )
    assert status.ended_at is not None and status.started_at is not None
    assert status.started_at.timestamp() == pytest.approx(_stamp(workdir / "started"), abs=1)
    assert status.ended_at.timestamp() == pytest.approx(_stamp(workdir / "saved"), abs=1)


def test_a_job_that_ignores_the_notice_is_killed_after_the_grace(
    ray_engine, spec, until_file, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", NOTICED, "600"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            grace_seconds=2,
        )
    )
    until_file(workdir / "started")

    ray_engine.cancel(handle, 2)
    until_file(workdir / "noticed")
    status = until_ended(ray_engine, handle, timeout=90)

    assert not (workdir / "saved").exists()
    assert (status.state, status.reason_code, status.signal) == (EngineState.EXITED, "cancelled", 9)
    assert status.ended_at is not None
    killed_after = status.ended_at.timestamp() - _stamp(workdir / "noticed")
    assert killed_after == pytest.approx(2, abs=1)


def test_a_job_is_stopped_at_its_max_runtime_by_the_runner(
    ray_engine, spec, until_file, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(
        spec(
            [sys.executable, "-c", NOTICED, "0"],
            job_id=unique_job_id,
            env={"OUT": str(workdir)},
            max_runtime_seconds=3,
            grace_seconds=5,
        )
    )

    status = until_ended(ray_engine, handle, timeout=90)

    assert (status.state, status.reason_code) == (EngineState.EXITED, "max_runtime_exceeded")
    assert status.started_at is not None and status.ended_at is not None
    ran = (status.ended_at - status.started_at).total_seconds()
    assert ran == pytest.approx(3, abs=1)
    assert _stamp(workdir / "noticed") - _stamp(workdir / "started") == pytest.approx(3, abs=1)


def test_cancelling_a_finished_attempt_changes_nothing(
    ray_engine, spec, until_ended, workdir: Path, unique_job_id: str
) -> None:
    handle = ray_engine.launch(spec(["true"], job_id=unique_job_id))
    before = until_ended(ray_engine, handle, timeout=90)

    ray_engine.cancel(handle, 5)
    time.sleep(0.5)

    assert ray_engine.poll(handle) == before
    assert (before.state, before.exit_code) == (EngineState.EXITED, 0)
