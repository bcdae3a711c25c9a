"""Supervisor of one job attempt on this machine: `python -m neocloud.engines.local.runner DIR`.

The local engine starts it as the leader of a new session and process group; it starts one
process per node slot (rank) in that same group, so one signal to the group reaches the whole
attempt. The engine signals only the runner, which forwards SIGTERM to the group exactly once
(whatever triggered the stop: a cancel, the max runtime, a failed rank of a gang).

It records its identity in `runner.json`, beats `heartbeat`, enforces the max runtime
and the cancel grace itself (so SIGKILL happens even if the control plane is down), and records
the end in `exit.json`. See `local.attempt` for the files.

A sandboxed attempt (`sandbox`) runs each rank through bwrap; the runner stays outside, so the
fact files stay out of the job's reach, and it copies the ranks' output into the log through a
pipe (the job never holds a descriptor of a file outside its sandbox). bwrap's own processes
(the rank's process and its direct child, the sandbox's init) are spared the stop's SIGTERM:
bwrap does not forward signals and would die, and its sandbox with it, before the grace ran out.
The job's processes get it directly, as without a sandbox. A job that dies of signal N while
bwrap lives shows as exit code 128+N, as bwrap reports it; the SIGKILL at the deadline reaches
bwrap too (and with it the whole sandbox), so the rank shows signal 9.

Standard library only, so that it starts fast and cannot break on a dependency.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from neocloud.domain.attempts import CANCELLED, MAX_RUNTIME_EXCEEDED
from neocloud.engines.local import attempt as files
from neocloud.engines.local import procfs
from neocloud.engines.sandbox import Sandbox, environment_args, helper_env

TICK_SECONDS = 0.1
HEARTBEAT_SECONDS = 1.0
# How long to wait for a rank's output to drain once every process of the attempt is gone.
DRAIN_SECONDS = 5.0


@dataclass
class _Rank:
    """One process of the attempt (one per node slot)."""

    rank: int
    node: str
    proc: subprocess.Popen[bytes]
    pump: threading.Thread | None = None
    returncode: int | None = None

    @property
    def failed(self) -> bool:
        """Exited non-zero or by a signal."""
        return self.returncode is not None and self.returncode != 0

    def facts(self) -> dict[str, Any]:
        """This rank's end as recorded in exit.json."""
        code, sig = _split_returncode(self.returncode)
        return {"rank": self.rank, "node": self.node, "exit_code": code, "signal": sig}


def _split_returncode(returncode: int | None) -> tuple[int | None, int | None]:
    """(exit code, signal) from a Popen return code, where -N means killed by signal N."""
    if returncode is None:
        return None, None
    if returncode < 0:
        return None, -returncode
    return returncode, None


