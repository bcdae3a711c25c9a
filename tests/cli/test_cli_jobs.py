"""`neocloud jobs`: submit from flags, tables, logs, waiting."""

from __future__ import annotations

import json

import httpx
import pytest

from neocloud.cli import jobs as jobs_cli
from tests.cli.harness import Cli
from tests.sdk import sdk_samples as s


@pytest.fixture(autouse=True)
def no_polling_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polling commands poll without sleeping."""
    monkeypatch.setattr(jobs_cli, "WAIT_POLL_SECONDS", 0.0)
    monkeypatch.setattr(jobs_cli, "FOLLOW_POLL_SECONDS", 0.0)


def test_submit_turns_flags_into_a_job(cli: Cli) -> None:
    cli.api.on("POST", "/v1/jobs", s.job(), status=201)

    result = cli.run(
        "jobs", "submit",
        "--gpu-type", "h100", "--gpus", "8", "--nodes", "2", "--tier", "internal",
        "--priority", "production", "--max-runtime", "2h", "--grace", "1m",
        "--env", "SEED=1", "--env", "OPTS=a=b", "--workdir", "out", "--project", "vision",
        "--name", "train", "--no-requeue", "--max-attempts", "3",
        "--", "python", "train.py", "--epochs", "3",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert cli.api.last_json() == {
        "name": "train",
        "command": ["python", "train.py", "--epochs", "3"],
        "env": {"SEED": "1", "OPTS": "a=b"},
        "working_dir": "out",
        "resources": {"gpu_type": "h100", "gpus_per_node": 8, "nodes": 2},
        "tier": "internal",
        "priority_class": "production",
        "max_runtime_seconds": 7200,
        "grace_seconds": 60,
        "requeue_on_preemption": False,
        "max_attempts": 3,
        "project": "vision",
    }
    assert "job_1" in result.stdout


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max-runtime", "soon"), ("--env", "NOEQUALS"), ("--gpus", "0"), ("--max-attempts", "0")],
)
def test_submit_bad_flags_are_usage_errors(cli: Cli, flag: str, value: str) -> None:
    args = ["--gpu-type", "h100", "--gpus", "1", "--tier", "spot", flag, value, "--", "true"]

    result = cli.run("jobs", "submit", *args)

    assert result.exit_code == 2
    assert cli.api.requests == []


def test_list_table_and_json(cli: Cli) -> None:
    jobs = [s.job(), s.job(id="job_2", state="running", reason=None, nodes=2, gpus_per_node=8)]
    cli.api.on("GET", "/v1/jobs", s.page(jobs))

    table = cli.run("jobs", "list", "--state", "running")
    machine = cli.run("jobs", "list", "--json")

    rows = [line.split() for line in table.stdout.splitlines()]
    assert [r[:8] for r in rows if r and r[0].startswith("job_")] == [
        ["job_1", "train", "org_1", "spot", "2", "h100", "pending", "quota"],
        ["job_2", "train", "org_1", "spot", "2×8", "h100", "running", "-"],
    ]
    assert cli.api.requests[0].url.params["state"] == "running"
    assert json.loads(machine.stdout) == jobs


def test_show_explains_a_pending_job_and_lists_allocations(cli: Cli) -> None:
    allocation = {
        "id": "alc_1",
        "node": "h100-01",
        "gpu_indices": [0, 1],
        "started_at": "2026-11-01T00:00:05Z",
        "ended_at": None,
    }
    cli.api.on("GET", "/v1/jobs/job_1", s.job(allocations=[allocation]))

    result = cli.run("jobs", "show", "job_1")

    assert result.exit_code == 0
    assert "quota: org acme holds 16/16 h100" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["reason", "quota"] in rows
    assert ["alc_1", "h100-01", "0,1", "2026-11-01", "00:00:05Z", "-"] in rows


def test_logs_follow_prints_output_as_it_arrives(cli: Cli) -> None:
    chunks = iter(
        [
            s.job_logs(offset=0, next_offset=6, data="hello\n"),
            s.job_logs(offset=6, next_offset=6, data=""),
            s.job_logs(offset=6, next_offset=12, data="world\n", complete=True),
        ]
    )
    cli.api.handle("GET", "/v1/jobs/job_1/logs", lambda _: httpx.Response(200, json=next(chunks)))

    result = cli.run("jobs", "logs", "job_1", "--follow")

    assert result.exit_code == 0
    assert result.stdout == "hello\nworld\n"
    assert [r.url.params["offset"] for r in cli.api.requests] == ["0", "6", "6"]


@pytest.mark.parametrize(
    ("final", "exit_code"),
    [("succeeded", 0), ("failed", 1), ("cancelled", 1)],
)
def test_wait_exit_code_follows_the_outcome(cli: Cli, final: str, exit_code: int) -> None:
    answers = iter([s.job(state="running"), s.job(state=final, exit_code=exit_code)])
    cli.api.handle("GET", "/v1/jobs/job_1", lambda _: httpx.Response(200, json=next(answers)))

    result = cli.run("jobs", "wait", "job_1")

    assert result.exit_code == exit_code
    assert result.stdout.startswith(f"job_1 {final} (exit code {exit_code})")


def test_wait_timeout_exits_1(cli: Cli) -> None:
    cli.api.on("GET", "/v1/jobs/job_1", s.job(state="running"))

    result = cli.run("jobs", "wait", "job_1", "--timeout", "0")

    assert result.exit_code == 1
    assert result.stderr.startswith("error: wait_timeout: job job_1 is still running")


def test_cancel_json(cli: Cli) -> None:
    cli.api.on("POST", "/v1/jobs/job_1/cancel", s.job(state="cancelled"))

    result = cli.run("jobs", "cancel", "job_1", "--json")

    assert result.exit_code == 0
    assert json.loads(result.stdout)["state"] == "cancelled"


def test_brackets_in_values_are_printed_not_read_as_markup(cli: Cli) -> None:
    cli.api.on("GET", "/v1/jobs/job_1", s.job(name="[bold]sweep[/bold]", command=["echo", "[x]"]))

    result = cli.run("jobs", "show", "job_1")

    assert "[bold]sweep[/bold]" in result.stdout
    assert "echo [x]" in result.stdout
