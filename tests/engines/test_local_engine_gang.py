"""A multi-node gang on the local engine: one process per node slot, all-or-nothing."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from neocloud.engines.base import EngineState
from neocloud.scheduler.model import GpuSlot

TWO_NODES = (GpuSlot("n1", (0, 1)), GpuSlot("n2", (2, 3)))

RECORD_RANK = """
import json, os
rank = os.environ['NEOCLOUD_NODE_RANK']
keys = ['CUDA_VISIBLE_DEVICES', 'NEOCLOUD_NODE_NAME', 'NEOCLOUD_NUM_NODES', 'NEOCLOUD_GPUS']
seen = {k: os.environ[k] for k in keys}
seen['pid'] = os.getpid()
json.dump(seen, open(f'rank-{rank}.json', 'w'))
print('hello from', rank, flush=True)
"""

# Rank 1 fails at once; rank 0 would run for ten minutes unless the gang is torn down.
RANK_ONE_FAILS = """
import os, pathlib, sys, time
rank = os.environ['NEOCLOUD_NODE_RANK']
if rank == '1':
    sys.exit(3)
def on_term(signum, frame):
    pathlib.Path('rank-0-terminated').write_text('yes')
    sys.exit(143)
import signal
signal.signal(signal.SIGTERM, on_term)
time.sleep(600)
"""


def test_each_node_slot_runs_as_its_own_rank(engine, spec, until_ended, workdir: Path) -> None:
    handle = engine.launch(spec([sys.executable, "-c", RECORD_RANK], placement=TWO_NODES))

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED and status.exit_code == 0
    rank0 = json.loads((workdir / "rank-0.json").read_text())
    rank1 = json.loads((workdir / "rank-1.json").read_text())
    assert (rank0["NEOCLOUD_NODE_NAME"], rank0["CUDA_VISIBLE_DEVICES"]) == ("n1", "0,1")
    assert (rank1["NEOCLOUD_NODE_NAME"], rank1["CUDA_VISIBLE_DEVICES"]) == ("n2", "2,3")
    assert rank0["NEOCLOUD_NUM_NODES"] == rank1["NEOCLOUD_NUM_NODES"] == "2"
    assert rank0["NEOCLOUD_GPUS"] == rank1["NEOCLOUD_GPUS"] == "2"
    assert rank0["pid"] != rank1["pid"]


def test_output_of_each_rank_is_prefixed_with_its_rank(engine, spec, until_ended) -> None:
    handle = engine.launch(spec([sys.executable, "-c", RECORD_RANK], placement=TWO_NODES))
    until_ended(engine, handle)

    lines = sorted(engine.logs(handle, 0, 10_000).data.decode().splitlines())

    assert lines == ["[rank 0] hello from 0", "[rank 1] hello from 1"]


def test_single_node_output_has_no_rank_prefix(engine, spec, until_ended) -> None:
    handle = engine.launch(spec([sys.executable, "-c", RECORD_RANK]))
    until_ended(engine, handle)

    assert engine.logs(handle, 0, 10_000).data == b"hello from 0\n"


def test_a_failing_rank_terminates_the_others_and_gives_the_exit_code(
    engine, spec, until_ended, workdir: Path
) -> None:
    handle = engine.launch(spec([sys.executable, "-c", RANK_ONE_FAILS], placement=TWO_NODES))

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    # The cause is rank 1's own failure, not rank 0's reaction to being terminated.
    assert status.exit_code == 3
    assert status.reason == "rank_failed: rank 1 exited with code 3"


def test_a_rank_that_ignores_the_gang_teardown_is_killed_after_the_grace(
    engine, spec, until_ended
) -> None:
    code = (
        "import os, signal, sys, time\n"
        "if os.environ['NEOCLOUD_NODE_RANK'] == '0':\n"
        "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "    time.sleep(600)\n"
        "sys.exit(5)\n"
    )
    handle = engine.launch(spec([sys.executable, "-c", code], placement=TWO_NODES, grace_seconds=1))

    status = until_ended(engine, handle)

    assert status.exit_code == 5
    assert status.reason == "rank_failed: rank 1 exited with code 5"
    ranks = _recorded_ranks(handle.id, engine.state_dir)
    assert ranks[0]["signal"] == signal.SIGKILL


def _recorded_ranks(handle_id: str, state_dir: Path) -> dict[int, dict[str, int | None]]:
    """Per-rank facts the runner recorded in exit.json."""
    record = json.loads((state_dir / handle_id / "exit.json").read_text())
    return {r["rank"]: r for r in record["ranks"]}
