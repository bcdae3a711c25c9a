"""A hostile customer's job on the sandboxed local engine: every escape fails, its own work runs.

Two orgs share the engine. Org A's victim job runs (a secret in its directory, its log and its
env); org B's hostile job then tries one escape per case, from inside its sandbox, and prints
`VERDICT <case> HELD` or `VERDICT <case> ESCAPED: <how>`, so a failure names the way out. Every
hostile job also does its legitimate work first (writes its own file, reads its own GPUs), and
the test checks that it succeeded. A service of the machine listens on 127.0.0.1 and on an
abstract Unix socket throughout, as the control plane's database and API do; no hostile job
may reach it, and the network tests show that the engine's network choice is what keeps it out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from neocloud.engines.base import (
    EngineError,
    EngineHandle,
    EngineNode,
    EngineState,
    EngineStatus,
    LaunchSpec,
)
from neocloud.engines.local import attempt as local_attempt
from neocloud.engines.local import procfs
from neocloud.engines.local.engine import LocalEngine
from neocloud.engines.local.network import LocalNetwork
from neocloud.engines.sandbox import find_program
from neocloud.engines.tenant_users import TenantUsers, derived_user_name
from neocloud.scheduler.model import GpuSlot
from tests.conftest import skip_or_fail

PYTHON = "/usr/bin/python3"
PREFIX = "nctest-"
WAIT_SECONDS = 30.0
VICTIM_MARKER = "victim-marker-7f3a"
DB_SECRET = "db-secret-hash-of-org-a-key"
WORK_SECRET = "org-a-work-secret"
LOG_SECRET = "org-a-log-secret"
ENV_SECRET = "org-a-env-secret"
HOSTILE_GPUS = (2, 3)
LISTENER_BANNER = "machine-service-banner-5c1e"
POSTGRESQL = ("127.0.0.1", 5432)

# Runs first in every hostile job: its legitimate work, which must succeed.
OWN_WORK = """
import ctypes, errno, json, os, signal, sys
open("/job/own.txt", "w").write("mine")
assert open("/job/own.txt").read() == "mine"
assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1", os.environ["CUDA_VISIBLE_DEVICES"]
assert os.environ["NEOCLOUD_GPU_INDICES"] == "2,3", os.environ["NEOCLOUD_GPU_INDICES"]
assert open("/dev/nvidia2").read() == "gpu2" and open("/dev/nvidia3").read() == "gpu3"
print("OWN-WORK-OK", flush=True)

def readable(path):
    try:
        with open(path, "rb") as f:
            return f.read(200)
    except OSError:
        return None

def listable(path):
    try:
        return os.listdir(path)
    except OSError:
        return None

def writable(path):
    try:
        with open(path, "w") as f:
            f.write("forged")
        return True
    except OSError:
        return False
