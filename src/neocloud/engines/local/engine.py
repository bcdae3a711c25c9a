"""The embedded engine: each job attempt runs on this machine as its own process group.

On a laptop the declared nodes are virtual: they all run on localhost, and a slot's GPU indices
reach the job as `CUDA_VISIBLE_DEVICES`. All state lives in files under `state_dir` (see
`local.attempt`), so a new engine over the same directory adopts the attempts of an old one.

Isolation (`isolation=`): with "sandbox" each rank runs in a bubblewrap sandbox (`sandbox`) as
its org's own unprivileged OS user (`tenant_users`; as the control plane's own user when it is
not root), and sees its attempt's directory at /job, nothing else of the machine but read-only
system files and its own GPUs' device files. The runner stays outside and alone writes the
attempt's fact files, in a directory the job can neither see nor reach. The sandbox's network
is chosen per node (`networks`, from its cluster's engine_options; `local.network`): by default
an external org's rank has only its own loopback and an internal org's shares the machine's.
With "none" the job runs as the control plane's own user and sees everything it sees, the
machine's network included: for trusted work only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import neocloud
from neocloud.domain.jobs import JOB_DIR, working_dir_in_job
from neocloud.engines import sandbox as sandboxes
from neocloud.engines.base import (
    ADOPT_AFTER_RESTART,
    GANGS,
    LOGS,
    EngineConfigError,
    EngineError,
    EngineHandle,
    EngineNode,
    EngineState,
    EngineStatus,
    LaunchSpec,
    LogChunk,
)
from neocloud.engines.local import attempt as files
from neocloud.engines.local import procfs
from neocloud.engines.local.network import EXTERNAL_ORG, INTERNAL_ORG, LocalNetwork
from neocloud.engines.log_chunks import check_window, chunk_of_file
from neocloud.engines.placement import check_id, check_placement
from neocloud.engines.tenant_users import TenantIdentity, TenantUserError, TenantUsers
from neocloud.scheduler.model import GpuSlot

NAME = "local"
# The only variables of the control plane's environment a job sees; the rest (API keys,
# database URLs) stays out. The job's own env and the NEOCLOUD_* variables come on top.
BASE_ENV_KEYS = ("PATH", "HOME", "LANG")
SANDBOX = "sandbox"
NO_ISOLATION = "none"
ISOLATIONS = (SANDBOX, NO_ISOLATION)
# The attempt's own directory inside its attempt directory (sandbox only): the job's /job.
WORK = "work"
# An adopted attempt with a spec but no runner.json after this long never got its runner.
STARTUP_TIMEOUT_SECONDS = 60.0

# Fields of spec.json that define the attempt; a second launch must match them exactly.
_IDENTITY_KEYS = (
    "job_id",
    "attempt",
    "command",
    "env",
    "working_dir",
    "placement",
    "max_runtime_seconds",
    "grace_seconds",
)


class LocalEngine:
    """Runs job attempts as local process groups, one supervising runner per attempt."""

    name: str = NAME
    capabilities: frozenset[str] = frozenset({ADOPT_AFTER_RESTART, LOGS, GANGS})

    def __init__(
        self,
        state_dir: Path,
        nodes: Sequence[EngineNode],
        *,
        isolation: str = NO_ISOLATION,
        device_dir: Path = Path("/dev"),
        tenant_users: TenantUsers | None = None,
        networks: Mapping[str, LocalNetwork] | None = None,
    ) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"node names must be unique: {names}")
        # Each node's network choice (its cluster's); a node not named gets the default.
        self._networks = dict(networks or {})
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}")
        self.isolation = isolation
        self.device_dir = Path(device_dir)
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=files.DIR_MODE)
        self._nodes = {n.name: n for n in nodes}
        # Only root can run work as other users; without root the sandbox runs as our own uid.
        self._as_tenants = isolation == SANDBOX and os.geteuid() == 0
        self._tenant_users = tenant_users or TenantUsers()
        self._programs: dict[str, str] = {}
        if isolation == SANDBOX:
            self._programs = _sandbox_programs(self._as_tenants, self._own_network_needed(names))
            # Job users must not even traverse it (it may pre-date this engine with wider modes).
            os.chmod(self.state_dir, files.DIR_MODE)
            if self._as_tenants:
                sandboxes.MOUNT_POINT.mkdir(parents=True, exist_ok=True, mode=0o755)
        # Runners this engine started, by pid. They are our children, so we reap them
        # (waitpid, non-blocking) on every call. Double-forking instead would hand them to
        # PID 1, which in containers is often not an init that reaps; a zombie runner would
        # then linger forever. Runners of a previous control-plane process were reparented
        # when it died and are not ours to reap; `procfs` treats zombies as not alive.
        self._runners: dict[str, int] = {}
        # Attempts whose runner we reaped before it wrote runner.json: they will never start.
        self._died_starting: set[str] = set()

    def launch(self, spec: LaunchSpec) -> EngineHandle:
        """Start the attempt's runner; a repeated launch of the same attempt returns its handle."""
        self._reap()
        check_placement(spec, self._nodes, "local")
        handle = EngineHandle(NAME, f"{spec.job_id}/{spec.attempt}")
        attempt_dir = self._attempt_dir(handle)
        doc = self._spec_document(spec)
        existing = files.read_json(attempt_dir / files.SPEC)
        if existing is not None:
            # Idempotent: a control loop that crashed after launching must not start it twice.
            if {k: existing.get(k) for k in _IDENTITY_KEYS} != {k: doc[k] for k in _IDENTITY_KEYS}:
                raise EngineError(f"attempt {handle.id} was already launched with another spec")
            return handle
        attempt_dir.parent.mkdir(exist_ok=True, mode=files.DIR_MODE)
        attempt_dir.mkdir(exist_ok=True, mode=files.DIR_MODE)
        if self.isolation == SANDBOX:
            self._make_work_dir(attempt_dir, spec)
        elif doc["working_dir"] is not None and Path(doc["working_dir"]).is_relative_to(
            attempt_dir
        ):
            Path(doc["working_dir"]).mkdir(parents=True, exist_ok=True, mode=files.DIR_MODE)
        files.write_json_atomic(attempt_dir / files.SPEC, doc)
        self._runners[handle.id] = self._spawn_runner(attempt_dir)
        return handle

    def poll(self, handle: EngineHandle) -> EngineStatus:
        """Read the attempt's files: recorded exit, live runner, starting, or lost."""
        self._reap()
        attempt_dir = self._attempt_dir(handle)
        if not (attempt_dir / files.SPEC).exists():
            return EngineStatus(EngineState.LOST, reason=f"not_found: no attempt {handle.id}")
        ended = _exited(attempt_dir)
        if ended is not None:
            return ended
        runner = files.read_json(attempt_dir / files.RUNNER)
        if runner is not None and _runner_alive(runner):
            return EngineStatus(
                EngineState.RUNNING, started_at=files.parse_iso(runner["started_at"])
            )
        if runner is None and self._may_still_start(handle, attempt_dir):
            return EngineStatus(EngineState.STARTING)
        # The runner may have recorded its end and exited between the reads above.
        ended = _exited(attempt_dir)
        if ended is not None:
            return ended
        if runner is None:
            return EngineStatus(EngineState.LOST, reason="lost: runner never started")
        return _vanished(attempt_dir, runner)

    def cancel(self, handle: EngineHandle, grace_seconds: int) -> None:
        """Record the kill deadline, then SIGTERM the runner, which enforces the deadline."""
        if grace_seconds < 0:
            raise ValueError(f"grace_seconds must be >= 0, got {grace_seconds}")
        self._reap()
        attempt_dir = self._attempt_dir(handle)
        if not (attempt_dir / files.SPEC).exists() or (attempt_dir / files.EXIT).exists():
            return
        now = datetime.now(UTC)
        kill_at = now + timedelta(seconds=grace_seconds)
        previous = files.read_json(attempt_dir / files.CANCEL)
        if previous is None or files.parse_iso(previous["kill_at"]) > kill_at:
            # Written before the signal: the deadline must survive this process dying right after.
            files.write_json_atomic(
                attempt_dir / files.CANCEL,
                {
                    "requested_at": now.isoformat(),
                    "grace_seconds": grace_seconds,
                    "kill_at": kill_at.isoformat(),
                },
            )
        runner = files.read_json(attempt_dir / files.RUNNER)
        # A runner still starting finds cancel.json itself; a dead one has nothing to signal,
        # and signalling an unverified pid could hit an unrelated process after pid reuse.
        if runner is not None and _runner_alive(runner):
            with contextlib.suppress(ProcessLookupError):
                os.kill(runner["pid"], signal.SIGTERM)

    def logs(self, handle: EngineHandle, offset: int, limit: int) -> LogChunk:
        """Up to `limit` bytes of the attempt's output from byte `offset`."""
        check_window(offset, limit)
        # Decide "ended" before reading: output written before the end is then surely included.
        ended = self.poll(handle).state.terminal
        path = self._attempt_dir(handle) / files.OUTPUT
        return chunk_of_file(path, offset, limit, ended)

    def inventory(self) -> list[EngineNode]:
        """The declared nodes; they are all this machine, so they are up while it runs."""
        return list(self._nodes.values())

    def close(self) -> None:
        """Reap finished runners and forget the rest; running attempts keep running."""
        self._reap()
        self._runners.clear()

    def _spec_document(self, spec: LaunchSpec) -> dict[str, Any]:
        """spec.json: the attempt as launched, plus each rank's complete environment."""
        base = {k: os.environ[k] for k in BASE_ENV_KEYS if k in os.environ}
        sandboxed = self.isolation == SANDBOX
        working_dir = ""
        identity: TenantIdentity | None = None
        if sandboxed:
            # Nothing of the control plane's paths exists in the sandbox.
            base.update(PATH=sandboxes.SANDBOX_PATH, HOME=JOB_DIR)
            working_dir = self._working_dir(spec)
            identity = self._identity(spec)
        ranks = []
        for rank, slot in enumerate(spec.placement):
            env = {**base, **spec.env}
            # Only the attempt's own GPUs' device files exist in a sandbox, and CUDA numbers
            # the GPUs it can open from 0; outside one, the machine's indices select them.
            visible = range(len(slot.gpu_indices)) if sandboxed else slot.gpu_indices
            # Set last so a job cannot spoof its own identity or devices.
            env.update(
                {
                    "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in visible),
                    "NEOCLOUD_GPU_INDICES": ",".join(str(i) for i in slot.gpu_indices),
                    "NEOCLOUD_JOB_ID": spec.job_id,
                    "NEOCLOUD_ATTEMPT": str(spec.attempt),
                    "NEOCLOUD_GPUS": str(len(slot.gpu_indices)),
                    "NEOCLOUD_NODE_NAME": slot.node,
                    "NEOCLOUD_NODE_RANK": str(rank),
                    "NEOCLOUD_NUM_NODES": str(len(spec.placement)),
                }
            )
            entry: dict[str, Any] = {"rank": rank, "node": slot.node, "env": env}
            if sandboxed:
                entry["sandbox"] = self._sandbox(spec, slot, working_dir, identity)
            ranks.append(entry)
        return {
            "job_id": spec.job_id,
            "attempt": spec.attempt,
            "command": list(spec.command),
            "env": dict(spec.env),
            "working_dir": working_dir if sandboxed else self._unboxed_working_dir(spec),
            "placement": [
                {"node": s.node, "gpu_indices": list(s.gpu_indices)} for s in spec.placement
            ],
            "max_runtime_seconds": spec.max_runtime_seconds,
            "grace_seconds": spec.grace_seconds,
            "isolation": self.isolation,
            "ranks": ranks,
        }

    def _unboxed_working_dir(self, spec: LaunchSpec) -> str | None:
        """Without a sandbox: a path inside the job's directory (as the API gives them) is taken
        in the attempt directory; an absolute one elsewhere (only a trusted caller of the engine
        itself can give one) is used as it is."""
        if spec.working_dir is None:
            return None
        inside_job = spec.working_dir == JOB_DIR or spec.working_dir.startswith(JOB_DIR + "/")
        if spec.working_dir.startswith("/") and not inside_job:
            return spec.working_dir
        inside = self._working_dir(spec)
        return str(self._attempt_dir_of_id(f"{spec.job_id}/{spec.attempt}") / inside)

    def _working_dir(self, spec: LaunchSpec) -> str:
        """The sandboxed job's working dir relative to /job (the API checked it; so do we)."""
        try:
            return working_dir_in_job(spec.working_dir)
        except ValueError as exc:
            raise EngineError(f"working_dir {spec.working_dir!r} refused: {exc}") from exc

    def _identity(self, spec: LaunchSpec) -> TenantIdentity | None:
        """The org's OS user when we run as root; None (our own user) otherwise."""
        if not self._as_tenants:
            return None
        if not spec.org_id:
            raise EngineError("a sandboxed attempt needs the org it runs for (LaunchSpec.org_id)")
        try:
            return self._tenant_users.identity(spec.org_id)
        except TenantUserError as exc:
            raise EngineError(f"no OS user for org {spec.org_id}: {exc}") from exc

    def _sandbox(
        self,
        spec: LaunchSpec,
        slot: GpuSlot,
        working_dir: str,
        identity: TenantIdentity | None,
    ) -> dict[str, Any]:
        """One rank's sandbox, as the runner will build it."""
        attempt_dir = self._attempt_dir_of_id(f"{spec.job_id}/{spec.attempt}")
        return sandboxes.Sandbox(
            bwrap=self._programs["bwrap"],
            work_dir=str(attempt_dir / WORK),
            working_dir=working_dir,
            devices=tuple(sandboxes.gpu_device_files(self.device_dir, slot.gpu_indices)),
            uid=identity.uid if identity else None,
            gid=identity.gid if identity else None,
            setpriv=self._programs.get("setpriv"),
            unshare=self._programs.get("unshare"),
            host_network=self._network(slot.node).shares_host(spec.org_kind),
        ).to_json()

    def _network(self, node: str) -> LocalNetwork:
        """The network choice of the cluster this node belongs to."""
        return self._networks.get(node, LocalNetwork())

    def _own_network_needed(self, nodes: Sequence[str]) -> bool:
        """Whether some attempt here may get a network namespace of its own."""
        choices = [self._network(n) for n in nodes] or [LocalNetwork()]
        return not all(c.shares_host(INTERNAL_ORG) and c.shares_host(EXTERNAL_ORG) for c in choices)

    def _make_work_dir(self, attempt_dir: Path, spec: LaunchSpec) -> None:
        """The job's own directory, owned by its org's user (readable by nobody else)."""
        work = attempt_dir / WORK
        work.mkdir(mode=files.DIR_MODE, exist_ok=True)
        identity = self._identity(spec)
        if identity is not None:
            os.chown(work, identity.uid, identity.gid)

    def _spawn_runner(self, attempt_dir: Path) -> int:
        """Start the runner as leader of a new session (hence its own process group)."""
        if not sys.executable:
            raise EngineError("cannot find the Python interpreter to start the runner")
        env = dict(os.environ)
        # The runner must import this very neocloud, installed or not.
        package_root = str(Path(neocloud.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        # -P: the control plane's working directory must not shadow the package on sys.path.
        argv = [sys.executable, "-P", "-m", "neocloud.engines.local.runner", str(attempt_dir)]
        runner_log = str(attempt_dir / files.RUNNER_LOG)
        try:
            # posix_spawn rather than Popen: we keep only the pid and reap it ourselves, and a
            # dropped Popen of a live child complains when garbage-collected.
            return os.posix_spawn(
                sys.executable,
                argv,
                env,
                setsid=True,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (
                        os.POSIX_SPAWN_OPEN,
                        1,
                        runner_log,
                        os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                        files.FILE_MODE,
                    ),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                ],
            )
        except OSError as exc:
            raise EngineError(f"cannot start the local runner: {exc}") from exc

    def _reap(self) -> None:
        """Collect exited runners of this engine so none lingers as a zombie."""
        for key, pid in list(self._runners.items()):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                del self._runners[key]
                if not (self._attempt_dir_of_id(key) / files.RUNNER).exists():
                    self._died_starting.add(key)

    def _may_still_start(self, handle: EngineHandle, attempt_dir: Path) -> bool:
        """True while an attempt without runner.json may yet get its runner going."""
        if handle.id in self._runners:
            return True
        if handle.id in self._died_starting:
            return False
        spec_written = files.mtime(attempt_dir / files.SPEC)
        if spec_written is None:
            return False
        age = (datetime.now(UTC) - spec_written).total_seconds()
        return age < STARTUP_TIMEOUT_SECONDS

    def _attempt_dir(self, handle: EngineHandle) -> Path:
        """`<state_dir>/<job_id>/<attempt>` for a handle of this engine (checked, no traversal)."""
        if handle.engine != NAME:
            raise EngineError(f"handle of engine {handle.engine!r} given to the local engine")
        job_id, sep, attempt = handle.id.rpartition("/")
        if not sep or not attempt.isdigit():
            raise EngineError(f"malformed local handle id {handle.id!r}")
        check_id(job_id, "handle job id")
        return self._attempt_dir_of_id(f"{job_id}/{int(attempt)}")

    def _attempt_dir_of_id(self, handle_id: str) -> Path:
        """The attempt directory of an already checked handle id."""
        return self.state_dir / handle_id


def _sandbox_programs(as_tenants: bool, own_network: bool) -> dict[str, str]:
    """The programs the sandbox needs, checked to work here; EngineConfigError says the fix."""
    needed = {"bwrap": "apt-get install bubblewrap"}
    if as_tenants:
        needed.update(setpriv="apt-get install util-linux", unshare="apt-get install util-linux")
    found: dict[str, str] = {}
    for name, fix in needed.items():
        path = sandboxes.find_program(name)
        if path is None:
            raise EngineConfigError(
                f"the local engine's sandbox needs {name}, which is not installed: {fix} "
                "(or declare the local cluster with isolation: none, for trusted work only)"
            )
        found[name] = path
    probe = sandboxes.probe_command(found.get("setpriv"), found["bwrap"], own_network)
    done = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=30)
    if done.returncode != 0:
        raise EngineConfigError(
            "the local engine's sandbox does not work on this machine (bubblewrap needs "
            f"unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1): "
            f"{done.stderr.strip()}"
        )
    return found


