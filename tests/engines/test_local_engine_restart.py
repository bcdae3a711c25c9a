"""The control plane restarts: a new engine adopts attempts; a vanished attempt is lost."""

from __future__ import annotations

import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from neocloud.engines.base import EngineHandle, EngineState
from neocloud.engines.local import attempt as local_attempt

CHATTY_UNTIL_SIGTERM = """
import pathlib, signal, sys, time
def on_term(signum, frame):
    print('bye', flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print('working', flush=True)
pathlib.Path('ready').write_text('yes')
time.sleep(600)
"""


def test_a_new_engine_polls_reads_logs_and_cancels_an_old_engines_attempt(
    new_engine, spec, until_ended, until_file, workdir: Path
) -> None:
    old = new_engine()
    stored = old.launch(spec([sys.executable, "-c", CHATTY_UNTIL_SIGTERM])).to_str()
    until_file(workdir / "ready")
    old.close()

    engine = new_engine()
    handle = EngineHandle.from_str(stored)
    running = engine.poll(handle)
    assert running.state is EngineState.RUNNING
    assert running.started_at is not None
    assert engine.logs(handle, 0, 100).data == b"working\n"

    engine.cancel(handle, grace_seconds=60)
    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.exit_code == 0
    assert status.reason == "cancelled"
    assert status.started_at == running.started_at
    chunk = engine.logs(handle, 0, 100)
    assert chunk.data == b"working\nbye\n"
    assert chunk.complete


@pytest.mark.parametrize("poller", ["same engine", "new engine"])
def test_an_attempt_killed_with_its_runner_is_lost_with_a_bounded_end(
    new_engine, spec, wait_for, until_ended, until_file, workdir: Path, state_dir: Path, poller
) -> None:
    engine = new_engine()
    handle = engine.launch(spec(["sh", "-c", "echo yes > ready; sleep 600"]))
    until_file(workdir / "ready")
    runner = local_attempt.read_json(state_dir / handle.id / local_attempt.RUNNER)
    assert runner is not None
    wait_for(lambda: (state_dir / handle.id / local_attempt.HEARTBEAT).exists(), "a heartbeat")

    os.killpg(runner["pgid"], signal.SIGKILL)
    if poller == "new engine":
        engine.close()
        engine = new_engine()
    status = until_ended(engine, handle)

    assert status.state is EngineState.LOST
    assert status.reason_code == "lost"
    assert status.started_at is not None and status.ended_at is not None
    assert status.started_at <= status.ended_at <= datetime.now(UTC)
    assert engine.logs(handle, 0, 100).complete


def test_a_handle_the_engine_never_issued_is_lost_not_found(engine) -> None:
    status = engine.poll(EngineHandle("local", "never-launched/0"))

    assert status.state is EngineState.LOST
    assert status.reason_code == "not_found"


def test_the_engine_reaps_its_runners(engine, spec, wait_for, until_ended) -> None:
    handle = engine.launch(spec(["true"]))
    until_ended(engine, handle)
    runner = local_attempt.read_json(engine.state_dir / handle.id / local_attempt.RUNNER)
    assert runner is not None

    def reaped() -> bool:
        engine.poll(handle)
        return not Path(f"/proc/{runner['pid']}").exists()

    # Unreaped, the exited runner would stay a zombie (its /proc entry remains) for good.
    wait_for(reaped, "the runner to be reaped")
