"""Jobs: submit, watch, read logs, cancel."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

from neocloud.domain.attempts import runs_again
from neocloud.domain.jobs import JobState, PriorityClass, Tier
from neocloud.schemas.common import Page
from neocloud.schemas.jobs import Job, JobCreate, JobEvent, JobLogs
from neocloud.sdk.errors import NeocloudError
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment

LOG_CHUNK = 65536
WAIT_TIMEOUT = "wait_timeout"


def is_final(job: Job) -> bool:
    """True once a job will not change again on its own.

    A preempted job that is not requeued (its policy says no, or it has no attempts left) stays
    preempted, so it is as final as a terminal state.
    """
    if job.state.terminal:
        return True
    return job.state is JobState.PREEMPTED and not runs_again(
        job.requeue_on_preemption, job.attempts, job.max_attempts
    )


class Jobs(Resource):
    """Jobs (`/v1/jobs`)."""

    def submit(
        self,
        command: Sequence[str],
        *,
        gpu_type: str,
        gpus_per_node: int,
        tier: Tier | str,
        nodes: int | None = None,
        priority_class: PriorityClass | str | None = None,
        max_runtime_seconds: int | None = None,
        grace_seconds: int | None = None,
        env: Mapping[str, str] | None = None,
        working_dir: str | None = None,
        requeue_on_preemption: bool | None = None,
        max_attempts: int | None = None,
        project: str | None = None,
        name: str | None = None,
        org: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submit a job; omitted limits take the server's defaults."""
        resources = {"gpu_type": gpu_type, "gpus_per_node": gpus_per_node, "nodes": nodes}
        body = build(
            JobCreate,
            command=list(command),
            resources={k: v for k, v in resources.items() if v is not None},
            tier=tier,
            priority_class=priority_class,
            max_runtime_seconds=max_runtime_seconds,
            grace_seconds=grace_seconds,
            env=dict(env) if env is not None else None,
            working_dir=working_dir,
            requeue_on_preemption=requeue_on_preemption,
            max_attempts=max_attempts,
            project=project,
            name=name,
            org=org,
        )
        return self._t.call("POST", "/v1/jobs", Job, body=body, idempotency_key=idempotency_key)

    def list(
        self,
        *,
        state: JobState | str | None = None,
        org: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[Job]:
        """One page of jobs, optionally of one state or org."""
        return self._t.call(
            "GET",
            "/v1/jobs",
            Page[Job],
            params={"state": state, "org": org, "cursor": cursor, "limit": limit},
        )

    def iter(
        self,
        *,
        state: JobState | str | None = None,
        org: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Job]:
        """Every job, optionally of one state or org."""
        return follow_pages(lambda c: self.list(state=state, org=org, cursor=c, limit=page_size))

    def get(self, job_id: str) -> Job:
        """One job, with its pending reason and allocations."""
        return self._t.call("GET", f"/v1/jobs/{segment(job_id)}", Job)

    def events(self, job_id: str) -> builtins.list[JobEvent]:
        """Every recorded transition of a job, oldest first."""
        return self._t.call("GET", f"/v1/jobs/{segment(job_id)}/events", builtins.list[JobEvent])

    def cancel(self, job_id: str) -> Job:
        """Cancel a job (a running one gets its grace period)."""
        return self._t.call("POST", f"/v1/jobs/{segment(job_id)}/cancel", Job)

    def logs(self, job_id: str, *, offset: int = 0, limit: int = LOG_CHUNK) -> JobLogs:
        """One chunk of a job's output from a byte offset."""
        return self._t.call(
            "GET",
            f"/v1/jobs/{segment(job_id)}/logs",
            JobLogs,
            params={"offset": offset, "limit": limit},
        )

    def iter_logs(
        self,
        job_id: str,
        *,
        offset: int = 0,
        follow: bool = False,
        poll_interval: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[JobLogs]:
        """Chunks of output that have data; with `follow`, poll until the log is complete."""
        while True:
            chunk = self.logs(job_id, offset=offset)
            if chunk.data:
                yield chunk
            if chunk.complete:
                return
            if chunk.next_offset == offset:
                if not follow:
                    return
                sleep(poll_interval)
            offset = chunk.next_offset

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 1.0,
        on_update: Callable[[Job], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> Job:
        """Poll a job until it is final; NeocloudError `wait_timeout` if `timeout` passes first."""
        deadline = None if timeout is None else clock() + timeout
        while True:
            job = self.get(job_id)
            if on_update is not None:
                on_update(job)
            if is_final(job):
                return job
            if deadline is not None and clock() >= deadline:
                raise NeocloudError(
                    None,
                    WAIT_TIMEOUT,
                    f"job {job_id} is still {job.state} after {timeout:g}s",
                    {"job_id": job_id, "state": str(job.state)},
                )
            delay = poll_interval
            if deadline is not None:
                delay = max(0.0, min(delay, deadline - clock()))
            sleep(delay)
