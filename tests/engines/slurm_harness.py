"""A real Slurm cluster for the tests: two nodes × 8 fake H100 on this host, in a temp directory.

munged, slurmctld and two slurmd (n1, n2) bound to 127.0.0.1 on free ports; fake GPU device files
are symlinks to /dev/null, so Slurm sets CUDA_VISIBLE_DEVICES from their indices as on real GPUs.
Everything is stopped by PID. See ../shared/ENGINES.md for the facts this relies on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

SBIN = ("munged", "slurmctld", "slurmd")
BIN = ("sbatch", "squeue", "scancel", "sinfo", "scontrol")
MUNGE_KEY = Path("/etc/munge/munge.key")
GPUS_PER_NODE = 8
GPU_TYPE = "h100"


def missing() -> str | None:
    """Why a Slurm cluster cannot be started here, or None if it can."""
    absent = [name for name in (*SBIN, *BIN) if shutil.which(name) is None]
    if absent:
        names = ", ".join(absent)
        return f"Slurm is not installed (missing {names}; apt-get install slurm-wlm munge)"
    if not MUNGE_KEY.exists():
        return f"munge has no key at {MUNGE_KEY} (apt-get install munge creates it)"
    if os.geteuid() != 0:
        return "the Slurm test cluster runs its daemons as root"
    return None


def reachable(path: Path) -> Path:
    """Let jobs (unprivileged users) pass through `path` and every directory above it (never
    list them)."""
    resolved = path.resolve()
    for directory in (resolved, *resolved.parents):
        if directory.exists():
            mode = directory.stat().st_mode
            if not mode & 0o001:
                os.chmod(directory, (mode & 0o7777) | 0o001)
    return path


def open_to_jobs(path: Path) -> Path:
    """A directory every job may write its observations into (sticky, like /tmp)."""
    reachable(path)
    os.chmod(path, 0o1777)
    return path


# The Python that test jobs run: theirs is an unprivileged user's, who may not reach the control
# plane's own interpreter (a virtual environment under a private home, say).
JOB_PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"

# The org the engine tests' Slurm jobs belong to: they run as its unprivileged user.
TEST_ORG = "org-slurm-engine-tests"


def job_space_dir(prefix: str = "neocloud-slurm-jobs-") -> Path:
    """A new directory jobs can pass through, outside pytest's temp root (which pytest keeps
    private to its user, and re-closes whenever another session starts)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o711)
    return path


@pytest.fixture
def job_space() -> Iterator[Path]:
    """This test's directory for what its Slurm jobs must reach."""
    path = job_space_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def state_dir(job_space: Path) -> Path:
    """Where the engine keeps its attempt directories, reachable by the jobs' users."""
    return job_space / "engine-state"


@pytest.fixture
def workdir(job_space: Path) -> Path:
    """A directory every job may write its observations into."""
    path = job_space / "work"
    path.mkdir()
    return open_to_jobs(path)


