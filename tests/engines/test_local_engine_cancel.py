"""Cancel and max runtime: SIGTERM first, SIGKILL after the grace, enforced by the runner."""

from __future__ import annotations

import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from neocloud.engines.base import EngineState
from neocloud.engines.local import procfs

# Says it is ready (the handler is installed), then waits; on SIGTERM records it and exits 0.
TRAPS_SIGTERM = """
import pathlib, signal, sys, time
def on_term(signum, frame):
    pathlib.Path('got-sigterm').write_text('yes')
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
pathlib.Path('ready').write_text('yes')
time.sleep(600)
"""

IGNORES_SIGTERM = """
import pathlib, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path('ready').write_text('yes')
time.sleep(600)
"""

# Leaves a grandchild that ignores SIGTERM too, so only a SIGKILL of the whole group ends it.
FORKS_STUBBORN_CHILD = """
trap '' TERM
sleep 600 &
echo $! > grandchild.pid
echo yes > ready
wait
"""


def test_job_that_handles_sigterm_exits_cleanly_and_is_recorded_as_cancelled(
    engine, spec, until_ended, until_file, workdir: Path
) -> None:
    handle = engine.launch(spec([sys.executable, "-c", TRAPS_SIGTERM]))
    until_file(workdir / "ready")

    engine.cancel(handle, grace_seconds=120)
    status = until_ended(engine, handle)

    assert (workdir / "got-sigterm").read_text() == "yes"
    assert status.state is EngineState.EXITED
    assert status.exit_code == 0
    assert status.signal is None
    assert status.reason == "cancelled"


def test_job_that_ignores_sigterm_is_killed_after_the_grace(
    engine, spec, until_ended, until_file, workdir: Path
) -> None:
    handle = engine.launch(spec([sys.executable, "-c", IGNORES_SIGTERM]))
    until_file(workdir / "ready")

    asked_at = datetime.now(UTC)
    engine.cancel(handle, grace_seconds=1)
    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.signal == signal.SIGKILL
    assert status.exit_code is None
    assert status.reason == "cancelled"
    # The grace is a promise to the job: no SIGKILL before it has passed.
    assert status.ended_at is not None
    assert status.ended_at >= asked_at + timedelta(seconds=1)


def test_the_kill_after_the_grace_happens_even_if_the_control_plane_restarts(
    new_engine, spec, until_ended, until_file, workdir: Path
) -> None:
    first = new_engine()
    handle = first.launch(spec([sys.executable, "-c", IGNORES_SIGTERM]))
    until_file(workdir / "ready")
    first.cancel(handle, grace_seconds=1)
    first.close()

    status = until_ended(new_engine(), handle)

    assert status.state is EngineState.EXITED
    assert status.signal == signal.SIGKILL
    assert status.reason == "cancelled"


def test_cancel_kills_every_process_of_the_attempt(
    engine, spec, until_ended, until_file, workdir: Path
) -> None:
    handle = engine.launch(spec(["sh", "-c", FORKS_STUBBORN_CHILD]))
    until_file(workdir / "ready")
    grandchild = int((workdir / "grandchild.pid").read_text())

    engine.cancel(handle, grace_seconds=0)
    until_ended(engine, handle)

    stat = procfs.read_stat(grandchild)
    assert stat is None or stat.exited


def test_cancel_right_after_launch_still_ends_as_cancelled(engine, spec, until_ended) -> None:
    handle = engine.launch(spec(["sleep", "600"]))

    engine.cancel(handle, grace_seconds=1)
    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.reason == "cancelled"


def test_cancelling_an_ended_attempt_changes_nothing(engine, spec, until_ended) -> None:
    handle = engine.launch(spec(["true"]))
    before = until_ended(engine, handle)

    engine.cancel(handle, grace_seconds=0)

    assert engine.poll(handle) == before
    assert before.exit_code == 0 and before.reason is None


def test_max_runtime_overrun_is_terminated_and_marked(engine, spec, until_ended) -> None:
    handle = engine.launch(spec(["sleep", "600"], max_runtime_seconds=1, grace_seconds=5))

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.reason == "max_runtime_exceeded"
    assert status.signal == signal.SIGTERM
    assert status.started_at is not None and status.ended_at is not None
    assert status.ended_at - status.started_at >= timedelta(seconds=1)


def test_max_runtime_overrun_that_ignores_sigterm_is_killed_after_the_grace(
    engine, spec, until_ended
) -> None:
    handle = engine.launch(
        spec([sys.executable, "-c", IGNORES_SIGTERM], max_runtime_seconds=1, grace_seconds=1)
    )

    status = until_ended(engine, handle)

    assert status.reason == "max_runtime_exceeded"
    assert status.signal == signal.SIGKILL
    assert status.started_at is not None and status.ended_at is not None
    assert status.ended_at - status.started_at >= timedelta(seconds=2)
