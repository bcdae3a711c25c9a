"""A hostile customer's job on a real Slurm cluster reaches neither the control plane nor another
org's work, and its own work still succeeds.

Two orgs share the two-node test cluster: the victim's job keeps a secret in its own directory and
in its output, and stays running; the hostile job then tries every way out below, each in its
own `try`, and reports which ones worked. Every one must fail. Slurm runs both as their orgs'
unprivileged users (`sbatch --uid/--gid`): what keeps them apart here is Unix permissions on the
attempt directories, and signals between different users. The test cluster runs
`TaskPlugin=task/none` (no cgroups, no namespaces), so device files and /proc are not confined by
Slurm here: the GPU check is on what the job is told (CUDA_VISIBLE_DEVICES); docs/engines.md says
what production needs (task/cgroup with ConstrainDevices, hidepid on /proc).

The same cluster then runs both orgs' jobs under `isolation: sandbox` (each rank in bubblewrap on
its node, see engines.slurm.script): there the hostile job must also fail to open the device
files of GPUs it was not given (while opening its own), to see the victim's processes in /proc,
to share /tmp with it, and to rewrite its own start, heartbeat and exit records (which usage is
computed from): they are outside what it can see, so its usage is exactly what it ran.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
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
from neocloud.engines.slurm import script as slurm_script
from neocloud.engines.slurm.attempt import AttemptFacts
from neocloud.engines.slurm.engine import SlurmEngine
from neocloud.engines.slurm.options import SlurmOptions
from neocloud.engines.tenant_users import TenantUsers
from neocloud.scheduler.model import GpuSlot
from tests.e2e.slurm_support import start_cluster
from tests.engines.slurm_harness import JOB_PYTHON, SlurmCluster, open_to_jobs

NODES = (EngineNode("n1", "h100", 8), EngineNode("n2", "h100", 8))
VICTIM_ORG, HOSTILE_ORG = "org-victim-slurm", "org-hostile-slurm"
SECRET = "victim-secret-7d1f"
DB_SECRET = "key-hash-and-webhook-secret"
WAIT_SECONDS = 60.0

# The victim: keeps a secret in its directory and its output, then stays alive to be attacked.
VICTIM = f"""
import os, time
open("secret.txt", "w").write("{SECRET}")
print("{SECRET}", flush=True)
open(os.path.join(os.environ["OUT"], "victim-ready"), "w").write(str(os.getpid()))
time.sleep(300)
"""

# The hostile job: runs each escape (name → code) and records whether it worked, then does its
# own work. `E` holds what it knows (paths, the victim's uid): the worst case, not a secret.
HOSTILE = r"""
import glob, json, os, signal, sys
E = json.loads(os.environ["TARGETS"])
ESCAPES = json.loads(sys.argv[1])
# The victim's processes, from /proc (no PID namespace under task/none).
E["victim_pids"] = []
for p in os.listdir("/proc"):
    try:
        if p.isdigit() and os.stat("/proc/" + p).st_uid == E["victim_uid"]:
            E["victim_pids"].append(int(p))
    except OSError:
        pass
results = {}
for name, code in ESCAPES.items():
    try:
        got = eval(code, {"os": os, "E": E, "glob": glob, "signal": signal})
    except OSError as exc:
        results[name] = {"escaped": False, "how": type(exc).__name__}
    else:
        results[name] = {"escaped": True, "how": repr(got)[:200]}