@dataclass
class Runner:
    """Runs and supervises the ranks of one attempt."""

    attempt_dir: Path
    spec: dict[str, Any] = field(default_factory=dict)
    ranks: list[_Rank] = field(default_factory=list)
    term_received: bool = False
    # Set once the runner starts stopping the ranks; the first cause wins.
    stop_reason: str | None = None
    kill_deadline: float | None = None
    # The rank whose own failure ended a gang (as opposed to ranks the runner then terminated).
    first_failure: _Rank | None = None
    _log: IO[bytes] | None = None
    _log_lock: threading.Lock = field(default_factory=threading.Lock)
    _cancel_mtime: int | None = None
    _cancel_at: float | None = None
    _next_beat: float = 0.0

    def on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """Note a SIGTERM; the main loop turns it into a stop (handlers must stay tiny)."""
        self.term_received = True

    def run(self) -> dict[str, Any]:
        """Run the attempt to its end and return what exit.json should say."""
        spec = files.read_json(self.attempt_dir / files.SPEC)
        if spec is None:
            return _exit_record(None, None, "launch_failed: spec.json missing", [])
        self.spec = spec
        pid = os.getpid()
        files.write_json_atomic(
            self.attempt_dir / files.RUNNER,
            {
                "pid": pid,
                "pgid": os.getpgrp(),
                "start_time": procfs.start_time(pid),
                "started_at": files.now_iso(),
            },
        )
        self._beat()
        # A cancel that arrived while the runner was starting: do not start the work at all.
        if self.term_received or (self.attempt_dir / files.CANCEL).exists():
            return _exit_record(None, None, CANCELLED, [])
        working_dir = spec["working_dir"] or str(self.attempt_dir)
        # A sandbox makes and enters the working dir itself, inside, as the job's user.
        if not self.sandboxed and not os.path.isdir(working_dir):
            return _exit_record(
                None, None, f"launch_failed: working dir {working_dir} does not exist", []
            )
        self._log = open(  # noqa: SIM115 (closed in the finally below)
            self.attempt_dir / files.OUTPUT,
            "ab",
            buffering=0,
            opener=lambda path, flags: os.open(path, flags, files.FILE_MODE),
        )
        try:
            self._start_ranks(working_dir)
            self._supervise()
            ended_at = files.now_iso()
            self._kill_leftovers()
            self._drain()
        finally:
            self._log.close()
        return self._result(ended_at)

    def abort(self, exc: BaseException) -> dict[str, Any]:
        """After an unexpected runner error: end every process of the attempt and say why."""
        self._kill_leftovers()
        for r in self.ranks:
            if r.returncode is None:
                r.returncode = r.proc.wait()
        why = f"{type(exc).__name__}: {exc}"
        if not self.ranks:
            return _exit_record(None, None, f"launch_failed: runner error: {why}", [])
        code, sig = self._cause()
        return _exit_record(code, sig, f"runner_error: {why}", self.ranks)

    @property
    def sandboxed(self) -> bool:
        """The attempt's ranks run in sandboxes."""
        return self.spec.get("isolation") == "sandbox"

    def _start_ranks(self, working_dir: str) -> None:
        """Start one process per node slot, in this runner's process group."""
        assert self._log is not None
        multi = len(self.spec["ranks"]) > 1
        # One rank unsandboxed writes straight to the log; several need their lines prefixed.
        piped = multi or self.sandboxed
        for entry in self.spec["ranks"]:
            try:
                if "sandbox" in entry:
                    proc = self._popen_sandboxed(entry, piped)
                else:
                    proc = subprocess.Popen(
                        self.spec["command"],
                        cwd=working_dir,
                        env=entry["env"],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE if piped else self._log,
                        stderr=subprocess.STDOUT,
                    )
            except OSError as exc:
                self._begin_stop(
                    f"launch_failed: cannot start {self.spec['command'][0]!r}: {exc.strerror}",
                    float(self.spec["grace_seconds"]),
                )
                return
            rank = _Rank(rank=entry["rank"], node=entry["node"], proc=proc)
            if piped:
                rank.pump = threading.Thread(target=self._pump, args=(rank, multi), daemon=True)
                rank.pump.start()
            self.ranks.append(rank)

    def _popen_sandboxed(self, entry: dict[str, Any], piped: bool) -> subprocess.Popen[bytes]:
        """Start one rank in its sandbox; its environment goes through a memory file."""
        sandbox = Sandbox.from_json(entry["sandbox"])
        args_fd = os.memfd_create("bwrap-args", 0)
        try:
            os.write(args_fd, environment_args(entry["env"]))
            os.lseek(args_fd, 0, os.SEEK_SET)
            return subprocess.Popen(
                sandbox.command(self.spec["command"], args_fd),
                cwd="/",
                env=helper_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if piped else self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(args_fd,),
            )
        finally:
            os.close(args_fd)

    def _pump(self, rank: _Rank, prefixed: bool) -> None:
        """Copy one rank's output into the log, a whole line at a time, prefixed with its rank
        when the attempt has several."""
        assert rank.proc.stdout is not None and self._log is not None
        prefix = f"[rank {rank.rank}] ".encode() if prefixed else b""
        for line in iter(rank.proc.stdout.readline, b""):
            with self._log_lock:
                self._log.write(prefix + line)
        rank.proc.stdout.close()

    def _supervise(self) -> None:
        """Wait for every rank to exit, applying gang failure, cancel and max runtime."""
        deadline = time.monotonic() + float(self.spec["max_runtime_seconds"])
        while True:
            self._reap()
            if all(r.returncode is not None for r in self.ranks):
                return
            now = time.monotonic()
            cancel_deadline = self._cancel_deadline()
            if self.stop_reason is None:
                if self.first_failure is not None:
                    r = self.first_failure
                    code, sig = _split_returncode(r.returncode)
                    how = f"code {code}" if sig is None else f"signal {sig}"
                    self._begin_stop(
                        f"rank_failed: rank {r.rank} exited with {how}",
                        float(self.spec["grace_seconds"]),
                    )
                elif cancel_deadline is not None or self.term_received:
                    grace = float(self.spec["grace_seconds"])
                    if cancel_deadline is not None:
                        grace = max(0.0, cancel_deadline - now)
                    self._begin_stop(CANCELLED, grace)
                elif now >= deadline:
                    self._begin_stop(MAX_RUNTIME_EXCEEDED, float(self.spec["grace_seconds"]))
            elif cancel_deadline is not None and self.kill_deadline is not None:
                # A later cancel may shorten the grace of a stop already under way, never extend it.
                self.kill_deadline = min(self.kill_deadline, cancel_deadline)
            if self.kill_deadline is not None and now >= self.kill_deadline:
                # Repeated every tick: a process may fork between one scan and the next.
                self._kill_leftovers()
            self._beat()
            time.sleep(TICK_SECONDS)

    def _reap(self) -> None:
        """Collect ranks that exited; remember the first one that failed on its own."""
        for r in self.ranks:
            if r.returncode is None:
                r.returncode = r.proc.poll()
                if r.failed and self.stop_reason is None and self.first_failure is None:
                    self.first_failure = r

    def _cancel_deadline(self) -> float | None:
        """The SIGKILL deadline (monotonic) from cancel.json, or None if there is no cancel."""
        path = self.attempt_dir / files.CANCEL
        try:
            mtime_ns = path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if mtime_ns != self._cancel_mtime:
            self._cancel_mtime = mtime_ns
            cancel = files.read_json(path)
            if cancel is None:
                return self._cancel_at
            remaining = files.parse_iso(cancel["kill_at"]).timestamp() - time.time()
            self._cancel_at = time.monotonic() + max(0.0, remaining)
        return self._cancel_at

    def _begin_stop(self, reason: str, grace: float) -> None:
        """SIGTERM the whole group once; SIGKILL follows at the deadline."""
        self.stop_reason = reason
        self.kill_deadline = time.monotonic() + grace
        if self.sandboxed:
            self._terminate_sandboxed()
            return
        # The runner is in the group too: its handler only sets a flag, which is ignored now.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgrp(), signal.SIGTERM)

    def _terminate_sandboxed(self) -> None:
        """SIGTERM the jobs' processes of the group, sparing the runner and bwrap's own."""
        outer = {r.proc.pid for r in self.ranks}
        members = [procfs.read_stat(pid) for pid in procfs.group_members(os.getpgrp())]
        spared = {os.getpid(), *outer}
        spared.update(m.pid for m in members if m is not None and m.ppid in outer)
        for m in members:
            if m is not None and m.pid not in spared:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.pid, signal.SIGTERM)

    def _kill_leftovers(self) -> None:
        """SIGKILL every other process of the group (the runner must live to record the end)."""
        me = os.getpid()
        for pid in procfs.group_members(os.getpgrp()):
            if pid != me:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._reap()

    def _drain(self) -> None:
        """Let the output pumps write what the ranks printed before the end is recorded."""
        for r in self.ranks:
            if r.pump is not None:
                r.pump.join(DRAIN_SECONDS)

    def _cause(self) -> tuple[int | None, int | None]:
        """(exit code, signal) of the attempt: the gang's first own failure, else the first
        non-zero rank by rank order, else 0."""
        if self.first_failure is not None:
            return _split_returncode(self.first_failure.returncode)
        for r in sorted(self.ranks, key=lambda r: r.rank):
            if r.failed:
                return _split_returncode(r.returncode)
        if not self.ranks:
            return None, None
        return 0, None

    def _result(self, ended_at: str) -> dict[str, Any]:
        """What exit.json says once every rank has exited."""
        code, sig = self._cause()
        return _exit_record(code, sig, self.stop_reason, self.ranks, ended_at)

    def _beat(self) -> None:
        """Touch the heartbeat file, at most about once a second."""
        now = time.monotonic()
        if now < self._next_beat:
            return
        self._next_beat = now + HEARTBEAT_SECONDS
        (self.attempt_dir / files.HEARTBEAT).touch(mode=files.FILE_MODE)


def _exit_record(
    exit_code: int | None,
    sig: int | None,
    reason: str | None,
    ranks: list[_Rank],
    ended_at: str | None = None,
) -> dict[str, Any]:
    """The content of exit.json."""
    return {
        "exit_code": exit_code,
        "signal": sig,
        "ended_at": ended_at or files.now_iso(),
        "reason": reason,
        "ranks": [r.facts() for r in sorted(ranks, key=lambda r: r.rank)],
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: supervise the attempt in the given directory and record its end."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m neocloud.engines.local.runner ATTEMPT_DIR", file=sys.stderr)
        return 2
    runner = Runner(Path(args[0]).resolve())
    signal.signal(signal.SIGTERM, runner.on_sigterm)
    try:
        record = runner.run()
    except Exception as exc:
        # Never vanish silently: a recorded end with the cause beats a "lost" attempt.
        traceback.print_exc()
        record = runner.abort(exc)
    files.write_json_atomic(runner.attempt_dir / files.EXIT, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
