"""The attempt directory: the files through which the local engine and its runner talk.

`<state_dir>/<job_id>/<attempt>/` holds, in the order they appear:

- `spec.json`    what to run (written by the engine before the runner starts)
- `runner.json`  pid, pgid, /proc start time and start instant of the runner
- `heartbeat`    touched about once a second while the runner lives; its mtime bounds a lost end
- `output.log`   stdout and stderr of every rank
- `cancel.json`  written by the engine before it signals, so the kill deadline outlives it
- `exit.json`    the recorded end: exit code, signal, end instant, reason

Every JSON file is written atomically (temp file + rename), so a reader never sees half of one.
The runner imports this module: standard library only.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SPEC = "spec.json"
RUNNER = "runner.json"
HEARTBEAT = "heartbeat"
OUTPUT = "output.log"
CANCEL = "cancel.json"
EXIT = "exit.json"
RUNNER_LOG = "runner.log"

# Files may carry the job's environment (tokens, passwords): readable by the owner only.
FILE_MODE = 0o600
DIR_MODE = 0o700


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as JSON so that readers see either the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None if the file does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return data


def now_iso() -> str:
    """Now as an ISO-8601 UTC timestamp with microseconds."""
    return datetime.now(UTC).isoformat()


def parse_iso(text: str) -> datetime:
    """Parse a timestamp written by `now_iso` (always UTC-aware)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without timezone: {text!r}")
    return value.astimezone(UTC)


def mtime(path: Path) -> datetime | None:
    """A file's modification time as UTC, or None if the file does not exist."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return None