def _runner_alive(runner: dict[str, Any]) -> bool:
    """The runner of runner.json still runs (same pid AND same start time: no pid reuse)."""
    start = runner.get("start_time")
    return start is not None and procfs.is_same_process_alive(int(runner["pid"]), int(start))


def _exited(attempt_dir: Path) -> EngineStatus | None:
    """The recorded end from exit.json, or None if none was recorded."""
    record = files.read_json(attempt_dir / files.EXIT)
    if record is None:
        return None
    runner = files.read_json(attempt_dir / files.RUNNER)
    return EngineStatus(
        EngineState.EXITED,
        exit_code=record["exit_code"],
        signal=record["signal"],
        started_at=files.parse_iso(runner["started_at"]) if runner else None,
        ended_at=files.parse_iso(record["ended_at"]),
        reason=record["reason"],
    )


def _vanished(attempt_dir: Path, runner: dict[str, Any]) -> EngineStatus:
    """An attempt whose runner died without recording an end: lost, ended at the last beat."""
    started_at = files.parse_iso(runner["started_at"])
    beat = files.mtime(attempt_dir / files.HEARTBEAT) or started_at
    # File times come from a coarser clock than started_at; keep start <= end <= now.
    ended_at = min(max(beat, started_at), datetime.now(UTC))
    return EngineStatus(
        EngineState.LOST,
        started_at=started_at,
        ended_at=ended_at,
        reason="lost: runner ended without recording an exit",
    )
