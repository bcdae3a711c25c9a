"""An attempt's combined output is captured and readable from any offset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from neocloud.engines.base import EngineState

PRINT_LINES = (
    "import sys\n"
    "for i in range(200):\n"
    "    print(f'out {i}', flush=True)\n"
    "print('to stderr', file=sys.stderr, flush=True)\n"
)
EXPECTED = "".join(f"out {i}\n" for i in range(200)) + "to stderr\n"


def test_output_is_read_back_in_chunks_from_offsets(engine, spec, until_ended) -> None:
    handle = engine.launch(spec([sys.executable, "-c", PRINT_LINES]))
    until_ended(engine, handle)

    data, offset, chunks = b"", 0, 0
    while True:
        chunk = engine.logs(handle, offset, 100)
        data += chunk.data
        offset = chunk.next_offset
        chunks += 1
        if chunk.complete:
            break
        assert chunk.data, "an incomplete read of an ended attempt must make progress"

    assert data.decode() == EXPECTED
    assert chunks > 1
    assert offset == len(EXPECTED)


def test_reading_from_the_middle_returns_the_rest(engine, spec, until_ended) -> None:
    handle = engine.launch(spec([sys.executable, "-c", PRINT_LINES]))
    until_ended(engine, handle)
    start = EXPECTED.index("out 150")

    chunk = engine.logs(handle, start, 1_000_000)

    assert chunk.data.decode() == EXPECTED[start:]
    assert chunk.complete


def test_reading_past_the_end_returns_nothing_and_keeps_the_offset(
    engine, spec, until_ended
) -> None:
    handle = engine.launch(spec([sys.executable, "-c", PRINT_LINES]))
    until_ended(engine, handle)

    chunk = engine.logs(handle, 10_000, 100)

    assert chunk.data == b""
    assert chunk.next_offset == 10_000
    assert chunk.complete


def test_logs_of_a_running_attempt_are_not_complete(
    engine, spec, wait_for, until_ended, workdir: Path
) -> None:
    code = "import time; print('hello', flush=True); time.sleep(600)"
    handle = engine.launch(spec([sys.executable, "-c", code]))

    wait_for(lambda: engine.logs(handle, 0, 100).data == b"hello\n", "the first line")
    chunk = engine.logs(handle, 0, 100)
    assert not chunk.complete
    assert engine.poll(handle).state is EngineState.RUNNING

    engine.cancel(handle, grace_seconds=0)
    until_ended(engine, handle)
    assert engine.logs(handle, 0, 100).complete


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0)])
def test_bad_offsets_and_limits_are_refused(engine, spec, offset: int, limit: int) -> None:
    handle = engine.launch(spec(["true"]))

    with pytest.raises(ValueError):
        engine.logs(handle, offset, limit)