# Its own work: files in its own directory, output, and its GPUs as it was told them.
open("own-work.txt", "w").write("done")
print("own output", flush=True)
results["_own"] = {"read_back": open("own-work.txt").read(), "victim_pids": E["victim_pids"],
                   "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "uid": os.getuid()}
# A symbolic link in place of its output: the control plane must not follow it.
os.replace("output.log", "output.real") if os.path.exists("output.log") else None
os.symlink(E["db"], "output.log")
with open(os.path.join(os.environ["OUT"], "hostile.json"), "w") as f:
    json.dump(results, f)
"""


# name → the expression the hostile job evaluates; it must raise OSError (blocked).
ESCAPES: dict[str, str] = {
    "read the control plane's database": "open(E['db']).read()",
    "list the control plane's data directory": "os.listdir(E['data_dir'])",
    "list every job's attempt directory": "os.listdir(E['state_dir'])",
    "list the victim's attempt directory": "os.listdir(E['victim_attempt'])",
    "read the victim's spec (its env)": "open(E['victim_attempt'] + '/spec.json').read()",
    "read the victim's batch script": "open(E['victim_attempt'] + '/job.sh').read()",
    "list the victim's own directory": "os.listdir(E['victim_run'])",
    "read the victim's output": "open(E['victim_run'] + '/output.log').read()",
    "read the victim's files": "open(E['victim_run'] + '/secret.txt').read()",
    "write into the victim's directory": "open(E['victim_run'] + '/planted', 'w').write('x')",
    # (An empty list of victim processes would read as an escape: the test checks it saw some.)
    "signal the victim's processes": "[os.kill(p, signal.SIGTERM) for p in E['victim_pids']]",
    "read the victim's process environment": (
        "[open(f'/proc/{p}/environ').read() for p in E['victim_pids']]"
    ),
    "change its own attempt's kill deadline": "open(E['own_attempt'] + '/kill_at', 'w')",
    "replace its own attempt's spec": (
        "os.replace(E['own_attempt'] + '/job.sh', E['own_attempt'] + '/spec.json')"
    ),
    "write next to the attempt directories": "open(E['state_dir'] + '/planted', 'w')",
    "write into a system directory": "open('/etc/neocloud-planted', 'w')",
    "escape through a symlink to the database": (
        "os.symlink(E['db'], 'db-link') or open('db-link').read()"
    ),
    "escape through a symlink to the victim": (
        "os.symlink(E['victim_run'], 'victim-link') or os.listdir('victim-link')"
    ),
}


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    """A two-node Slurm cluster of this module's own."""
    cluster = start_cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def world(slurm: SlurmCluster) -> dict[str, Path]:
    """The control plane's private data dir (with a 'database'), the attempt dirs, an outbox."""
    space = slurm.job_space("hostile")
    data = space / "data"
    data.mkdir(mode=0o700)
    (data / "neocloud.db").write_text(DB_SECRET)
    os.chmod(data / "neocloud.db", 0o600)
    out = space / "out"
    out.mkdir()
    return {"data": data, "state": space / "attempts", "out": open_to_jobs(out)}


def _engine(slurm: SlurmCluster, state_dir: Path, sandbox: bool = False) -> SlurmEngine:
    options: dict[str, str] = {
        "conf": str(slurm.conf),
        "partition": "gpu",
        "poll_cache_seconds": "0.2",
    }
    if sandbox:
        # The test nodes' GPU device files are the harness's (links to /dev/null).
        options["gpu_device_dir"] = str(slurm.run / "fakedev")
    isolation = "sandbox" if sandbox else "user"
    return SlurmEngine(
        "sec", SlurmOptions.from_engine_options(options, state_dir, isolation), NODES
    )


def _spec(job_id: str, org: str, command: list[str], **fields: object) -> LaunchSpec:
    values: dict[str, object] = {
        "job_id": job_id,
        "attempt": 0,
        "command": command,
        "env": {},
        "working_dir": None,
        "placement": (GpuSlot("n1", (0,)),),
        "max_runtime_seconds": 600,
        "grace_seconds": 1,
        "org_id": org,
        "org_kind": "external",
        **fields,
    }
    return LaunchSpec(**values)  # type: ignore[arg-type]


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _ended(engine: SlurmEngine, handle: EngineHandle) -> EngineState:
    state: list[EngineState] = []
    _until(lambda: state.append(engine.poll(handle).state) or state[-1].terminal, "the job's end")
    return state[-1]


@pytest.fixture(scope="module")
def attack(slurm: SlurmCluster, world: dict[str, Path]) -> Iterator[dict[str, object]]:
    """Run the victim, then the hostile job; what the hostile job found, and the aftermath."""
    engine = _engine(slurm, world["state"])
    suffix = os.urandom(4).hex()
    victim_id, hostile_id = f"job-victim-{suffix}", f"job-hostile-{suffix}"
    victim = engine.launch(
        _spec(
            victim_id,
            VICTIM_ORG,
            [JOB_PYTHON, "-c", VICTIM],
            env={"OUT": str(world["out"]), "VICTIM_TOKEN": SECRET},
        )
    )
    try:
        _until(lambda: (world["out"] / "victim-ready").exists(), "the victim to start")
        victim_uid = TenantUsers(create=False).identity(VICTIM_ORG).uid
        state = world["state"]
        targets = {
            "db": str(world["data"] / "neocloud.db"),
            "data_dir": str(world["data"]),
            "state_dir": str(state),
            "victim_attempt": str(state / victim_id / "0"),
            "victim_run": str(state / victim_id / "0" / "run"),
            "own_attempt": str(state / hostile_id / "0"),
            "victim_uid": victim_uid,
        }
        hostile = engine.launch(
            _spec(
                hostile_id,
                HOSTILE_ORG,
                [JOB_PYTHON, "-c", HOSTILE, json.dumps(ESCAPES)],
                env={"OUT": str(world["out"]), "TARGETS": json.dumps(targets)},
                placement=(GpuSlot("n2", (2, 3)),),
            )
        )
        ended = _ended(engine, hostile)
        found = json.loads((world["out"] / "hostile.json").read_text())
        yield {
            "found": found,
            "ended": ended,
            "status": engine.poll(hostile),
            "logs": engine.logs(hostile, 0, 1 << 16).data,
            "victim_alive": engine.poll(victim).state,
            "victim_run": state / victim_id / "0" / "run",
        }
    finally:
        engine.cancel(victim, grace_seconds=0)
        _ended(engine, victim)


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_every_escape_fails(attack: dict[str, object], escape: str) -> None:
    found = attack["found"]
    assert isinstance(found, dict)
    result = found[escape]
    assert not result["escaped"], f"the hostile job managed to {escape}: got {result['how']}"


def test_the_hostile_jobs_own_work_succeeds_as_an_unprivileged_user(
    attack: dict[str, object],
) -> None:
    found = attack["found"]
    assert isinstance(found, dict)
    own = found["_own"]
    assert attack["ended"] is EngineState.EXITED
    assert attack["status"].exit_code == 0  # type: ignore[attr-defined]
    assert own["read_back"] == "done"
    assert own["uid"] != 0
    assert own["victim_pids"], "the hostile job saw no victim process to attack"
    # Slurm tells it the GPUs it was given, no others (see the module docstring for devices).
    assert len(own["gpus"].split(",")) == 2


def test_the_victim_is_untouched(attack: dict[str, object]) -> None:
    assert attack["victim_alive"] is EngineState.RUNNING, "the hostile job stopped the victim"
    run = attack["victim_run"]
    assert isinstance(run, Path)
    assert not (run / "planted").exists(), "the hostile job wrote into the victim's directory"


def test_the_control_plane_does_not_follow_a_symlinked_output(attack: dict[str, object]) -> None:
    logs = attack["logs"]
    assert isinstance(logs, bytes)
    assert DB_SECRET.encode() not in logs, "the logs API followed the job's symlink"


@pytest.mark.parametrize(
    "working_dir",
    ["../../..", "/etc", "/job/../..", "sub/../../../data", "/tmp"],
)
def test_a_working_dir_outside_the_job_is_refused(
    slurm: SlurmCluster, world: dict[str, Path], working_dir: str
) -> None:
    engine = _engine(slurm, world["state"])
    spec = _spec(f"job-wd-{os.urandom(4).hex()}", HOSTILE_ORG, ["true"], working_dir=working_dir)
    with pytest.raises(EngineError, match="working_dir"):
        engine.launch(spec)


def test_a_job_is_never_submitted_as_root(slurm: SlurmCluster, world: dict[str, Path]) -> None:
    options = SlurmOptions.from_engine_options(
        {"conf": str(slurm.conf), "partition": "gpu", "run_as_user": "root"}, world["state"]
    )
    engine = SlurmEngine("sec", options, NODES)
    spec = _spec(f"job-root-{os.urandom(4).hex()}", HOSTILE_ORG, ["true"])
    with pytest.raises(EngineError, match="uid or gid 0"):
        engine.launch(spec)


# -- isolation: sandbox ----------------------------------------------------------------------

# The sandboxed victim: a secret in its own /tmp, its directory and its output; then it waits.
SANDBOXED_VICTIM = f"""
import os, time
open("/tmp/victim-secret", "w").write("{SECRET}")
open("secret.txt", "w").write("{SECRET}")
print("{SECRET}", flush=True)
open("/job/.ready", "w").write(os.environ["NEOCLOUD_GPU_INDICES"])
os.rename("/job/.ready", "/job/victim-ready")
time.sleep(300)
"""

# The sandboxed hostile job: every escape of the user-level suite and the sandbox's own ones,
# then its own work; it reports into its own directory (/job), the only place it can write.
SANDBOXED_HOSTILE = r"""
import glob, json, os, signal, sys, time
E = json.loads(os.environ["TARGETS"])
ESCAPES = json.loads(sys.argv[1])
results = {}
for name, code in ESCAPES.items():
    try:
        got = eval(code, {"os": os, "E": E, "glob": glob, "signal": signal})
    except OSError as exc:
        results[name] = {"escaped": False, "how": type(exc).__name__}
    else:
        results[name] = {"escaped": True, "how": repr(got)[:200]}
def opens(path):
    try:
        os.close(os.open(path, os.O_RDWR))
        return True
    except OSError:
        return False
own = [int(i) for i in os.environ["NEOCLOUD_GPU_INDICES"].split(",")]
open("own-work.txt", "w").write("done")
print("own output", flush=True)
results["_own"] = {
    "read_back": open("own-work.txt").read(),
    "uid": os.getuid(),
    "given": own,
    "opens": [i for i in range(E["gpus_per_node"]) if opens(f"/dev/nvidia{i}")],
    "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
    "foreign_processes": [
        p for p in os.listdir("/proc")
        if p.isdigit() and os.stat("/proc/" + p).st_uid != os.getuid()
    ],
    "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
    "tmp": os.listdir("/tmp"),
}
with open("/job/hostile.json", "w") as f:
    json.dump(results, f)
time.sleep(2)
"""

# name → what the sandboxed hostile job evaluates on top of ESCAPES; it must raise OSError.
SANDBOX_ESCAPES: dict[str, str] = {
    "open the device file of a GPU it was not given": (
        "[os.close(os.open(f'/dev/nvidia{i}', os.O_RDWR)) for i in E['victim_gpus']]"
    ),
    "open the node's GPU device files where Slurm keeps them": (
        "os.open(E['fakedev'] + '/nvidia' + str(E['victim_gpus'][0]), os.O_RDWR)"
    ),
    "read the victim's /tmp": "open('/tmp/victim-secret').read()",
    "rewrite its own start record": "open(E['own_run'] + '/started', 'w').write('1 1')",
    "rewrite its own rank start record": "open(E['own_run'] + '/rank-0.started', 'w')",
    "rewrite its own exit record": "open(E['own_run'] + '/exit', 'w').write('0 1')",
    "touch its own heartbeat": "os.utime(E['own_run'] + '/heartbeat')",
    "read its own batch script": "open(E['own_attempt'] + '/job.sh').read()",
}


def _pids_of(uid: int) -> list[int]:
    """The node's processes of one user (the test runs on the nodes' machine, as root)."""
    pids = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and os.stat(f"/proc/{p}").st_uid == uid:
                pids.append(int(p))
        except OSError:
            pass
    return pids


@pytest.fixture(scope="module")
def sandboxed_attack(slurm: SlurmCluster, world: dict[str, Path]) -> Iterator[dict[str, object]]:
    """Both orgs' jobs sandboxed on the same node; what the hostile one found, and its facts."""
    state = Path(f"{world['state']}-sandbox")
    engine = _engine(slurm, state, sandbox=True)
    suffix = os.urandom(4).hex()
    victim_id, hostile_id = f"job-sbvictim-{suffix}", f"job-sbhostile-{suffix}"
    victim = engine.launch(
        _spec(
            victim_id,
            VICTIM_ORG,
            [JOB_PYTHON, "-c", SANDBOXED_VICTIM],
            placement=(GpuSlot("n2", (0, 1)),),
        )
    )
    victim_work = state / victim_id / "0" / "run" / slurm_script.WORK
    try:
        _until(lambda: (victim_work / "victim-ready").exists(), "the victim to start")
        victim_gpus = [int(i) for i in (victim_work / "victim-ready").read_text().split(",")]
        targets = {
            "db": str(world["data"] / "neocloud.db"),
            "data_dir": str(world["data"]),
            "state_dir": str(state),
            "victim_attempt": str(state / victim_id / "0"),
            "victim_run": str(state / victim_id / "0" / "run"),
            "own_attempt": str(state / hostile_id / "0"),
            "own_run": str(state / hostile_id / "0" / "run"),
            "victim_uid": TenantUsers(create=False).identity(VICTIM_ORG).uid,
            "victim_pids": _pids_of(TenantUsers(create=False).identity(VICTIM_ORG).uid),
            "victim_gpus": victim_gpus,
            "fakedev": str(slurm.run / "fakedev"),
            "gpus_per_node": 8,
        }
        escapes = {**ESCAPES, **SANDBOX_ESCAPES}
        hostile = engine.launch(
            _spec(
                hostile_id,
                HOSTILE_ORG,
                [JOB_PYTHON, "-c", SANDBOXED_HOSTILE, json.dumps(escapes)],
                env={"TARGETS": json.dumps(targets)},
                placement=(GpuSlot("n2", (2, 3)),),
            )
        )
        ended = _ended(engine, hostile)
        hostile_attempt = state / hostile_id / "0"
        found = json.loads(
            (hostile_attempt / "run" / slurm_script.WORK / "hostile.json").read_text()
        )
        yield {
            "found": found,
            "ended": ended,
            "status": engine.poll(hostile),
            "facts": AttemptFacts.read(hostile_attempt),
            "logs": engine.logs(hostile, 0, 1 << 16).data,
            "victim_alive": engine.poll(victim).state,
            "victim_gpus": victim_gpus,
            "victim_pids": targets["victim_pids"],
            "victim_run": state / victim_id / "0" / "run",
        }
    finally:
        engine.cancel(victim, grace_seconds=0)
        _ended(engine, victim)


@pytest.mark.parametrize("escape", sorted({**ESCAPES, **SANDBOX_ESCAPES}))
def test_every_escape_fails_from_the_sandbox(
    sandboxed_attack: dict[str, object], escape: str
) -> None:
    found = sandboxed_attack["found"]
    assert isinstance(found, dict)
    result = found[escape]
    assert not result["escaped"], f"the sandboxed job managed to {escape}: got {result['how']}"


def test_the_sandboxed_job_opens_its_own_gpus_and_no_other(
    sandboxed_attack: dict[str, object],
) -> None:
    own = sandboxed_attack["found"]["_own"]  # type: ignore[index]
    assert len(own["given"]) == 2
    assert not set(own["given"]) & set(sandboxed_attack["victim_gpus"])  # type: ignore[arg-type]
    assert own["opens"] == sorted(own["given"])
    assert own["cuda"] == "0,1"  # CUDA numbers the GPUs it can open from 0


def test_the_sandboxed_job_sees_only_its_own_processes_and_tmp(
    sandboxed_attack: dict[str, object],
) -> None:
    own = sandboxed_attack["found"]["_own"]  # type: ignore[index]
    assert sandboxed_attack["victim_pids"], "the victim had no process to hide"
    assert own["foreign_processes"] == []
    assert own["processes"] < 10
    assert "victim-secret" not in own["tmp"]


def test_the_sandboxed_jobs_own_work_succeeds_and_its_usage_is_exact(
    sandboxed_attack: dict[str, object],
) -> None:
    own = sandboxed_attack["found"]["_own"]  # type: ignore[index]
    status = sandboxed_attack["status"]
    facts = sandboxed_attack["facts"]
    assert isinstance(facts, AttemptFacts)
    assert sandboxed_attack["ended"] is EngineState.EXITED
    assert isinstance(status, EngineStatus) and status.exit_code == 0
    assert own["read_back"] == "done" and own["uid"] != 0
    assert b"own output" in sandboxed_attack["logs"]  # type: ignore[operator]
    # Usage runs from the rank's command start to the recorded exit, both written outside the
    # sandbox: what the job ran (it slept 2 s at the end), not what it tried to write.
    assert facts.command_started and facts.started_at and facts.ended_at
    assert isinstance(status, EngineStatus) and status.started_at and status.ended_at
    # (to the microsecond a datetime holds)
    assert status.started_at.timestamp() == pytest.approx(facts.started_at, abs=1e-5)
    assert status.ended_at.timestamp() == pytest.approx(facts.ended_at, abs=1e-5)
    assert 2.0 <= facts.ended_at - facts.started_at < 30.0
    assert facts.exit_status == 0


def test_the_sandboxed_victim_is_untouched(sandboxed_attack: dict[str, object]) -> None:
    assert sandboxed_attack["victim_alive"] is EngineState.RUNNING
    run = sandboxed_attack["victim_run"]
    assert isinstance(run, Path)
    assert not (run / "planted").exists()
    assert not (run / slurm_script.WORK / "planted").exists()