"""

# case -> body of `def attempt():` returning how it escaped, or None when it was held.
# The paths it aims at come in the environment (as an attacker would guess or learn them).
ESCAPES: dict[str, str] = {
    "read_the_database": """
        for path in (E["DB"], "/proc/1/root" + E["DB"], "/job/../" + E["DB"]):
            data = readable(path)
            if data is not None:
                return f"read {path}: {data[:40]!r}"
        if listable(E["DATA_DIR"]) is not None:
            return "listed the data dir"
    """,
    "list_and_read_other_attempts": """
        for path in (E["STATE_DIR"], E["VICTIM_ATTEMPT"], E["VICTIM_WORK"]):
            if listable(path) is not None:
                return f"listed {path}"
        for path in (E["VICTIM_LOG"], E["VICTIM_WORK"] + "/secret.txt", E["VICTIM_SPEC"]):
            if readable(path) is not None:
                return f"read {path}"
    """,
    "read_the_engine_fact_files": """
        for name in ("spec.json", "runner.json", "heartbeat", "output.log", "runner.log"):
            if readable(E["OWN_ATTEMPT"] + "/" + name) is not None:
                return f"read its own {name}"
            if readable(E["VICTIM_ATTEMPT"] + "/" + name) is not None:
                return f"read the victim's {name}"
    """,
    "forge_its_fact_files": """
        for name in ("exit.json", "runner.json", "heartbeat", "cancel.json", "output.log"):
            for path in (E["OWN_ATTEMPT"] + "/" + name, "/job/../" + name, "/" + name):
                if writable(path):
                    return f"wrote {path}"
        if writable("/job/exit.json") and os.path.exists(E["OWN_ATTEMPT"] + "/exit.json"):
            return "its own exit.json is visible"
    """,
    "see_or_signal_other_jobs": """
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            cmdline = readable(f"/proc/{pid}/cmdline") or b""
            if E["VICTIM_MARKER"].encode() in cmdline:
                return f"sees the victim as pid {pid}"
        mine = {os.getpid(), os.getppid(), 1}
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine]
        if others:
            return f"sees processes it did not start: {others}"
        try:
            os.kill(int(E["VICTIM_PID"]), signal.SIGKILL)
            return f"signalled pid {E['VICTIM_PID']}"
        except OSError:
            pass
        try:
            os.kill(-1, 0)
        except OSError:
            pass
    """,
    "write_outside_its_directory": """
        for path in ("/usr/evil", "/etc/evil", "/evil", E["DATA_DIR"] + "/evil",
                     E["STATE_DIR"] + "/evil", "/root/evil", "/job/../evil"):
            if writable(path):
                return f"wrote {path}"
        # Its /tmp is its own: writable, and nobody else's (the test checks the host's).
        if not writable("/tmp/" + E["TMP_NAME"]):
            return None
    """,
    "escape_through_symlinks": """
        os.symlink("/", "/job/root-link")
        os.symlink(E["DATA_DIR"], "/job/data-link")
        os.symlink(E["VICTIM_WORK"], "/job/victim-link")
        for path in ("/job/root-link" + E["DB"], "/job/data-link/neocloud.db",
                     "/job/victim-link/secret.txt"):
            if readable(path) is not None:
                return f"read {path}"
        if listable("/job/root-link" + E["STATE_DIR"]) is not None:
            return "listed the engine state through a link"
    """,
    "see_gpus_it_was_not_given": """
        devices = sorted(d for d in os.listdir("/dev") if d.startswith("nvidia"))
        if devices != ["nvidia-uvm", "nvidia2", "nvidia3", "nvidiactl"]:
            return f"sees device files {devices}"
        for path in (E["DEVICE_DIR"] + "/nvidia0", "/dev/nvidia0", "/dev/nvidia7"):
            if readable(path) is not None:
                return f"opened {path}"
    """,
    "reach_services_on_the_machine": """
        import socket
        names = sorted(name for _, name in socket.if_nameindex())
        if names != ["lo"]:
            return f"sees the machine's network interfaces {names}"
        for port in (int(E["LISTENER_PORT"]), 5432):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return f"connected to 127.0.0.1:{port}"
            except OSError:
                pass
        unix = socket.socket(socket.AF_UNIX)
        try:
            unix.connect("\\0" + E["ABSTRACT_SOCKET"])
            return "connected to the machine's abstract Unix socket"
        except OSError:
            pass
        finally:
            unix.close()
    """,
    "see_the_control_plane": """
        for path in ("/root", E["CONTROL_PLANE_PYTHON"], "/home", "/var", "/run", "/srv"):
            if listable(path) or readable(path):
                return f"sees {path}"
        leaked = [k for k in os.environ if k in ("NEOCLOUD_API_KEY", "A_TOKEN", "SECRET")]
        if leaked:
            return f"sees the control plane's or the victim's env: {leaked}"
    """,
    "gain_privileges": """
        if os.getuid() == 0 or os.geteuid() == 0 or os.getgid() == 0:
            return f"runs as uid {os.getuid()} gid {os.getgid()}"
        if os.getuid() == int(E["VICTIM_UID"]):
            return "runs as the other org's user"
        if os.getgroups():
            return f"has supplementary groups {os.getgroups()}"
        try:
            os.setuid(0)
            return "setuid(0) worked"
        except OSError:
            pass
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWUSER = 0x10000000
        if libc.unshare(CLONE_NEWUSER) == 0:
            return "made a user namespace of its own"
    """,
}


def _hostile_script(case: str) -> str:
    """The hostile job's program for one case: own work, the attempt, a verdict."""
    body = textwrap.indent(textwrap.dedent(ESCAPES[case]).strip(), "    ")
    return (
        OWN_WORK
        + "E = os.environ\n"
        + f"def attempt():\n{body}\n    return None\n"
        + "how = attempt()\n"
        + f"print('VERDICT {case} ' + ('HELD' if how is None else 'ESCAPED: ' + how), flush=True)\n"
    )


class MachineService:
    """A service of the machine, as the control plane's database is: it listens on 127.0.0.1
    (TCP) and on an abstract Unix socket, greets every client and counts them."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.abstract_name = f"nctest-service-{uuid.uuid4().hex[:8]}"
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind("\0" + self.abstract_name)
        self.unix.listen()
        self.accepted = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve, args=(s,), daemon=True)
            for s in (self.tcp, self.unix)
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self, server: socket.socket) -> None:
        server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            with client:
                client.sendall(LISTENER_BANNER.encode())

    def close(self) -> None:
        """Stop serving and close both sockets."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.tcp.close()
        self.unix.close()


