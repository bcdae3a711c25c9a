"""The local engine's sandbox: the command it builds, the checks it makes, and jobs run in it.

What a hostile job cannot do in it is proved in tests/security/test_hostile_jobs_local.py; here
the sandbox's own behaviour: who a rank runs as, what reaches it, how it is stopped.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from neocloud.domain.fleet_file import parse_fleet
from neocloud.engines import sandbox
from neocloud.engines.base import EngineConfigError, EngineError, EngineState, LaunchSpec
from neocloud.engines.local import attempt as local_attempt
from neocloud.engines.local import procfs
from neocloud.engines.local.engine import LocalEngine
from neocloud.engines.options import OPTION_RULES
from neocloud.engines.sandbox import Sandbox, environment_args, gpu_device_files
from neocloud.engines.tenant_users import TenantUsers, derived_user_name
from neocloud.scheduler.model import GpuSlot
from neocloud.server.engines.factory import build_registry
from tests.conftest import skip_or_fail
from tests.engines.conftest import NODES

PYTHON = "/usr/bin/python3"
PREFIX = "nctest-"


def _argv(box: Sandbox, program: list[str]) -> list[str]:
    return box.command(program, args_fd=7)


def _after(argv: list[str], flag: str) -> list[list[str]]:
    """The operands following each occurrence of `flag` (up to two)."""
    return [argv[i + 1 : i + 3] for i, a in enumerate(argv) if a == flag]


NON_ROOT = Sandbox(bwrap="/usr/bin/bwrap", work_dir="/data/engine/local/j/0/work", working_dir="")
AS_ORG = Sandbox(
    bwrap="/usr/bin/bwrap",
    work_dir="/data/engine/local/j/0/work",
    working_dir="a/b",
    devices=("/dev/nvidia2", "/dev/nvidiactl"),
    uid=1234,
    gid=1235,
    setpriv="/usr/bin/setpriv",
    unshare="/usr/bin/unshare",
)


def test_without_root_bwrap_runs_the_job_as_the_servers_user_over_its_directory() -> None:
    argv = _argv(NON_ROOT, ["train.py"])

    assert argv[0] == "/usr/bin/bwrap"
    assert "/usr/bin/setpriv" not in argv and "/usr/bin/unshare" not in argv
    assert ["/data/engine/local/j/0/work", "/job"] in _after(argv, "--bind")
    assert _after(argv, "--chdir") == [["/job", "--remount-ro"]]


def test_as_root_the_job_runs_as_its_orgs_user_with_no_privileges() -> None:
    argv = _argv(AS_ORG, ["train.py"])

    assert argv[:5] == ["/usr/bin/unshare", "--mount", "--propagation", "private", "--"]
    drop = argv.index("/usr/bin/setpriv")
    assert argv[drop : drop + 6] == [
        "/usr/bin/setpriv",
        "--reuid=1234",
        "--regid=1235",
        "--clear-groups",
        "--no-new-privs",
        "--",
    ]
    assert argv[drop + 6] == "/usr/bin/bwrap"
    # The work dir reaches bwrap through the rank's own mount namespace, not by its path.
    assert [AS_ORG.mount_point, "/job"] in _after(argv, "--bind")
    assert ["/dev/nvidia2", "/dev/nvidia2"] in _after(argv, "--dev-bind")
    assert ["/dev/nvidiactl", "/dev/nvidiactl"] in _after(argv, "--dev-bind")
    assert _after(argv, "--dir") == [["/job/a/b", "--chdir"]]
    for flag in ("--unshare-pid", "--unshare-ipc", "--disable-userns", "--die-with-parent"):
        assert flag in argv


@pytest.mark.parametrize("box", [NON_ROOT, AS_ORG], ids=["non-root", "as-org"])
def test_the_job_cannot_smuggle_options_and_its_env_stays_off_the_command_line(
    box: Sandbox,
) -> None:
    program = ["--bind", "/", "/host", "sh"]
    argv = _argv(box, program)

    assert argv[-5:] == ["--", *program]
    assert argv[argv.index("--args") + 1] == "7"
    env = {"TOKEN": "s3cret", "A": "1"}
    assert not any("s3cret" in a for a in argv)
    assert environment_args(env) == b"--clearenv\0--setenv\0TOKEN\0s3cret\0--setenv\0A\0" + b"1\0"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"uid": 0, "gid": 5, "setpriv": "s", "unshare": "u"}, "never runs as root"),
        ({"uid": 5, "gid": 0, "setpriv": "s", "unshare": "u"}, "never runs as root"),
        ({"uid": 5}, "uid and gid go together"),
        ({"uid": 5, "gid": 5}, "needs setpriv and unshare"),
    ],
)
def test_impossible_sandboxes_are_refused(fields: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Sandbox(bwrap="b", work_dir="/w", working_dir="", **fields)  # type: ignore[arg-type]


def test_a_sandbox_survives_its_trip_through_spec_json() -> None:
    assert Sandbox.from_json(AS_ORG.to_json()) == AS_ORG


@pytest.mark.parametrize("box", [NON_ROOT, AS_ORG], ids=["non-root", "as-org"])
@pytest.mark.parametrize(
    ("host_network", "own_namespace"), [(False, True), (True, False)], ids=["own", "host"]
)
def test_the_network_namespace_is_the_jobs_own_unless_the_machines_is_given(
    box: Sandbox, host_network: bool, own_namespace: bool
) -> None:
    argv = _argv(replace(box, host_network=host_network), ["train.py"])

    start = argv.index("/usr/bin/bwrap")
    bwrap_options = argv[start : argv.index("--", start)]
    assert ("--unshare-net" in bwrap_options) is own_namespace


def test_a_spec_json_that_names_no_network_gets_its_own() -> None:
    written = {k: v for k, v in AS_ORG.to_json().items() if k != "host_network"}

    assert "--unshare-net" in _argv(Sandbox.from_json(written), ["train.py"])


def test_only_the_attempts_own_gpu_device_files_are_given(tmp_path: Path) -> None:
    for name in ["nvidia0", "nvidia1", "nvidia2", "nvidia3", "nvidiactl", "nvidia-uvm"]:
        (tmp_path / name).write_text("")

    got = gpu_device_files(tmp_path, [1, 3])

    # nvidia-uvm-tools does not exist here, so it is not given.
    assert got == [str(tmp_path / n) for n in ("nvidia1", "nvidia3", "nvidiactl", "nvidia-uvm")]


def test_an_unknown_isolation_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="isolation must be one of"):
        LocalEngine(tmp_path, NODES, isolation="container")


def test_without_bubblewrap_the_sandbox_is_a_config_error_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "find_program", lambda name: None)

    with pytest.raises(EngineConfigError, match="apt-get install bubblewrap"):
        LocalEngine(tmp_path, NODES, isolation="sandbox")


# -- jobs in the sandbox (as root: each org's own user) -----------------------------------------


@pytest.fixture
def orgs() -> Iterator[Callable[[], str]]:
    """Fresh org ids; their users are deleted afterwards."""
    made: list[str] = []

    def new() -> str:
        made.append(f"org-{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield new
    for org in made:
        subprocess.run(["userdel", derived_user_name(org, PREFIX)], capture_output=True)
        subprocess.run(["groupdel", derived_user_name(org, PREFIX)], capture_output=True)


@pytest.fixture
def boxed(state_dir: Path) -> Iterator[LocalEngine]:
    """A sandboxing local engine whose org users carry the tests' prefix."""
    if os.geteuid() != 0:
        skip_or_fail("sandboxed jobs run as per-org users, which needs root")
    if sandbox.find_program("bwrap") is None:
        skip_or_fail("bubblewrap is not installed (apt-get install bubblewrap)")
    engine = LocalEngine(
        state_dir, NODES, isolation="sandbox", tenant_users=TenantUsers(prefix=PREFIX)
    )
    yield engine
    engine.close()


