"""The runner of one rank of an attempt on a Ray node: Ray's job entrypoint is this file's code.

Standard library only, and nothing of neocloud is imported: the Ray engine sends this source
inline (`python3 -c <source> <json>`), so the nodes need no neocloud installed. It

- sets the rank's environment: CUDA_VISIBLE_DEVICES to the GPU indices neocloud chose (Ray is
  asked for no GPUs, so it sets none itself), NEOCLOUD_NODE_RANK and NEOCLOUD_NODE_NAME;
- runs the command and keeps, in `neocloud-<submission id>.json` in the node's Ray log
  directory (beside Ray's own `job-driver-<submission id>.log`), one line of facts the engine
  reads through Ray's State API: the exact start, a heartbeat twice a second (the last sign of life
  if the node dies), and the exit status and instant;
- stops the command at its max runtime: SIGTERM, then SIGKILL after the grace.

A stop through Ray's Jobs API signals every process of the rank, this runner included: it then
waits for the command and records how it ended (Ray SIGKILLs what is left after the grace).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

BEAT_SECONDS = 0.5


def _log_dir() -> str:
    """The directory of Ray's job log, which is this process's stdout."""
    try:
        return os.path.dirname(os.readlink("/proc/self/fd/1"))
    except OSError:
        return os.getcwd()


def _write(path: str, facts: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(facts) + "\n")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    """Run one rank as `argv[1]` (JSON) describes; exit with the command's status."""
    spec = json.loads(argv[1])
    path = os.path.join(_log_dir(), f"neocloud-{spec['submission_id']}.json")
    facts: dict[str, Any] = {"started": time.time()}
    facts["beat"] = facts["started"]
    _write(path, facts)
    stopping: list[float] = []
    # Ray's stop signals the command too; the runner lives on to record the end.
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(time.time()))
    env = {**os.environ, **spec["env"]}
    try:
        child = subprocess.Popen(spec["command"], env=env, cwd=spec["cwd"] or None)
    except OSError as exc:
        print(f"neocloud: cannot start {spec['command'][0]!r}: {exc}", file=sys.stderr, flush=True)
        facts.update(exit=127, ended=time.time(), beat=time.time())
        _write(path, facts)
        return 127
    deadline = facts["started"] + spec["max_runtime_seconds"]
    kill_at: float | None = None
    next_beat = facts["started"] + BEAT_SECONDS
    while True:
        try:
            code = child.wait(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.time()
        if kill_at is None and now >= deadline:
            facts["reason"] = "max_runtime_exceeded"
            kill_at = now + spec["grace_seconds"]
            child.send_signal(signal.SIGTERM)
        elif kill_at is not None and now >= kill_at:
            child.kill()
        if now >= next_beat:
            facts["beat"] = now
            _write(path, facts)
            next_beat = now + BEAT_SECONDS
    ended = time.time()
    facts.update(beat=ended, ended=ended)
    if code < 0:
        facts["signal"] = -code
    else:
        facts["exit"] = code
    _write(path, facts)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
