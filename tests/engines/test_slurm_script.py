"""The Slurm batch script: what it runs for each rank, with and without a sandbox.

The sandboxed rank's wrapper is run here as srun would run it (Slurm's variables set by hand, no
Slurm daemons), so what the sandbox shows a job is checked on this machine; the same against a
real Slurm cluster is tests/security/test_hostile_jobs_slurm.py.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from neocloud.domain.fleet import Cluster, Isolation
from neocloud.engines.base import EngineConfigError, EngineError, LaunchSpec
from neocloud.engines.sandbox import find_program, setenv_args
from neocloud.engines.slurm import script
from neocloud.engines.slurm.options import SlurmOptions
from neocloud.scheduler.model import GpuSlot
from neocloud.server.engines import factory as engine_factory
from tests.conftest import skip_or_fail

PYTHON = "/usr/bin/python3"
SECRET = "token-5b1e"


def _spec(command: list[str], **fields: object) -> LaunchSpec:
    values: dict[str, object] = {
        "job_id": "job-script",
        "attempt": 0,
        "command": command,
        "env": {"API_TOKEN": SECRET, "NEOCLOUD_NODE_RANK": "forged"},
        "working_dir": None,
        "placement": (GpuSlot("n1", (1, 3)),),
        "max_runtime_seconds": 60,
        "grace_seconds": 1,
        "org_id": "org-script",
        **fields,
    }
    return LaunchSpec(**values)  # type: ignore[arg-type]


def _script(spec: LaunchSpec, attempt: Path, sandbox: script.RankSandbox | None) -> str:
    return script.batch_script(spec, str(attempt), "h100", "/opt/srun", "/opt/scancel", sandbox)


def _rank_argv(text: str) -> list[str]:
    """What the script has srun run on every node (the words after srun's own options)."""
    # The srun command line runs up to the " &" before "wait" (quoted arguments span lines).
    argv = shlex.split(text[text.index("\n/opt/srun ") : text.index(" &\nwait $!")])
    return argv[argv.index("/bin/bash") :]


def test_without_a_sandbox_the_job_runs_in_the_scripts_shell_with_its_env() -> None:
    text = _script(_spec(["train"]), Path("/state/j/0"), None)

    assert f"export API_TOKEN={SECRET}" in text
    assert "bwrap" not in text
    assert _rank_argv(text)[-2:] == ["/state/j/0/run", "train"]


def test_a_sandboxed_rank_gets_its_env_only_inside_and_its_work_dir_at_job() -> None:
    box = script.RankSandbox("/usr/bin/bwrap", "/dev", working_dir="a/b")
    text = _script(_spec(["train", "--epochs", "2"]), Path("/state/j/0"), box)
    argv = _rank_argv(text)
    bwrap = argv[argv.index("/usr/bin/bwrap") :]

    assert SECRET not in text, "the job's env must not reach the script's own shell"
    assert "export " not in text
    assert argv[4:7] == ["/state/j/0/run", "/state/j/0", "/dev"]
    # Only run/work is shown, at /job: the fact files in run/ stay outside.
    binds = [bwrap[i + 1 : i + 3] for i, a in enumerate(bwrap) if a == "--bind"]
    assert binds == [["/state/j/0/run/work", "/job"]]
    assert bwrap[bwrap.index("--chdir") + 1] == "/job/a/b"
    # The per-rank device files come through bwrap's --args, after /dev is made.
    assert bwrap.index("--args") > bwrap.index("--dev")
    assert bwrap[bwrap.index("--args") + 1] == "3"
    # Slurm jobs keep the node's network.
    assert "--unshare-net" not in bwrap
    assert bwrap[-4:] == ["--", "train", "--epochs", "2"]


def test_a_gang_with_uneven_gpus_is_refused() -> None:
    spec = _spec(["x"], placement=(GpuSlot("n1", (0,)), GpuSlot("n2", (0, 1))))
    with pytest.raises(EngineError, match="same GPU count"):
        _script(spec, Path("/state/j/0"), script.RankSandbox("/usr/bin/bwrap", "/dev"))


# What a sandboxed rank reports about itself (into /job, the only place it may write).
PROBE = r"""
import json, os
def opens(path):
    try:
        os.close(os.open(path, os.O_RDONLY))
        return True
    except OSError:
        return False
facts = {
    "devices": sorted(n for n in os.listdir("/dev") if n.startswith("nvidia")),
    "opens_own": opens("/dev/nvidia3"),
    "opens_other": opens("/dev/nvidia0"),
    "env": {k: os.environ.get(k) for k in ("API_TOKEN", "CUDA_VISIBLE_DEVICES",
            "NEOCLOUD_GPU_INDICES", "NEOCLOUD_NODE_RANK", "NEOCLOUD_JOB_ID")},
    "sees_run_dir": os.path.exists(os.environ["RUN_DIR"]),
    "sees_host_tmp": os.path.exists(os.environ["HOST_TMP_MARK"]),
    "pid": os.getpid(),
    "cwd": os.getcwd(),
}
open("/job/facts.json", "w").write(json.dumps(facts))
"""


@pytest.fixture
def node(tmp_path: Path) -> dict[str, Path]:
    """An attempt directory as the engine prepares it, and a node's fake GPU device files."""
    if find_program("bwrap") is None:
        skip_or_fail("bubblewrap (bwrap) is not installed")
    attempt = tmp_path / "attempt"
    (attempt / script.RUN / script.WORK).mkdir(parents=True)
    dev = tmp_path / "dev"
    dev.mkdir()
    for i in range(4):
        (dev / f"nvidia{i}").symlink_to("/dev/null")
    mark = tmp_path / "host-tmp-mark"
    mark.write_text("x")
    return {"attempt": attempt, "dev": dev, "mark": mark}


def _run_rank(
    node: dict[str, Path], bwrap: str, slurm_gpus: str
) -> subprocess.CompletedProcess[str]:
    attempt = node["attempt"]
    run = attempt / script.RUN
    spec = _spec(
        [PYTHON, "-c", PROBE],
        env={
            "API_TOKEN": SECRET,
            "NEOCLOUD_NODE_RANK": "forged",
            "RUN_DIR": str(run),
            "HOST_TMP_MARK": str(node["mark"]),
        },
    )
    env = script.job_env(spec, 1, 2)
    (attempt / script.ENV_ARGS).write_bytes(setenv_args(env))
    box = script.RankSandbox(bwrap, str(node["dev"]), working_dir="sub")
    argv = _rank_argv(_script(spec, attempt, box))
    slurm = {"SLURM_STEP_GPUS": slurm_gpus, "SLURM_PROCID": "0", "SLURMD_NODENAME": "n1"}
    return subprocess.run(
        argv,
        env={"PATH": "/usr/bin:/bin", **slurm},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_sandboxed_rank_opens_only_its_own_gpus_and_sees_none_of_the_facts(
    node: dict[str, Path],
) -> None:
    done = _run_rank(node, find_program("bwrap") or "", "1,3")
    assert done.returncode == 0, done.stderr

    run = node["attempt"] / script.RUN
    facts = json.loads((run / script.WORK / "facts.json").read_text())
    assert facts["devices"] == ["nvidia1", "nvidia3"]
    assert facts["opens_own"] and not facts["opens_other"]
    assert facts["env"] == {
        "API_TOKEN": SECRET,
        "CUDA_VISIBLE_DEVICES": "0,1",
        "NEOCLOUD_GPU_INDICES": "1,3",
        "NEOCLOUD_NODE_RANK": "0",  # the job's own value cannot stand in for the rank's
        "NEOCLOUD_JOB_ID": "job-script",
    }
    assert not facts["sees_run_dir"] and not facts["sees_host_tmp"]
    assert facts["pid"] < 10, "the rank has a PID namespace of its own"
    assert facts["cwd"] == "/job/sub"
    # The wrapper, outside, stamped the rank's start where the job cannot reach it.
    assert (run / "rank-0.started").read_text().strip()


def test_a_node_without_bubblewrap_runs_nothing_and_says_why(node: dict[str, Path]) -> None:
    done = _run_rank(node, "/nonexistent/bwrap", "0")

    assert done.returncode == 127
    assert "bubblewrap must be installed on every compute node" in done.stderr
    assert not (node["attempt"] / script.RUN / script.WORK / "facts.json").exists()


@pytest.mark.parametrize(
    ("isolation", "options", "expected"),
    [
        ("user", {}, (False, "/usr/bin/bwrap", "/dev")),
        ("sandbox", {}, (True, "/usr/bin/bwrap", "/dev")),
        (
            "sandbox",
            {"bwrap": "/opt/bin/bwrap", "gpu_device_dir": "/run/gpus"},
            (True, "/opt/bin/bwrap", "/run/gpus"),
        ),
    ],
)
def test_the_clusters_isolation_decides_whether_ranks_are_sandboxed(
    isolation: str, options: dict[str, str], expected: tuple[bool, str, str], tmp_path: Path
) -> None:
    read = SlurmOptions.from_engine_options(options, tmp_path, isolation)
    assert (read.sandbox, str(read.bwrap), str(read.gpu_device_dir)) == expected


def test_the_engine_factory_hands_the_fleets_isolation_to_the_slurm_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[SlurmOptions] = []
    monkeypatch.setattr(
        "neocloud.engines.slurm.engine.SlurmEngine",
        lambda cluster, options, nodes: built.append(options),
    )
    cluster = Cluster("c", "r", "slurm", {}, Isolation.SANDBOX)
    engine_factory._slurm(cluster, [], tmp_path)
    assert built[0].sandbox


def test_a_relative_device_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EngineConfigError, match="gpu_device_dir: must be an absolute path"):
        SlurmOptions.from_engine_options({"gpu_device_dir": "dev"}, tmp_path, "sandbox")
