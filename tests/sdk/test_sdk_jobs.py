"""Submitting jobs, waiting for them and reading their logs."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from neocloud.schemas.jobs import Job
from neocloud.sdk.errors import NeocloudError
from tests.sdk import sdk_samples as s
from tests.sdk.api_double import Api


def test_submit_sends_the_job_create_body(api: Api) -> None:
    api.on("POST", "/v1/jobs", s.job(), status=201)

    job = api.client().jobs.submit(
        ["python", "train.py", "--epochs", "3"],
        gpu_type="h100",
        gpus_per_node=8,
        nodes=2,
        tier="internal",
        priority_class="production",
        max_runtime_seconds=7200,
        env={"SEED": "1"},
        requeue_on_preemption=False,
        project="vision",
    )

    assert isinstance(job, Job)
    assert json.loads(api.requests[-1].content) == {
        "command": ["python", "train.py", "--epochs", "3"],
        "env": {"SEED": "1"},
        "resources": {"gpu_type": "h100", "gpus_per_node": 8, "nodes": 2},
        "tier": "internal",
        "priority_class": "production",
        "max_runtime_seconds": 7200,
        "grace_seconds": 30,
        "requeue_on_preemption": False,
        "project": "vision",
    }


def test_priority_outside_internal_is_refused_locally(api: Api) -> None:
    with pytest.raises(NeocloudError) as caught:
        api.client().jobs.submit(
            ["true"], gpu_type="h100", gpus_per_node=1, tier="spot", priority_class="batch"
        )

    assert caught.value.code == "invalid_request"
    assert "priority_class" in caught.value.message
    assert api.requests == []


def states(*sequence: dict[str, object]) -> Callable[[httpx.Request], httpx.Response]:
    """Answer GET /v1/jobs/job_1 with each job in turn, then the last one forever."""
    remaining = list(sequence)

    def answer(_: httpx.Request) -> httpx.Response:
        body = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return httpx.Response(200, json=body)

    return answer


@pytest.mark.parametrize(
    ("final", "requeue"),
    [
        ("succeeded", True),
        ("failed", True),
        ("cancelled", True),
        ("preempted", False),
    ],
)
def test_wait_returns_at_a_final_state(api: Api, final: str, requeue: bool) -> None:
    api.handle(
        "GET",
        "/v1/jobs/job_1",
        states(
            s.job(state="pending"),
            s.job(state="running"),
            s.job(state=final, requeue_on_preemption=requeue),
        ),
    )
    seen: list[str] = []
    sleeps: list[float] = []

    job = api.client().jobs.wait(
        "job_1", poll_interval=0.25, on_update=lambda j: seen.append(j.state), sleep=sleeps.append
    )

    assert job.state == final
    assert seen == ["pending", "running", final]
    assert sleeps == [0.25, 0.25]


def test_wait_keeps_going_through_a_requeued_preemption(api: Api) -> None:
    api.handle(
        "GET",
        "/v1/jobs/job_1",
        states(s.job(state="preempted"), s.job(state="pending"), s.job(state="succeeded")),
    )

    job = api.client().jobs.wait("job_1", sleep=lambda _: None)

    assert job.state == "succeeded"
    assert len(api.requests) == 3


def test_wait_times_out(api: Api) -> None:
    api.on("GET", "/v1/jobs/job_1", s.job(state="running"))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(NeocloudError) as caught:
        api.client().jobs.wait(
            "job_1", timeout=2.5, poll_interval=1.0, sleep=sleep, clock=lambda: now[0]
        )

    assert caught.value.code == "wait_timeout"
    assert "running" in caught.value.message
    assert now[0] == 2.5


def log_chunks(*chunks: tuple[str, bool]) -> Callable[[httpx.Request], httpx.Response]:
    """Serve a log that grows by one chunk per request, at the offset asked for."""
    produced = ""
    complete = False
    pending = list(chunks)

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal produced, complete
        if pending:
            data, complete = pending.pop(0)
            produced += data
        offset = int(request.url.params["offset"])
        data = produced[offset:]
        return httpx.Response(
            200,
            json=s.job_logs(
                offset=offset, next_offset=offset + len(data), data=data, complete=complete
            ),
        )

    return answer


def test_follow_polls_until_complete(api: Api) -> None:
    api.handle(
        "GET",
        "/v1/jobs/job_1/logs",
        log_chunks(("step 1\n", False), ("", False), ("step 2\n", False), ("done\n", True)),
    )
    sleeps: list[float] = []

    chunks = list(api.client().jobs.iter_logs("job_1", follow=True, sleep=sleeps.append))

    assert "".join(c.data for c in chunks) == "step 1\nstep 2\ndone\n"
    assert sleeps == [0.5]
    assert [r.url.params["offset"] for r in api.requests] == ["0", "7", "7", "14"]


def test_without_follow_stops_when_no_new_output(api: Api) -> None:
    api.handle("GET", "/v1/jobs/job_1/logs", log_chunks(("step 1\n", False), ("", False)))

    def no_sleep(_: float) -> None:
        pytest.fail("without --follow nothing waits")

    chunks = list(api.client().jobs.iter_logs("job_1", sleep=no_sleep))

    assert [c.data for c in chunks] == ["step 1\n"]
