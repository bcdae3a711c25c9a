"""The facts of one Slurm attempt as its files record them (see `slurm.script` for who writes what).

`<state_dir>/<job_id>/<attempt>/` belongs to the control plane (root, group the org's, 0710): it
holds `spec.json`, `submitted.json`, `job.sh` and `kill_at` (written by the engine; the job may
read `kill_at`, and change none of them). Its `run/` belongs to the org's user (0700): the job's
own directory, where its batch script writes `output.log`, `started`, `heartbeat` and `exit`.
Under a sandbox the job itself sees only `run/work/`, and the attempt directory also holds
`env.args` (its environment, for bwrap; group the org's, 0640).
No other org's user can enter either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from neocloud.engines.log_chunks import open_job_file
from neocloud.engines.slurm import script
from neocloud.engines.tenant_users import TenantIdentity

SPEC = "spec.json"
# A fact file holds a line of a few numbers.
_FACT_BYTES = 256
SUBMITTED = "submitted.json"
# The state dir and each job's directory: others may pass through to what they own, not list.
TRAVERSE = 0o711
# An attempt directory: the control plane's; the org's group may enter, not list or write.
_ATTEMPT = 0o710
# The job's own directory: its user's alone.
_RUN = 0o700


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
        run = attempt_dir / script.RUN
        started = _fields(run / script.STARTED)
        # The first rank's command start, else the script's own stamp before srun.
        ranks = [_float(_fields(p), 0) for p in run.glob(script.RANK_STARTED)]
        first_rank = min((r for r in ranks if r is not None), default=None)
        ended = _fields(run / script.EXIT)
        kill = _fields(attempt_dir / script.KILL_AT)
        try:
            beat: float | None = (run / script.HEARTBEAT).stat().st_mtime
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
    # The job writes these files: read a regular file only, and only its first few bytes.
    try:
        fd = open_job_file(path)
    except FileNotFoundError:
        return None
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(_FACT_BYTES).decode("utf-8", "replace").split() or None


def _float(fields: list[str] | None, i: int) -> float | None:
    if not fields or len(fields) <= i:
        return None
    try:
        return float(fields[i])
    except ValueError:
        return None


def write_kill_order(attempt_dir: Path, order: KillOrder) -> None:
    """Record the kill deadline (whole seconds, rounded up) atomically, before any signal.

    Readable (the batch script, running as the org's user, enforces it), not writable by the job.
    """
    text = f"{int(-(-order.at // 1))} {order.reason}\n"
    write_text_atomic(attempt_dir / script.KILL_AT, text, mode=0o644)


def write_text_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write a file so that readers see the old one or the whole new one."""
    write_bytes_atomic(path, text.encode("utf-8"), mode)


def write_bytes_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write a file so that readers see the old one or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def utc(epoch: float | None) -> datetime | None:
    """An epoch time as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def prepare_attempt_dir(
    attempt_dir: Path, who: TenantIdentity, workdir: str, sandbox: bool
) -> None:
    """A new attempt's directories: the control plane's attempt directory, which only the
    org's group may enter, and in it the job's own `run/` (and its working directory, under
    `run/work/`, the sandbox's /job, if sandboxed)."""
    job_dir = attempt_dir.parent
    job_dir.mkdir(exist_ok=True, mode=TRAVERSE)
    os.chmod(job_dir, TRAVERSE)
    attempt_dir.mkdir(exist_ok=True, mode=_ATTEMPT)
    os.chown(attempt_dir, os.geteuid(), who.gid)
    os.chmod(attempt_dir, _ATTEMPT)
    run = attempt_dir / script.RUN
    # Made fresh here, before the job exists: nothing in it can be the job's symbolic link.
    fresh = not run.exists()
    run.mkdir(exist_ok=True, mode=_RUN)
    os.lchown(run, who.uid, who.gid)
    os.chmod(run, _RUN)
    parts = ([script.WORK] if sandbox else []) + (workdir.split("/") if workdir else [])
    if fresh:
        path = run
        for part in parts:
            path = path / part
            path.mkdir(mode=_RUN)
            os.lchown(path, who.uid, who.gid)
