"""The Slurm engine: neocloud places the work, Slurm runs it exactly there.

- launch: `sbatch --parsable` pinned with `--nodelist` and `--gres=gpu:<type>:<n>`; the command
  runs under `srun`, one task per node (see `slurm.script`). The job is named
  `nc-<job id>-<attempt>`, so a launch repeated after a crash finds the job it already submitted
  instead of submitting it twice.
- poll: `squeue --json` (one listing serves every poll for `poll_cache_seconds`; Debian's 22.05
  ignores `-j` and `--name` together with `--json`, so the listing is read whole), then the
  attempt's own files for exact start and end instants and the exit status, then `sacct` for a
  job that has left the queue, when accounting is on.
- cancel: `scancel --signal=TERM` to the job's steps now (the notice), SIGKILL to them once the
  grace has passed, by the engine's next poll or by the batch script itself, whichever is first.
- logs: the attempt's output file; inventory: `sinfo --json`.
- who: never root. Each attempt runs as its org's unprivileged user (`sbatch --uid/--gid`; see
  `tenant_users`, or `org_users` in the engine options), or as the one `run_as_user` of a
  cluster declared `isolation: none`. The attempt directory is the control plane's and the
  org's group may only enter it; its `run/` is the org user's (see `slurm.attempt`), so no
  other org's job can list, read or change either. Under `isolation: sandbox` each rank also
  runs in bubblewrap on its node (see `slurm.script`): it sees only `run/work/` (at /job), its
  own GPUs' device files and processes, and a /tmp of its own; the records usage is computed
  from stay outside, beyond its reach.

Slurm chooses which GPU indices of a node a job gets: they are read back from `squeue`'s
`gres_detail` and reported in `EngineStatus.placement`.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neocloud.domain.attempts import CANCELLED, MAX_RUNTIME_EXCEEDED, NODE_FAILED
from neocloud.domain.jobs import working_dir_in_job
from neocloud.engines.base import (
    ADOPT_AFTER_RESTART,
    GANGS,
    LOGS,
    EngineError,
    EngineHandle,
    EngineNode,
    EngineState,
    EngineStatus,
    EngineUnavailable,
    LaunchSpec,
    LogChunk,
)
from neocloud.engines.local import attempt as jsonfiles
from neocloud.engines.log_chunks import check_window, chunk_of_file
from neocloud.engines.placement import check_id, check_placement
from neocloud.engines.sandbox import setenv_args
from neocloud.engines.slurm import script
from neocloud.engines.slurm.attempt import (
    SPEC,
    SUBMITTED,
    TRAVERSE,
    AttemptFacts,
    KillOrder,
    prepare_attempt_dir,
    utc,
    write_bytes_atomic,
    write_kill_order,
    write_text_atomic,
)
from neocloud.engines.slurm.cli import SlurmCli
from neocloud.engines.slurm.inventory import read_inventory
from neocloud.engines.slurm.options import SlurmOptions
from neocloud.engines.slurm.parse import (
    ACTIVE,
    NODE_FAILURES,
    WAITING,
    split_wait_status,
)
from neocloud.engines.slurm.report import (
    COMMAND_START_SECONDS,
    END_BEFORE_SLURM,
    START_AFTER_SLURM,
    end_reason,
    epoch,
    held_to_slurm,
    placement_of,
)
from neocloud.engines.tenant_users import (
    TenantIdentity,
    TenantUserError,
    TenantUsers,
    check_unprivileged,
    lookup,
)

KIND = "slurm"
# A SIGKILL already sent is repeated at most this often while the job lingers.
_KILL_REPEAT_SECONDS = 2.0


def job_name(job_id: str, attempt: int) -> str:
    """The Slurm job name of an attempt: how a repeated launch finds it."""
    return f"nc-{job_id}-{attempt}"


class SlurmEngine:
    """Runs job attempts as Slurm batch jobs on one Slurm cluster."""

    capabilities: frozenset[str] = frozenset({ADOPT_AFTER_RESTART, LOGS, GANGS})

    def __init__(
        self,
        cluster: str,
        options: SlurmOptions,
        nodes: Sequence[EngineNode],
        clock: Callable[[], float] = time.time,
        tenants: TenantUsers | None = None,
    ) -> None:
        self.name = f"{KIND}.{cluster}"
        self.cluster = cluster
        self.options = options
        self.cli = SlurmCli(options)
        self.cli.check_setup()
        self._nodes = {n.name: n for n in nodes}
        self._clock = clock
        self._lock = threading.Lock()
        self._listing: dict[str, dict[str, Any]] = {}
        self._listed_at: float | None = None
        self._accounting: bool | None = {"on": True, "off": False}.get(options.accounting)
        self._killed: dict[str, float] = {}
        self._tenants = tenants or TenantUsers(
            mapping=options.org_users, create=options.create_users
        )
        self.state_dir = options.state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=TRAVERSE)
        os.chmod(self.state_dir, TRAVERSE)

    # -- launch ------------------------------------------------------------------------------
    def launch(self, spec: LaunchSpec) -> EngineHandle:
        """Submit the attempt with sbatch; a repeated launch returns the job already submitted."""
        gpu_type = check_placement(spec, self._nodes, self.cluster)
        who = self.run_as(spec)
        try:
            workdir = working_dir_in_job(spec.working_dir)
        except ValueError as exc:
            raise EngineError(f"working_dir: {exc}") from None
        attempt_dir = self._attempt_dir(spec.job_id, spec.attempt)
        identity = _identity(spec)
        existing = jsonfiles.read_json(attempt_dir / SPEC)
        if existing is not None:
            if existing != identity:
                raise EngineError(
                    f"attempt {spec.job_id}/{spec.attempt} was already launched with another spec"
                )
            found = self._already_submitted(spec, attempt_dir)
            if found is not None:
                return self._handle(spec.job_id, spec.attempt, found)
        else:
            prepare_attempt_dir(attempt_dir, who, workdir, self.options.sandbox)
            jsonfiles.write_json_atomic(attempt_dir / SPEC, identity)
        sandbox = None
        if self.options.sandbox:
            sandbox = script.RankSandbox(
                str(self.options.bwrap), str(self.options.gpu_device_dir), workdir
            )
            env = script.job_env(spec, len(spec.placement), script.gpus_per_node(spec))
            # Readable by the org's user (its script hands it to bwrap), by no other.
            env_args = attempt_dir / script.ENV_ARGS
            write_bytes_atomic(env_args, setenv_args(env), mode=0o640)
            os.chown(env_args, os.geteuid(), who.gid)
        text = script.batch_script(
            spec,
            str(attempt_dir),
            gpu_type,
            self.cli.path("srun"),
            self.cli.path("scancel"),
            sandbox,
        )
        write_text_atomic(attempt_dir / script.SCRIPT, text, mode=0o700)
        out = self.cli.run("sbatch", *self._sbatch_args(spec, attempt_dir, gpu_type, who, workdir))
        slurm_id = out.strip().split(";")[0]
        if not slurm_id.isdigit():
            raise EngineError(f"sbatch --parsable printed {out.strip()!r}, not a job id")
        jsonfiles.write_json_atomic(attempt_dir / SUBMITTED, {"slurm_job_id": slurm_id})
        self._forget_listing()
        return self._handle(spec.job_id, spec.attempt, slurm_id)

    def run_as(self, spec: LaunchSpec) -> TenantIdentity:
        """The unprivileged user the attempt runs as; EngineError if there is no safe one."""
        try:
            if self.options.run_as_user is not None:
                found = lookup(self.options.run_as_user)
                if found is None:
                    raise TenantUserError(
                        f"engine_options.run_as_user: no OS user {self.options.run_as_user!r}"
                    )
                return check_unprivileged(found)
            return self._tenants.identity(spec.org_id)
        except TenantUserError as exc:
            raise EngineError(f"no unprivileged user to run the job as: {exc}") from None

    def _sbatch_args(
        self,
        spec: LaunchSpec,
        attempt_dir: Path,
        gpu_type: str,
        who: TenantIdentity,
        workdir: str,
    ) -> list[str]:
        if who.uid == 0 or who.gid == 0:  # checked where it is chosen; never reach sbatch
            raise EngineError("refusing to submit a job as root")
        nodes = [slot.node for slot in spec.placement]
        per_node = len(spec.placement[0].gpu_indices)
        # Slurm's own limit is only a backstop (minutes, checked about every 30 s): the engine
        # stops the attempt at its max runtime itself, to the second.
        minutes = math.ceil((spec.max_runtime_seconds + spec.grace_seconds) / 60) + 1
        args = [
            "--parsable",
            f"--job-name={job_name(spec.job_id, spec.attempt)}",
            f"--comment=neocloud {spec.job_id}/{spec.attempt}",
            f"--nodes={len(nodes)}",
            f"--nodelist={','.join(nodes)}",
            "--ntasks-per-node=1",
            f"--gres=gpu:{gpu_type}:{per_node}",
            f"--time={minutes}",
            # neocloud decides what happens after a node failure, not Slurm.
            "--no-requeue",
            # The control plane's environment (keys, database URLs) stays out of the job.
            "--export=NONE",
            # Slurm's own way to run the job as the org's user (needs root or SlurmUser).
            f"--uid={who.uid}",
            f"--gid={who.gid}",
            f"--output={attempt_dir / script.RUN / script.OUTPUT}",
            "--open-mode=append",
            # Sandboxed, the script stays in run/ and the job starts in /job/<workdir>.
            f"--chdir={attempt_dir / script.RUN / ('' if self.options.sandbox else workdir)}",
        ]
        if self.options.partition:
            args.append(f"--partition={self.options.partition}")
        if self.options.account:
            args.append(f"--account={self.options.account}")
        return [*args, str(attempt_dir / script.SCRIPT)]

    def _already_submitted(self, spec: LaunchSpec, attempt_dir: Path) -> str | None:
        """The Slurm job id of an attempt submitted before, if any trace of it exists."""
        record = jsonfiles.read_json(attempt_dir / SUBMITTED)
        if record is not None:
            return str(record["slurm_job_id"])
        facts = AttemptFacts.read(attempt_dir)
        if facts.slurm_job_id is not None:
            return facts.slurm_job_id
        # Submitted, then the control plane died before recording the id: find it by name.
        name = job_name(spec.job_id, spec.attempt)
        ids = [j for j, job in self._jobs(fresh=True).items() if job.get("name") == name]
        if not ids and self._accounting_usable():
            ids = [row["JobID"] for row in self._sacct("--name", name) if row["JobName"] == name]
        if not ids:
            return None
        found = max(ids, key=int)
        jsonfiles.write_json_atomic(attempt_dir / SUBMITTED, {"slurm_job_id": found})
        return found

    # -- poll --------------------------------------------------------------------------------
    def poll(self, handle: EngineHandle) -> EngineStatus:
        """The attempt's state from squeue, its own files and (once it left the queue) sacct."""
        job_id, attempt, slurm_id = self._parse(handle)
        attempt_dir = self._attempt_dir(job_id, attempt)
        facts = AttemptFacts.read(attempt_dir)
        job = self._jobs().get(slurm_id)
        if job is None:
            return self._left_queue(slurm_id, facts)
        state = str(job.get("job_state", "")).upper()
        if state in WAITING:
            return EngineStatus(EngineState.STARTING, reason=f"pending: {job.get('state_reason')}")
        if state in ACTIVE:
            # Until Slurm says the job is over, its GPUs are held, even once the script recorded
            # its exit: another job placed there now would only wait in Slurm's queue.
            started = held_to_slurm(
                facts.started_at, epoch(job.get("start_time")), 1.0, START_AFTER_SLURM
            )
            if facts.exit_status is None:
                self._enforce(slurm_id, attempt_dir, facts, started)
                if not facts.command_started and (
                    started is None or self._clock() - started < COMMAND_START_SECONDS
                ):
                    # Usage starts with the command, not with srun's launch of it.
                    return EngineStatus(EngineState.STARTING, reason="starting: srun is launching")
            return EngineStatus(
                EngineState.RUNNING, started_at=utc(started), placement=placement_of(job)
            )
        return self._ended(
            state,
            facts,
            start=epoch(job.get("start_time")),
            end=epoch(job.get("end_time")),
            wait_status=job.get("exit_code"),
            nodes=str(job.get("nodes") or ""),
        )

    def _ended(
        self,
        state: str,
        facts: AttemptFacts,
        start: float | None,
        end: float | None,
        wait_status: object,
        nodes: str,
        exit_code: tuple[int | None, int | None] | None = None,
    ) -> EngineStatus:
        """The end of an attempt Slurm reports as over, in the engine protocol's terms."""
        started = held_to_slurm(facts.started_at, start, 1.0, START_AFTER_SLURM)
        if facts.started_at is None and start is not None and end is not None and start >= end:
            # Slurm stamps a job cancelled while pending as started and ended at once.
            started = None
        if state in NODE_FAILURES:
            # The job's last sign of life, not the moment Slurm gave up on the node.
            last = facts.heartbeat_at or end or self._clock()
            ended = min(last, end) if end else last
            if started is not None:
                ended = max(ended, started)
            return EngineStatus(
                EngineState.LOST,
                started_at=utc(started),
                ended_at=utc(ended),
                reason=f"{NODE_FAILED}: Slurm ended the job with {state} (nodes {nodes})",
            )
        code: int | None
        sig: int | None
        if facts.exit_status is not None:
            # srun reports a task killed by a signal as 128 + the signal, which it cannot tell
            # apart from a command exiting with that code itself: kept as the exit code.
            code, sig = facts.exit_status, None
            ended_at = held_to_slurm(facts.ended_at, end, END_BEFORE_SLURM, 1.0)
        else:
            if exit_code is not None:
                code, sig = exit_code
            elif isinstance(wait_status, int):
                code, sig = split_wait_status(wait_status)
            else:
                code, sig = None, None
            ended_at = end
        if started is None:
            # Never ran (cancelled while pending, or refused at start).
            ended_at = ended_at or self._clock()
        elif ended_at is not None:
            ended_at = max(ended_at, started)
        return EngineStatus(
            EngineState.EXITED,
            exit_code=code,
            signal=sig,
            started_at=utc(started),
            ended_at=utc(ended_at),
            reason=end_reason(state, facts),
        )

    def _left_queue(self, slurm_id: str, facts: AttemptFacts) -> EngineStatus:
        """An attempt squeue no longer lists: sacct if accounting is on, else its own files."""
        if self._accounting_usable():
            for row in self._sacct("--jobs", slurm_id):
                if row["JobID"] == slurm_id:
                    code, _, sig = row["ExitCode"].partition(":")
                    return self._ended(
                        row["State"].split()[0].upper(),
                        facts,
                        start=epoch(row["Start"]),
                        end=epoch(row["End"]),
                        wait_status=None,
                        nodes=row["NodeList"],
                        exit_code=(
                            int(code) if code.isdigit() and not int(sig or 0) else None,
                            int(sig) if sig.isdigit() and int(sig) else None,
                        ),
                    )
        if facts.exit_status is not None:
            return self._ended("COMPLETED", facts, None, None, None, "")
        if facts.started_at is not None:
            last = max(facts.heartbeat_at or facts.started_at, facts.started_at)
            return EngineStatus(
                EngineState.LOST,
                started_at=utc(facts.started_at),
                ended_at=utc(last),
                reason=f"lost: Slurm job {slurm_id} left the queue without recording an exit",
            )
        return EngineStatus(
            EngineState.LOST, reason=f"not_found: Slurm has no job {slurm_id} and it never started"
        )

    def _enforce(
        self, slurm_id: str, attempt_dir: Path, facts: AttemptFacts, started: float | None
    ) -> None:
        """Stop a running attempt at its max runtime; SIGKILL it once its grace is over."""
        now = self._clock()
        kill = facts.kill
        if kill is None and started is not None:
            spec = jsonfiles.read_json(attempt_dir / SPEC) or {}
            limit = spec.get("max_runtime_seconds")
            if isinstance(limit, int) and now >= started + limit:
                grace = int(spec.get("grace_seconds", 0))
                self._stop(slurm_id, attempt_dir, grace, MAX_RUNTIME_EXCEEDED)
            return
        if kill is not None and now >= kill.at:
            last = self._killed.get(slurm_id)
            if last is None or now - last >= _KILL_REPEAT_SECONDS:
                self._killed[slurm_id] = now
                self._signal(slurm_id, "KILL")

    # -- cancel ------------------------------------------------------------------------------
    def cancel(self, handle: EngineHandle, grace_seconds: int) -> None:
        """SIGTERM the job's tasks now; SIGKILL follows after the grace (engine-enforced)."""
        if grace_seconds < 0:
            raise ValueError(f"grace_seconds must be >= 0, got {grace_seconds}")
        job_id, attempt, slurm_id = self._parse(handle)
        self._stop(slurm_id, self._attempt_dir(job_id, attempt), grace_seconds, CANCELLED)

    def _stop(self, slurm_id: str, attempt_dir: Path, grace: int, reason: str) -> None:
        facts = AttemptFacts.read(attempt_dir)
        if facts.exit_status is not None:
            return
        now = self._clock()
        order = KillOrder(now + grace, reason)
        if facts.kill is not None:
            # A later stop may shorten the grace, never extend it; the first cause stays.
            order = KillOrder(min(facts.kill.at, order.at), facts.kill.reason)
        # Written before any signal: the deadline must outlive this process.
        write_kill_order(attempt_dir, order)
        job = self._jobs(fresh=True).get(slurm_id)
        state = str(job.get("job_state", "")).upper() if job else ""
        if state in WAITING:
            # Nothing runs yet, so there is no one to notify: take it out of the queue.
            self._scancel(slurm_id)
        elif state in ACTIVE:
            self._signal(slurm_id, "KILL" if order.at <= now else "TERM")
        self._forget_listing()

    def _signal(self, slurm_id: str, sig: str) -> None:
        """Signal the job's steps (the tasks of the command on every node), not its script."""
        self._scancel(f"--signal={sig}", slurm_id)

    def _scancel(self, *args: str) -> None:
        try:
            self.cli.run("scancel", *args)
        except EngineUnavailable:
            raise
        except EngineError as exc:
            # Ended meanwhile, or no step running yet (the script then sees kill_at itself).
            text = str(exc).lower()
            if not any(
                w in text for w in ("already completing", "invalid job id", "no active", "step")
            ):
                raise

    # -- logs, inventory -----------------------------------------------------------------------
    def logs(self, handle: EngineHandle, offset: int, limit: int) -> LogChunk:
        """Up to `limit` bytes of the attempt's output file from byte `offset`."""
        check_window(offset, limit)
        job_id, attempt, _ = self._parse(handle)
        try:
            ended = self.poll(handle).state.terminal
        except EngineUnavailable:
            ended = False
        path = self._attempt_dir(job_id, attempt) / script.RUN / script.OUTPUT
        return chunk_of_file(path, offset, limit, ended)

    def inventory(self) -> list[EngineNode]:
        """Every node of the partition (all partitions if none is set) from `sinfo --json`."""
        return read_inventory(self.cli, self.options.partition)

    def close(self) -> None:
        """Nothing to release: Slurm keeps running the work."""
        self._forget_listing()

    # -- helpers ------------------------------------------------------------------------------
    def _jobs(self, fresh: bool = False) -> dict[str, dict[str, Any]]:
        """Slurm's jobs by id, from one `squeue --json` listing shared for a short while."""
        with self._lock:
            now = time.monotonic()
            if (
                fresh
                or self._listed_at is None
                or now - self._listed_at >= self.options.poll_cache_seconds
            ):
                document = self.cli.run_json("squeue")
                self._listing = {str(j["job_id"]): j for j in document.get("jobs", [])}
                self._listed_at = now
            return self._listing

    def _forget_listing(self) -> None:
        with self._lock:
            self._listed_at = None

    def _accounting_usable(self) -> bool:
        """True when sacct answers (asked once under `accounting: auto`)."""
        if self._accounting is None:
            try:
                self.cli.run("sacct", "-n", "-X", "-j", "1", "-o", "JobID")
                self._accounting = True
            except EngineUnavailable:
                return False
            except EngineError:
                self._accounting = False
        return self._accounting

    def _sacct(self, *select: str) -> list[dict[str, str]]:
        """Rows of `sacct` (allocations only) with the fields the engine reads."""
        fields = ["JobID", "JobName", "State", "ExitCode", "Start", "End", "NodeList"]
        out = self.cli.run(
            "sacct", "-n", "-X", "-P", "--starttime=now-60days", "-o", ",".join(fields), *select
        )
        return [dict(zip(fields, line.split("|"), strict=False)) for line in out.splitlines()]

    def _attempt_dir(self, job_id: str, attempt: int) -> Path:
        check_id(job_id, "job id")
        return self.state_dir / job_id / str(attempt)

    def _handle(self, job_id: str, attempt: int, slurm_id: str) -> EngineHandle:
        return EngineHandle(self.name, f"{job_id}/{attempt}/{slurm_id}")

    def _parse(self, handle: EngineHandle) -> tuple[str, int, str]:
        """(job id, attempt, Slurm job id) from a handle this engine issued."""
        if handle.engine != self.name:
            raise EngineError(f"handle of engine {handle.engine!r} given to {self.name}")
        parts = handle.id.split("/")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            raise EngineError(f"malformed Slurm handle id {handle.id!r}")
        return parts[0], int(parts[1]), parts[2]


def _identity(spec: LaunchSpec) -> dict[str, Any]:
    """What defines an attempt; a second launch must match it exactly."""
    return {
        "job_id": spec.job_id,
        "attempt": spec.attempt,
        "command": list(spec.command),
        "env": dict(spec.env),
        "working_dir": spec.working_dir,
        "placement": [{"node": s.node, "gpu_indices": list(s.gpu_indices)} for s in spec.placement],
        "max_runtime_seconds": spec.max_runtime_seconds,
        "grace_seconds": spec.grace_seconds,
    }