@pytest.fixture
def spec_defaults() -> dict[str, Any]:
    """Slurm jobs run in their own directory as their org's user (never root)."""
    return {"working_dir": None, "org_id": TEST_ORG, "org_kind": "external"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


class SlurmCluster:
    """Start, break, repair and stop a two-node Slurm cluster."""

    def __init__(self, nodes: Sequence[str] = ("n1", "n2"), run_dir: Path | None = None) -> None:
        self.nodes = tuple(nodes)
        self.run = Path(run_dir or tempfile.mkdtemp(prefix="neocloud-slurm-"))
        self.conf = self.run / "etc" / "slurm.conf"
        self.host = socket.gethostname().split(".")[0]
        self.ctld_port = _free_port()
        self.node_ports = {n: _free_port() for n in self.nodes}
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._munged: int | None = None
        self.min_job_age = 600

    def job_space(self, name: str) -> Path:
        """A new directory under the run dir that the jobs' users can pass through (pytest's
        temp root is private to root): for attempt directories and what jobs report."""
        jobs = self.run / "jobs"
        jobs.mkdir(exist_ok=True, mode=0o711)
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=jobs))
        os.chmod(path, 0o711)
        return path

    # -- configuration ---------------------------------------------------------------------
    def write_config(self) -> None:
        """slurm.conf and gres.conf for the nodes; state, spool and logs under the run dir."""
        for sub in ("etc", "munge", "state", "log", "fakedev", *(f"spool/{n}" for n in self.nodes)):
            (self.run / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.run / "munge", 0o755)
        # Jobs run as unprivileged users: their srun and scancel read the configuration and
        # reach munge through the run dir, which they may pass through but not list.
        os.chmod(self.run, 0o711)
        os.chmod(self.run / "etc", 0o755)
        for i in range(GPUS_PER_NODE):
            dev = self.run / "fakedev" / f"nvidia{i}"
            if not dev.is_symlink():
                dev.symlink_to("/dev/null")
        r = self.run
        lines = [
            "ClusterName=neocloudtest",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            "SlurmUser=root",
            f"SlurmctldPort={self.ctld_port}",
            "AuthType=auth/munge",
            f"AuthInfo=socket={r}/munge/munge.socket",
            "CredType=cred/munge",
            f"StateSaveLocation={r}/state",
            f"SlurmdSpoolDir={r}/spool/%n",
            f"SlurmctldPidFile={r}/slurmctld.pid",
            f"SlurmdPidFile={r}/slurmd-%n.pid",
            f"SlurmctldLogFile={r}/log/slurmctld.log",
            f"SlurmdLogFile={r}/log/slurmd-%n.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            *self.accounting_config(),
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "GresTypes=gpu",
            "ReturnToService=2",
            "MpiDefault=none",
            # Sixteen CPUs per node whatever this machine has: jobs need one each, GPUs are
            # what neocloud places.
            "SlurmdParameters=config_overrides",
            "MailProg=/bin/true",
            # A dead node is noticed within seconds rather than the default five minutes.
            "SlurmdTimeout=4",
            "KillWait=2",
            "MessageTimeout=5",
            "SchedulerParameters=sched_interval=1",
            # How long squeue lists a finished job.
            f"MinJobAge={self.min_job_age}",
        ]
        for n in self.nodes:
            lines.append(
                f"NodeName={n} NodeHostname={self.host} NodeAddr=127.0.0.1 "
                f"Port={self.node_ports[n]} CPUs=16 RealMemory=1000 "
                f"Gres=gpu:{GPU_TYPE}:{GPUS_PER_NODE} State=UNKNOWN"
            )
        lines.append(
            f"PartitionName=gpu Nodes={','.join(self.nodes)} Default=YES MaxTime=INFINITE State=UP"
        )
        self.conf.write_text("\n".join(lines) + "\n")
        (self.run / "etc" / "gres.conf").write_text(
            "AutoDetect=off\n"
            f"NodeName={','.join(self.nodes)} Name=gpu Type={GPU_TYPE} "
            f"File={r}/fakedev/nvidia[0-{GPUS_PER_NODE - 1}]\n"
        )

    def accounting_config(self) -> list[str]:
        """slurm.conf lines for accounting: none here (sacct is disabled), a job-completion file."""
        return [
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={self.run}/jobcomp.txt",
        ]

    # -- daemons ---------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> SlurmCluster:
        """Start munged, slurmctld and every slurmd; return once all nodes are idle.

        A start that fails part-way stops what it started: no daemon outlives its test run.
        """
        try:
            self.write_config()
            self._start_munged()
            self.start_accounting()
            self.start_controller()
            for n in self.nodes:
                self.start_node(n)
            self.wait_nodes_up(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_accounting(self) -> None:
        """Start what accounting needs before the controller (nothing without accounting)."""

    def stop_accounting(self) -> None:
        """Stop what start_accounting() started."""

    def _start_munged(self) -> None:
        key = self.run / "munge" / "munge.key"
        shutil.copyfile(MUNGE_KEY, key)
        os.chmod(key, 0o600)
        m = self.run / "munge"
        subprocess.run(
            [
                "munged",
                "--force",
                f"--socket={m}/munge.socket",
                f"--key-file={key}",
                f"--log-file={m}/munged.log",
                f"--pid-file={m}/munged.pid",
                f"--seed-file={m}/munged.seed",
            ],
            check=True,
            capture_output=True,
        )
        self._munged = self._wait_pid(m / "munged.pid")

    def start_controller(self) -> None:
        """Start slurmctld, keeping the saved job state (as after a controller restart)."""
        subprocess.run(["slurmctld"], env=self.env, check=True, capture_output=True)
        self._wait_pid(self.run / "slurmctld.pid")

    def stop_controller(self) -> None:
        """Stop slurmctld: the controller is unreachable until start_controller().

        SIGTERM, so it saves its job state first: a controller killed before its periodic save
        forgets recent jobs and, on restart, kills them as duplicates (Slurm's own behaviour).
        """
        self._kill_pidfile(self.run / "slurmctld.pid", signal.SIGTERM)

    def start_node(self, node: str) -> None:
        """Start the slurmd of one node."""
        subprocess.run(["slurmd", "-N", node], env=self.env, check=True, capture_output=True)
        self._wait_pid(self.run / f"slurmd-{node}.pid")

    def kill_node(self, node: str, job_ids: Sequence[str] = ()) -> None:
        """The machine dies: SIGKILL its slurmd and the job steps (slurmstepd) it ran."""
        self._kill_pidfile(self.run / f"slurmd-{node}.pid", signal.SIGKILL)
        for pid in self._stepd_pids(job_ids):
            self._kill_tree(pid)

    def _stepd_pids(self, job_ids: Sequence[str]) -> list[int]:
        found = []
        wanted = {f"[{j}." for j in job_ids} | {f"[{j}]" for j in job_ids}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if cmd.startswith("slurmstepd") and any(w in cmd for w in wanted):
                found.append(int(entry))
        return found

    def _kill_tree(self, pid: int) -> None:
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        for child in children:
            self._kill_tree(child)

    def wait_nodes_up(self, timeout: float = 30) -> None:
        """Wait until every node is idle (or allocated) in sinfo."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.node_states()
            up = [s.rstrip("*~#") in ("idle", "allocated", "mixed") for s in states.values()]
            if set(states) == set(self.nodes) and all(up):
                return
            time.sleep(0.2)
        raise RuntimeError(f"Slurm nodes did not come up: {states}\n{self.log_tail()}")

    def node_states(self) -> dict[str, str]:
        """Node → sinfo state (`idle`, `down*`, …)."""
        out = self.cli("sinfo", "-N", "-h", "-o", "%N %T", check=False)
        states = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                states[parts[0]] = parts[1]
        return states

    def cli(self, *args: str, check: bool = True) -> str:
        """Run a Slurm client command against this cluster and return its stdout."""
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=30)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the controller's log (for failure messages)."""
        path = self.run / "log" / "slurmctld.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop every daemon by PID (jobs still running are killed with their slurmd)."""
        with contextlib.suppress(Exception):
            for job in self.cli("squeue", "-h", "-o", "%i", check=False).split():
                self.cli("scancel", job, check=False)
        for n in self.nodes:
            self._kill_pidfile(self.run / f"slurmd-{n}.pid", signal.SIGTERM)
        self._kill_pidfile(self.run / "slurmctld.pid", signal.SIGTERM)
        for pid in self._stepd_pids_all():
            self._kill_tree(pid)
        self.stop_accounting()
        if self._munged is not None:
            self._stop_pid(self._munged, signal.SIGTERM)
        # Set NEOCLOUD_KEEP_SLURM=1 to keep the logs and state of a failing test.
        if not os.environ.get("NEOCLOUD_KEEP_SLURM"):
            shutil.rmtree(self.run, ignore_errors=True)

    def _stepd_pids_all(self) -> list[int]:
        # Steps of this cluster run from its spool directory, named in their working state.
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"slurmstepd") and str(self.conf).encode() in environ:
                found.append(int(entry))
        return found

    # -- pids ------------------------------------------------------------------------------
    def _wait_pid(self, path: Path, timeout: float = 15) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = _read_pid(path)
            if pid is not None and _alive(pid):
                return pid
            time.sleep(0.05)
        raise RuntimeError(f"{path.name} did not appear\n{self.log_tail()}")

    def _kill_pidfile(self, path: Path, sig: signal.Signals) -> None:
        pid = _read_pid(path)
        if pid is not None:
            self._stop_pid(pid, sig)
            path.unlink(missing_ok=True)

    def _stop_pid(self, pid: int, sig: signal.Signals, timeout: float = 10) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
