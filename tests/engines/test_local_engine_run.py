"""The local engine runs a job attempt as a process: environment, exit codes, launch failures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from neocloud.engines.base import EngineError, EngineState
from neocloud.scheduler.model import GpuSlot

DUMP_ENV = (
    "import json, os; "
    "json.dump({'env': dict(os.environ), 'cwd': os.getcwd()}, open(os.environ['OUT'], 'w'))"
)


def test_job_sees_its_gpus_identity_and_own_env(engine, spec, until_ended, workdir: Path) -> None:
    out = workdir / "seen.json"
    handle = engine.launch(
        spec(
            [sys.executable, "-c", DUMP_ENV],
            job_id="job-env",
            attempt=2,
            env={"OUT": str(out), "FOO": "bar"},
            placement=(GpuSlot("n2", (3, 5)),),
        )
    )

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED and status.exit_code == 0
    env = json.loads(out.read_text())["env"]
    assert env["CUDA_VISIBLE_DEVICES"] == "3,5"
    assert env["NEOCLOUD_JOB_ID"] == "job-env"
    assert env["NEOCLOUD_ATTEMPT"] == "2"
    assert env["NEOCLOUD_GPUS"] == "2"
    assert env["NEOCLOUD_NODE_NAME"] == "n2"
    assert env["NEOCLOUD_NODE_RANK"] == "0"
    assert env["NEOCLOUD_NUM_NODES"] == "1"
    assert env["FOO"] == "bar"


def test_job_env_is_a_clean_base_without_control_plane_secrets(
    engine, spec, until_ended, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEOCLOUD_API_KEY", "nc_secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://admin:pw@db/neocloud")
    out = workdir / "seen.json"
    # A job cannot pretend to be another rank or grab other GPUs through its own env.
    job_env = {"OUT": str(out), "NEOCLOUD_NODE_RANK": "7", "CUDA_VISIBLE_DEVICES": "0,1,2,3"}

    until_ended(engine, engine.launch(spec([sys.executable, "-c", DUMP_ENV], env=job_env)))

    env = json.loads(out.read_text())["env"]
    assert "NEOCLOUD_API_KEY" not in env
    assert "DATABASE_URL" not in env
    assert env["PATH"]
    assert env["NEOCLOUD_NODE_RANK"] == "0"
    assert env["CUDA_VISIBLE_DEVICES"] == "0"


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code_is_recorded(engine, spec, until_ended, code: int) -> None:
    handle = engine.launch(spec([sys.executable, "-c", f"raise SystemExit({code})"]))

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.exit_code == code
    assert status.signal is None
    assert status.reason is None
    assert status.started_at is not None and status.ended_at is not None
    assert status.started_at <= status.ended_at
    assert status.started_at.utcoffset() is not None


def test_job_runs_in_its_attempt_dir_when_no_working_dir_is_given(
    engine, spec, until_ended, workdir: Path, state_dir: Path
) -> None:
    out = workdir / "seen.json"
    handle = engine.launch(
        spec([sys.executable, "-c", DUMP_ENV], env={"OUT": str(out)}, working_dir=None)
    )

    until_ended(engine, handle)

    assert Path(json.loads(out.read_text())["cwd"]) == (state_dir / "job-1" / "0").resolve()


@pytest.mark.parametrize(("working_dir", "inside"), [("out/x", "out/x"), ("/job/y", "y")])
def test_a_working_dir_inside_the_job_dir_is_made_in_the_attempt_dir(
    engine, spec, until_ended, workdir: Path, state_dir: Path, working_dir: str, inside: str
) -> None:
    out = workdir / "seen.json"
    handle = engine.launch(
        spec([sys.executable, "-c", DUMP_ENV], env={"OUT": str(out)}, working_dir=working_dir)
    )

    until_ended(engine, handle)

    assert (
        Path(json.loads(out.read_text())["cwd"]) == (state_dir / "job-1" / "0" / inside).resolve()
    )


@pytest.mark.parametrize("working_dir", ["../x", "/job/../etc"])
def test_a_working_dir_escaping_the_job_dir_is_refused(engine, spec, working_dir: str) -> None:
    with pytest.raises(EngineError, match="working_dir"):
        engine.launch(spec(["true"], working_dir=working_dir))


def test_missing_working_dir_ends_the_attempt_with_a_clear_reason(
    engine, spec, until_ended, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir"
    handle = engine.launch(spec(["true"], working_dir=str(missing)))

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.exit_code is None
    assert status.reason == f"launch_failed: working dir {missing} does not exist"
    assert status.reason_code == "launch_failed"


def test_unknown_command_ends_the_attempt_with_a_clear_reason(engine, spec, until_ended) -> None:
    handle = engine.launch(spec(["neocloud-no-such-program"]))

    status = until_ended(engine, handle)

    assert status.state is EngineState.EXITED
    assert status.exit_code is None
    assert status.reason is not None
    assert status.reason.startswith("launch_failed: cannot start 'neocloud-no-such-program'")


def test_launching_the_same_attempt_twice_runs_it_once(
    engine, spec, until_ended, workdir: Path
) -> None:
    starts = workdir / "starts.txt"
    attempt = spec(
        [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('started\\n')"],
        job_id="job-once",
    )

    first = engine.launch(attempt)
    second = engine.launch(attempt)
    until_ended(engine, first)

    assert first == second
    assert starts.read_text() == "started\n"


def test_relaunching_an_attempt_with_another_spec_is_refused(engine, spec, until_ended) -> None:
    handle = engine.launch(spec(["true"]))
    until_ended(engine, handle)

    with pytest.raises(EngineError, match="already launched"):
        engine.launch(spec(["false"]))


@pytest.mark.parametrize(
    ("placement", "message"),
    [
        ((GpuSlot("n9", (0,)),), "unknown node 'n9'"),
        ((GpuSlot("n1", (8,)),), r"node n1 has GPUs 0\.\.7, got \[8\]"),
        ((GpuSlot("n1", (1, 1)),), "GPU index repeated"),
    ],
)
def test_a_placement_the_engine_cannot_honour_is_refused(
    engine, spec, state_dir: Path, placement, message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        engine.launch(spec(["true"], placement=placement))

    assert not (state_dir / "job-1").exists()


@pytest.mark.parametrize("job_id", ["../escape", "a/b", ".hidden"])
def test_job_ids_that_are_not_safe_directory_names_are_refused(engine, spec, job_id: str) -> None:
    with pytest.raises(EngineError, match="job_id"):
        engine.launch(spec(["true"], job_id=job_id))
