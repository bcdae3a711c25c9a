"""The facts of one Slurm attempt as its files record them (see `slurm_script` for who writes what).

`<state_dir>/<job_id>/<attempt>/` holds `spec.json` and `submitted.json` (written by the engine),
`job.sh`, `output.log`, `started`, `heartbeat`, `exit` (written by the job's batch script) and
`kill_at` (written by the engine when it cancels).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from neocloud.engines import slurm_script as script

SPEC = "spec.json"
SUBMITTED = "submitted.json"


@dataclass(frozen=True, slots=True)
class KillOrder:
    """When the engine will SIGKILL what is left of the attempt, and why it is stopping it."""

    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class AttemptFacts:
    """What the attempt's own files say (times are epoch seconds)."""

    slurm_job_id: str | None = None
    started_at: float | None = None
    # True once a rank's command has started (started_at is then that instant, not the script's).
    command_started: bool = False
    exit_status: int | None = None
    ended_at: float | None = None
    heartbeat_at: float | None = None
    kill: KillOrder | None = None

    @classmethod
    def read(cls, attempt_dir: Path) -> AttemptFacts:
        """Read whatever the files hold; missing or half-written files count as absent."""
        started = _fields(attempt_dir / script.STARTED)
        # The first rank's command start, else the script's own stamp before srun.
        ranks = [_float(_fields(p), 0) for p in attempt_dir.glob(script.RANK_STARTED)]
        first_rank = min((r for r in ranks if r is not None), default=None)
        ended = _fields(attempt_dir / script.EXIT)
        kill = _fields(attempt_dir / script.KILL_AT)
        try:
            beat: float | None = (attempt_dir / script.HEARTBEAT).stat().st_mtime
        except FileNotFoundError:
            beat = None
        return cls(
            slurm_job_id=started[0] if started else None,
            started_at=first_rank if first_rank is not None else _float(started, 1),
            command_started=first_rank is not None,
            exit_status=int(ended[0]) if ended and ended[0].lstrip("-").isdigit() else None,
            ended_at=_float(ended, 1),
            heartbeat_at=beat,
            kill=KillOrder(float(kill[0]), kill[1]) if kill and len(kill) > 1 else None,
        )


def _fields(path: Path) -> list[str] | None:
    try:
        return path.read_text().split() or None
    except FileNotFoundError:
        return None


def _float(fields: list[str] | None, i: int) -> float | None:
    if not fields or len(fields) <= i:
        return None
    try:
        return float(fields[i])
    except ValueError:
        return None


def write_kill_order(attempt_dir: Path, order: KillOrder) -> None:
    """Record the kill deadline (whole seconds, rounded up) atomically, before any signal."""
    write_text_atomic(attempt_dir / script.KILL_AT, f"{int(-(-order.at // 1))} {order.reason}\n")


def write_text_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a file so that readers see the old one or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def utc(epoch: float | None) -> datetime | None:
    """An epoch time as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