@dataclass
class World:
    """Two orgs' work on one sandboxed engine over a control-plane data dir."""

    data_dir: Path
    state_dir: Path
    device_dir: Path
    engine: LocalEngine
    org_a: str
    org_b: str
    service: MachineService


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _until_ended(engine: LocalEngine, handle: EngineHandle) -> EngineStatus:
    statuses: list[EngineStatus] = []

    def ended() -> bool:
        statuses.append(engine.poll(handle))
        return statuses[-1].state.terminal

    _wait(ended, f"attempt {handle.id} to end")
    return statuses[-1]


def _spec(job_id: str, org: str, command: list[str], **overrides: object) -> LaunchSpec:
    fields: dict[str, object] = {
        "job_id": job_id,
        "attempt": 0,
        "command": command,
        "env": {},
        "working_dir": None,
        "placement": (GpuSlot("n1", HOSTILE_GPUS),),
        "max_runtime_seconds": 120,
        "grace_seconds": 1,
        "org_id": org,
        "org_kind": "external",
    }
    fields.update(overrides)
    return LaunchSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A data dir with a real database, fake GPU device files, and a sandboxed engine."""
    if os.geteuid() != 0:
        skip_or_fail("the hostile-job suite runs jobs as per-org users, which needs root")
    if find_program("bwrap") is None:
        skip_or_fail("bubblewrap is not installed (apt-get install bubblewrap)")
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    db = sqlite3.connect(data_dir / "neocloud.db")
    db.execute("create table api_keys (hash text)")
    db.execute("insert into api_keys values (?)", (DB_SECRET,))
    db.commit()
    db.close()
    # Device files must be reachable by the sandbox's user, as /dev is: not under tmp_path.
    device_dir = Path(tempfile.mkdtemp(prefix="nctest-dev-", dir="/tmp"))
    device_dir.chmod(0o755)
    for name in [f"nvidia{i}" for i in range(8)] + ["nvidiactl", "nvidia-uvm"]:
        path = device_dir / name
        path.write_text(name.replace("nvidia", "gpu") if name[-1].isdigit() else name)
        path.chmod(0o666)
    org_a, org_b = f"org-a-{uuid.uuid4().hex[:8]}", f"org-b-{uuid.uuid4().hex[:8]}"
    state_dir = data_dir / "engine" / "local"
    engine = LocalEngine(
        state_dir,
        [EngineNode("n1", "h100", 8)],
        isolation="sandbox",
        device_dir=device_dir,
        tenant_users=TenantUsers(prefix=PREFIX),
    )
    service = MachineService()
    try:
        yield World(data_dir, state_dir, device_dir, engine, org_a, org_b, service)
    finally:
        service.close()
        engine.close()
        _kill_attempts(state_dir)
        shutil.rmtree(device_dir, ignore_errors=True)
        for org in (org_a, org_b):
            user = derived_user_name(org, PREFIX)
            subprocess.run(["userdel", user], capture_output=True, check=False)
            subprocess.run(["groupdel", user], capture_output=True, check=False)


def _kill_attempts(state_dir: Path) -> None:
    """No job may outlive its test."""
    for runner_file in state_dir.glob(f"*/*/{local_attempt.RUNNER}"):
        runner = local_attempt.read_json(runner_file)
        if runner and procfs.is_same_process_alive(runner["pid"], runner["start_time"]):
            for pid in procfs.group_members(runner["pgid"]):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)


@dataclass
class Victim:
    handle: EngineHandle
    attempt_dir: Path
    pid: int
    uid: int


@pytest.fixture
def victim(world: World) -> Victim:
    """Org A's job, running: a secret in its directory, its log and its environment."""
    program = (
        f"import time; open('/job/secret.txt', 'w').write({WORK_SECRET!r}); "
        f"print({LOG_SECRET!r}, flush=True); time.sleep(600)"
    )
    handle = world.engine.launch(
        _spec(
            "job-victim",
            world.org_a,
            [PYTHON, "-c", program, VICTIM_MARKER],
            env={"A_TOKEN": ENV_SECRET},
            placement=(GpuSlot("n1", (0, 1)),),
        )
    )
    attempt_dir = world.state_dir / "job-victim" / "0"
    _wait((attempt_dir / "work" / "secret.txt").exists, "the victim to write its secret")
    runner = local_attempt.read_json(attempt_dir / local_attempt.RUNNER)
    assert runner is not None
    pids = [
        pid
        for pid in procfs.group_members(runner["pgid"])
        if VICTIM_MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert pids, "the victim's process is not running"
    return Victim(handle, attempt_dir, pids[-1], (attempt_dir / "work").stat().st_uid)


def _run_hostile(world: World, victim: Victim, case: str) -> tuple[EngineStatus, str, Path]:
    """Run org B's hostile job for one case; its status, its log, its attempt directory."""
    tmp_name = f"nctest-{uuid.uuid4().hex[:8]}"
    env = {
        "DB": str(world.data_dir / "neocloud.db"),
        "DATA_DIR": str(world.data_dir),
        "STATE_DIR": str(world.state_dir),
        "DEVICE_DIR": str(world.device_dir),
        "VICTIM_ATTEMPT": str(victim.attempt_dir),
        "VICTIM_WORK": str(victim.attempt_dir / "work"),
        "VICTIM_LOG": str(victim.attempt_dir / local_attempt.OUTPUT),
        "VICTIM_SPEC": str(victim.attempt_dir / local_attempt.SPEC),
        "VICTIM_PID": str(victim.pid),
        "VICTIM_UID": str(victim.uid),
        "VICTIM_MARKER": VICTIM_MARKER,
        "OWN_ATTEMPT": str(world.state_dir / f"job-{case}" / "0"),
        "CONTROL_PLANE_PYTHON": os.path.realpath(os.sys.executable),
        "TMP_NAME": tmp_name,
        "LISTENER_PORT": str(world.service.port),
        "ABSTRACT_SOCKET": world.service.abstract_name,
    }
    handle = world.engine.launch(
        _spec(f"job-{case}", world.org_b, [PYTHON, "-c", _hostile_script(case)], env=env)
    )
    status = _until_ended(world.engine, handle)
    log = world.engine.logs(handle, 0, 1 << 20).data.decode(errors="replace")
    # What the job wrote to its private /tmp never reached the machine's.
    assert not Path("/tmp", tmp_name).exists()
    return status, log, world.state_dir / f"job-{case}" / "0"


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_a_hostile_job_cannot_escape_and_its_own_work_succeeds(
    world: World, victim: Victim, case: str
) -> None:
    status, log, attempt_dir = _run_hostile(world, victim, case)

    assert "OWN-WORK-OK" in log, log
    assert f"VERDICT {case} HELD" in log, log
    assert status.state is EngineState.EXITED and status.exit_code == 0, (status, log)
    # Its own file is its org's, and nobody else's to read.
    own = (attempt_dir / "work" / "own.txt").stat()
    work = (attempt_dir / "work").stat()
    assert own.st_uid == work.st_uid != victim.uid
    assert own.st_uid not in (0, os.geteuid())
    assert stat.S_IMODE(work.st_mode) == 0o700
    # The victim still runs, untouched, and nothing of it reached the hostile job's log.
    assert world.engine.poll(victim.handle).state is EngineState.RUNNING
    assert (victim.attempt_dir / "work" / "secret.txt").read_text() == WORK_SECRET
    for secret in (DB_SECRET, WORK_SECRET, LOG_SECRET, ENV_SECRET, LISTENER_BANNER):
        assert secret not in log
    # The machine's service never saw it.
    assert world.service.accepted == 0
    # The runner's facts are the runner's: a clean exit recorded by it, not by the job.
    record = local_attempt.read_json(attempt_dir / local_attempt.EXIT)
    assert record is not None and record["exit_code"] == 0 and record["reason"] is None
    for name in (local_attempt.SPEC, local_attempt.RUNNER, local_attempt.EXIT):
        facts = (attempt_dir / name).stat()
        assert (facts.st_uid, stat.S_IMODE(facts.st_mode)) == (os.geteuid(), 0o600)
    assert stat.S_IMODE(world.state_dir.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "working_dir",
    ["..", "../..", "/etc", "/job/../etc", "sub/../../..", "/", "/jobs", "a\nb"],
)
def test_a_working_dir_outside_the_job_is_refused_at_launch(world: World, working_dir: str) -> None:
    spec = _spec("job-wd", world.org_b, [PYTHON, "-c", "pass"], working_dir=working_dir)

    with pytest.raises(EngineError, match="working_dir"):
        world.engine.launch(spec)
    assert not (world.state_dir / "job-wd" / "0" / local_attempt.SPEC).exists()


@pytest.mark.parametrize(
    ("working_dir", "cwd"),
    [(None, "/job"), ("out", "/job/out"), ("/job/a/b", "/job/a/b"), ("./c/", "/job/c")],
)
def test_a_working_dir_inside_the_job_is_made_and_used(
    world: World, working_dir: str | None, cwd: str
) -> None:
    program = "import os; print('CWD', os.getcwd()); open('here', 'w').write('x')"
    spec = _spec("job-wd", world.org_b, [PYTHON, "-c", program], working_dir=working_dir)

    handle = world.engine.launch(spec)
    status = _until_ended(world.engine, handle)

    log = world.engine.logs(handle, 0, 1 << 16).data.decode()
    assert status.exit_code == 0, log
    assert f"CWD {cwd}" in log
    inside = cwd.removeprefix("/job").lstrip("/")
    assert (world.state_dir / "job-wd" / "0" / "work" / inside / "here").exists()


def test_a_link_planted_in_the_job_dir_leads_nowhere_outside(world: World) -> None:
    # As if a previous run had left a link to the data dir where the job starts.
    work = world.state_dir / "job-link" / "0" / "work"
    work.mkdir(parents=True)
    (work / "data").symlink_to(world.data_dir)
    program = "import os; print('SEES', sorted(os.listdir('.')) if os.path.isdir('.') else None)"
    spec = _spec("job-link", world.org_b, [PYTHON, "-c", program], working_dir="data")

    handle = world.engine.launch(spec)
    status = _until_ended(world.engine, handle)

    log = world.engine.logs(handle, 0, 1 << 16).data.decode()
    # The link is resolved inside the sandbox, where the data dir does not exist.
    assert "neocloud.db" not in log
    assert status.exit_code != 0 or "SEES []" in log, log


# Tries one of the machine's services from inside the sandbox, after using its own loopback.
NETWORK_PROBE = """
import socket, sys
target, address = sys.argv[1], sys.argv[2]
own = socket.create_server(("127.0.0.1", 0))
socket.create_connection(own.getsockname(), timeout=2).close()
print("OWN-LOOPBACK-OK", flush=True)
try:
    if target == "abstract_socket":
        peer = socket.socket(socket.AF_UNIX)
        peer.settimeout(2)
        peer.connect("\\0" + address)
    else:
        peer = socket.create_connection(("127.0.0.1", int(address)), timeout=2)
    # PostgreSQL speaks only when spoken to; the test's service greets.
    greeting = b"" if target == "postgresql" else peer.recv(64)
    print("REACHED", greeting.decode(), flush=True)
except OSError as exc:
    print("UNREACHED", exc, flush=True)
"""
OWN = LocalNetwork()


def _answers(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("org_kind", "network", "target", "reached"),
    [
        pytest.param("external", OWN, "listener", False, id="external-default-listener"),
        pytest.param("external", OWN, "postgresql", False, id="external-default-postgresql"),
        pytest.param("external", OWN, "abstract_socket", False, id="external-default-abstract"),
        pytest.param("internal", OWN, "listener", True, id="internal-default-listener"),
        pytest.param("internal", OWN, "postgresql", True, id="internal-default-postgresql"),
        pytest.param("internal", OWN, "abstract_socket", True, id="internal-default-abstract"),
        pytest.param(
            "internal", LocalNetwork(internal="none"), "listener", False, id="internal-none"
        ),
        pytest.param(
            "external", LocalNetwork(external="host"), "listener", True, id="external-host"
        ),
    ],
)
def test_the_machines_network_is_reached_only_where_the_cluster_gives_it(
    world: World, org_kind: str, network: LocalNetwork, target: str, reached: bool
) -> None:
    if target == "postgresql" and not _answers(POSTGRESQL):
        skip_or_fail("PostgreSQL does not answer on 127.0.0.1:5432")
    address = {
        "listener": str(world.service.port),
        "postgresql": str(POSTGRESQL[1]),
        "abstract_socket": world.service.abstract_name,
    }[target]
    engine = LocalEngine(
        world.state_dir,
        [EngineNode("n1", "h100", 8)],
        isolation="sandbox",
        device_dir=world.device_dir,
        tenant_users=TenantUsers(prefix=PREFIX),
        networks={"n1": network},
    )
    spec = _spec(
        "job-net", world.org_b, [PYTHON, "-c", NETWORK_PROBE, target, address], org_kind=org_kind
    )

    handle = engine.launch(spec)
    status = _until_ended(engine, handle)

    log = engine.logs(handle, 0, 1 << 16).data.decode(errors="replace")
    engine.close()
    assert status.exit_code == 0, log
    # Its own loopback works either way: a job may talk to itself.
    assert "OWN-LOOPBACK-OK" in log, log
    assert any(line.startswith("REACHED") for line in log.splitlines()) is reached, log
    if target != "postgresql":
        assert (LISTENER_BANNER in log) is reached, log
        assert (world.service.accepted > 0) is reached