def _boxed_spec(
    spec: Callable[..., LaunchSpec], org: str, code: str, **overrides: object
) -> LaunchSpec:
    return spec([PYTHON, "-c", code], working_dir=None, org_id=org, **overrides)


def _work(state_dir: Path, job: str = "job-1", attempt: int = 0) -> Path:
    return state_dir / job / str(attempt) / "work"


def test_each_org_runs_as_its_own_user_never_root(
    boxed: LocalEngine, spec, until_ended, orgs, state_dir: Path
) -> None:
    code = "import os; open('ids', 'w').write(f'{os.getuid()} {os.getgid()}')"
    uids = []
    for job, org in (("job-a", orgs()), ("job-b", orgs())):
        status = until_ended(boxed, boxed.launch(_boxed_spec(spec, org, code, job_id=job)))
        assert status.exit_code == 0
        uid, gid = map(int, (_work(state_dir, job) / "ids").read_text().split())
        assert uid not in (0, os.geteuid()) and gid != 0
        assert (_work(state_dir, job).stat().st_uid, _work(state_dir, job).stat().st_gid) == (
            uid,
            gid,
        )
        uids.append(uid)
    assert uids[0] != uids[1]


def test_a_sandboxed_job_gets_its_env_and_gpus_but_none_of_the_servers(
    boxed: LocalEngine, spec, until_ended, orgs, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEOCLOUD_API_KEY", "nc_secret")
    code = "import json, os; json.dump(dict(os.environ), open('env.json', 'w'))"
    job_env = {"FOO": "bar", "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}

    handle = boxed.launch(
        _boxed_spec(spec, orgs(), code, env=job_env, placement=(GpuSlot("n1", (4, 6)),))
    )
    until_ended(boxed, handle)

    env = local_attempt.read_json(_work(state_dir) / "env.json")
    assert env is not None
    assert env["FOO"] == "bar" and "NEOCLOUD_API_KEY" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["NEOCLOUD_GPU_INDICES"] == "4,6"
    assert env["HOME"] == "/job" and "/root" not in env["PATH"]


def test_a_cancelled_sandboxed_job_gets_sigterm_and_its_grace(
    boxed: LocalEngine, spec, until_ended, until_file, orgs, state_dir: Path
) -> None:
    code = (
        "import signal, sys, time\n"
        "def bye(*_):\n"
        "    time.sleep(0.5); open('saved', 'w').write('yes'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "open('ready', 'w').write('')\n"
        "time.sleep(600)\n"
    )
    handle = boxed.launch(_boxed_spec(spec, orgs(), code, grace_seconds=10))
    until_file(_work(state_dir) / "ready")

    boxed.cancel(handle, grace_seconds=10)
    status = until_ended(boxed, handle)

    assert (_work(state_dir) / "saved").read_text() == "yes"
    assert status.reason == "cancelled" and status.exit_code == 0


def test_a_sandboxed_job_that_ignores_sigterm_is_killed_after_the_grace(
    boxed: LocalEngine, spec, until_ended, until_file, wait_for, orgs, state_dir: Path
) -> None:
    code = (
        "import signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen(['sleep', '600'])\n"
        "open('ready', 'w').write('')\n"
        "time.sleep(600)\n"
    )
    handle = boxed.launch(_boxed_spec(spec, orgs(), code, grace_seconds=1))
    until_file(_work(state_dir) / "ready")

    boxed.cancel(handle, grace_seconds=1)
    status = until_ended(boxed, handle)

    assert status.reason == "cancelled"
    # The kill reaches bwrap too, which takes the whole sandbox down with it.
    assert (status.exit_code, status.signal) == (None, 9)
    runner = local_attempt.read_json(state_dir / "job-1" / "0" / local_attempt.RUNNER)
    assert runner is not None
    # Nothing of the attempt outlives it (the runner itself exits right after recording).
    wait_for(lambda: procfs.group_members(runner["pgid"]) == [], "the attempt's processes to go")


def test_a_sandboxed_gang_prefixes_each_ranks_lines(
    boxed: LocalEngine, spec, until_ended, orgs
) -> None:
    code = "import os; print('hello from', os.environ['NEOCLOUD_NODE_RANK'])"
    placement = (GpuSlot("n1", (0,)), GpuSlot("n2", (0,)))

    handle = boxed.launch(_boxed_spec(spec, orgs(), code, placement=placement))
    until_ended(boxed, handle)

    lines = set(boxed.logs(handle, 0, 1 << 16).data.decode().splitlines())
    assert lines == {"[rank 0] hello from 0", "[rank 1] hello from 1"}


def test_a_sandboxed_attempt_needs_its_org(boxed: LocalEngine, spec) -> None:
    with pytest.raises(EngineError, match="org"):
        boxed.launch(_boxed_spec(spec, "", "pass"))


def test_an_unknown_program_fails_the_attempt_and_says_why(
    boxed: LocalEngine, spec, until_ended, orgs
) -> None:
    handle = boxed.launch(spec(["neocloud-no-such-program"], working_dir=None, org_id=orgs()))

    status = until_ended(boxed, handle)

    assert status.state is EngineState.EXITED and status.exit_code != 0
    assert b"neocloud-no-such-program" in boxed.logs(handle, 0, 1 << 16).data


def test_without_root_the_sandbox_runs_jobs_as_the_servers_own_user(
    state_dir: Path, spec, until_ended, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sandbox.find_program("bwrap") is None:
        skip_or_fail("bubblewrap is not installed (apt-get install bubblewrap)")
    server_uid = os.getuid()
    # The engine decides from its effective uid whether it can run jobs as other users.
    monkeypatch.setattr(os, "geteuid", lambda: 4321)
    engine = LocalEngine(state_dir, NODES, isolation="sandbox")
    code = (
        "import os; open('seen', 'w').write("
        "f'{os.getuid()} {os.getcwd()} {sorted(p for p in os.listdir(\"/proc\") if p.isdigit())}')"
    )
    try:
        # No org is needed: nobody's user is looked up.
        status = until_ended(engine, engine.launch(spec([PYTHON, "-c", code], working_dir=None)))
    finally:
        engine.close()

    assert status.exit_code == 0
    uid, cwd, pids = (_work(state_dir) / "seen").read_text().split(" ", 2)
    assert (int(uid), cwd) == (server_uid, "/job")
    assert pids == "['1', '2']"
    recorded = local_attempt.read_json(state_dir / "job-1" / "0" / local_attempt.SPEC)
    assert recorded is not None and recorded["ranks"][0]["sandbox"]["uid"] is None


TWO_LOCAL_CLUSTERS = """\
node_models:
  - {name: m, capex_per_node: 1, life_years: 5, power_kw_per_node: 1, pue: 1.2,
     price_per_kwh: 0.1}
regions:
  - name: r
    clusters:
      - name: open
        engine_options: {external_network: host, internal_network: none}
        nodes:
          - {name: n1, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: m}
      - name: default
        nodes:
          - {name: n2, gpu_type: h100, gpus: 8, cpus: 16, memory_gb: 64, node_model: m}
"""


@pytest.mark.parametrize(
    ("node", "org_kind", "host_network"),
    [
        ("n1", "external", True),
        ("n1", "internal", False),
        ("n2", "external", False),
        ("n2", "internal", True),
    ],
)
def test_each_local_clusters_network_choice_reaches_its_nodes_sandboxes(
    tmp_path: Path, spec, until_ended, orgs, node: str, org_kind: str, host_network: bool
) -> None:
    if os.geteuid() != 0 or sandbox.find_program("bwrap") is None:
        skip_or_fail("sandboxed jobs run as per-org users, which needs root and bubblewrap")
    fleet = parse_fleet(TWO_LOCAL_CLUSTERS, OPTION_RULES).fleet
    registry = build_registry(fleet, tmp_path, tenant_users=TenantUsers(prefix=PREFIX))
    engine = registry.get("local")
    launch = _boxed_spec(spec, orgs(), "pass", org_kind=org_kind, placement=(GpuSlot(node, (0,)),))

    status = until_ended(engine, engine.launch(launch))

    assert status.exit_code == 0
    written = local_attempt.read_json(tmp_path / "engine" / "local" / "job-1" / "0" / "spec.json")
    assert written is not None
    assert written["ranks"][0]["sandbox"]["host_network"] is host_network
    registry.close()
