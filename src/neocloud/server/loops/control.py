"""The control loop: reconcile with engines, deliver stops, schedule, launch.

Each step commits what it decided before acting on an engine, and each action is driven by
durable state, so a crash at any line is repaired by the next tick after a restart: a job marked
scheduled without an engine handle is launched, a preemption or cancel recorded but not yet sent
is sent, and usage is written once per allocation (unique by allocation id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.jobs import JobState
from neocloud.engines.base import EngineHandle, EngineStatus, LaunchSpec
from neocloud.scheduler import schedule
from neocloud.scheduler.model import GpuSlot, Preempt, SchedulingResult, Start
from neocloud.server import metrics
from neocloud.server.clock import utcnow
from neocloud.server.engines import EngineRegistry
from neocloud.server.loops.snapshot import build_snapshot
from neocloud.server.services import credit_guard
from neocloud.server.services.lifecycle import close_allocations, record_event, transition
from neocloud.store.db import Database
from neocloud.store.ids import new_id
from neocloud.store.models import AllocationRow, JobRow, NodeRow

log = logging.getLogger("neocloud.loop")
ACTIVE = (JobState.SCHEDULED.value, JobState.RUNNING.value)


class ControlLoop:
    """Drives jobs from pending to an end state; one instance per control plane."""

    def __init__(
        self,
        db: Database,
        engines: EngineRegistry,
        clock: Callable[[], datetime] = utcnow,
        interval_seconds: float = 0.5,
        half_life_seconds: float = 7 * 86_400,
        credit_interval_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.engines = engines
        self.clock = clock
        self.interval = interval_seconds
        self.half_life_seconds = half_life_seconds
        self.credit_interval = credit_interval_seconds
        self._credit_checked: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Run ticks in a background thread until stop()."""
        self._thread = threading.Thread(target=self._run, name="neocloud-control", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current tick."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.perf_counter()
            try:
                self.tick()
            except Exception:
                metrics.LOOP_ERRORS.inc()
                log.exception("control loop tick failed; retrying next tick")
            metrics.LOOP_SECONDS.observe(time.perf_counter() - began)
            self._stop.wait(self.interval)

    def tick(self) -> None:
        """One pass: reconcile, send stops, schedule, launch."""
        with self._lock:
            self.reconcile()
            self.guard_credit()
            self.send_stops()
            self.schedule_pass()
            self.launch_scheduled()

    # -- reconcile ---------------------------------------------------------------------------
    def reconcile(self) -> None:
        """Bring each active job's state in line with what its engine observed."""
        with self.db.session() as s:
            active = [
                (j.id, j.engine_handle)
                for j in s.scalars(select(JobRow).where(JobRow.state.in_(ACTIVE))).all()
                if j.engine_handle
            ]
        for job_id, handle_text in active:
            assert handle_text is not None
            handle = EngineHandle.from_str(handle_text)
            if not self.engines.available(handle.engine):
                continue
            try:
                status = self.engines.for_handle(handle).poll(handle)
            except Exception:
                # An engine we cannot read is not a lost job: keep the job as it is and retry.
                log.exception("poll failed for job %s", job_id)
                continue
            with self.db.session() as s:
                job = s.get(JobRow, job_id, with_for_update=True)
                if job is not None and job.state in ACTIVE and job.engine_handle == handle_text:
                    self._apply_status(s, job, status)

    def _apply_status(self, s: Session, job: JobRow, st: EngineStatus) -> None:
        now = self.clock()
        if st.started_at is not None and job.started_at is None:
            job.started_at = st.started_at
        if st.started_at is not None:
            for a in s.scalars(
                select(AllocationRow).where(
                    AllocationRow.job_id == job.id,
                    AllocationRow.attempt == job.attempts,
                    AllocationRow.started_at.is_(None),
                )
            ).all():
                a.started_at = st.started_at
        if st.state in ("starting", "running"):
            if job.state == JobState.SCHEDULED.value and st.state == "running":
                transition(s, job, JobState.RUNNING, "started", now, "running on the engine")
            return
        ended = st.ended_at or now
        used = close_allocations(s, job, st.started_at, ended, now)
        job.exit_code = st.exit_code
        details = {
            "gpu_seconds": used,
            "exit_code": st.exit_code,
            "signal": st.signal,
            "engine_reason": st.reason,
        }
        if job.preempting_for and st.reason_code == "cancelled" and not job.cancel_requested:
            self._finish_preempted(s, job, now, details)
        elif job.cancel_requested and credit_guard.stopped_for_credit(s, job):
            msg = "stopped: the org's credit is used up"
            transition(s, job, JobState.CANCELLED, "credit_limit", ended, msg, details)
        elif job.cancel_requested:
            transition(
                s, job, JobState.CANCELLED, "cancelled", ended, "stopped on request", details
            )
        elif st.reason_code == "max_runtime_exceeded":
            msg = f"killed after exceeding max runtime of {job.max_runtime_seconds} s"
            transition(s, job, JobState.FAILED, "max_runtime_exceeded", ended, msg, details)
        elif st.state == "lost":
            msg = f"the job's processes vanished without an exit status ({st.reason or 'unknown'})"
            transition(s, job, JobState.FAILED, "lost", ended, msg, details)
        elif st.exit_code == 0:
            transition(s, job, JobState.SUCCEEDED, "exited", ended, "exited with code 0", details)
        else:
            reason = st.reason_code or ("signal" if st.signal else "exit_code")
            how = (
                f"killed by signal {st.signal}"
                if st.exit_code is None
                else f"exited with code {st.exit_code}"
            )
            msg = how + (f" ({st.reason})" if st.reason else "")
            transition(s, job, JobState.FAILED, reason[:64], ended, msg, details)
        job.ended_at = ended

    def _finish_preempted(
        self, s: Session, job: JobRow, now: datetime, details: Mapping[str, object]
    ) -> None:
        by = job.preempting_for
        transition(
            s,
            job,
            JobState.PREEMPTED,
            "preempted",
            now,
            f"preempted to make room for job {by}",
            {**details, "by_job": by},
        )
        metrics.PREEMPTIONS.inc()
        job.preempting_for = None
        job.engine_handle = None
        job.stop_sent_at = None
        if job.requeue_on_preemption:
            transition(s, job, JobState.PENDING, "requeued", now, "requeued after preemption")
            job.ended_at = None

    # -- credit --------------------------------------------------------------------------------
    def guard_credit(self) -> None:
        """Every few seconds: notice, then stop, the work of prepaid orgs out of credit."""
        mono = time.monotonic()
        if self._credit_checked is not None and mono - self._credit_checked < self.credit_interval:
            return
        self._credit_checked = mono
        with self.db.session() as s:
            report = credit_guard.enforce(s, self.clock())
        if report.noticed or report.stopped or report.cancelled_pending:
            log.info(
                "credit limit: noticed %s, stopping %s, cancelled pending %s",
                report.noticed,
                report.stopped,
                report.cancelled_pending,
            )

    # -- stops ---------------------------------------------------------------------------------
    def send_stops(self) -> None:
        """Deliver cancels and preemption notices that are recorded but not yet sent."""
        with self.db.session() as s:
            todo = [
                (j.id, j.engine_handle, j.grace_seconds)
                for j in s.scalars(
                    select(JobRow).where(
                        JobRow.state.in_(ACTIVE),
                        JobRow.stop_sent_at.is_(None),
                        JobRow.engine_handle.is_not(None),
                    )
                ).all()
                if j.cancel_requested or j.preempting_for
            ]
        for job_id, handle_text, grace in todo:
            assert handle_text is not None
            handle = EngineHandle.from_str(handle_text)
            try:
                self.engines.for_handle(handle).cancel(handle, grace)
            except Exception:
                log.exception("could not signal job %s; will retry", job_id)
                continue
            with self.db.session() as s:
                job = s.get(JobRow, job_id, with_for_update=True)
                if job is not None:
                    job.stop_sent_at = self.clock()

    # -- schedule ------------------------------------------------------------------------------
    def schedule_pass(self) -> SchedulingResult:
        """Run the pure scheduler on a snapshot and record its decisions."""
        with self.db.session() as s:
            now = self.clock()
            snapshot = build_snapshot(s, self.engines.engines.keys(), now, self.half_life_seconds)
            result = schedule(snapshot)
            for start in result.starts:
                self._record_start(s, start, now)
            for pre in result.preemptions:
                self._record_preemption(s, pre, now)
            for wait in result.waits:
                job = s.get(JobRow, wait.job_id)
                if job is not None and (job.reason, job.message) != (
                    wait.reason.value,
                    wait.message,
                ):
                    job.reason = wait.reason.value
                    job.message = wait.message
        return result

    def _record_start(self, s: Session, start: Start, now: datetime) -> None:
        job = s.get(JobRow, start.job_id)
        assert job is not None and job.state == JobState.PENDING.value
        job.attempts += 1
        regions = {
            n.name: n.region
            for n in s.scalars(
                select(NodeRow).where(NodeRow.name.in_([g.node for g in start.placement]))
            ).all()
        }
        for slot in start.placement:
            s.add(
                AllocationRow(
                    id=new_id("alc"),
                    job_id=job.id,
                    attempt=job.attempts,
                    node=slot.node,
                    gpu_indices=list(slot.gpu_indices),
                    gpu_type=job.gpu_type,
                    region=regions.get(slot.node, ""),
                )
            )
        placed = ", ".join(f"{g.node}:{','.join(map(str, g.gpu_indices))}" for g in start.placement)
        transition(
            s,
            job,
            JobState.SCHEDULED,
            "scheduled",
            now,
            f"placed on {placed}",
            {"attempt": job.attempts, "placement": placed},
        )
        job.engine_handle = None
        job.stop_sent_at = None
        job.exit_code = None

    def _record_preemption(self, s: Session, pre: Preempt, now: datetime) -> None:
        job = s.get(JobRow, pre.job_id)
        assert job is not None
        job.preempting_for = pre.by_job_id
        record_event(
            s,
            job,
            JobState(job.state),
            "preemption_notice",
            now,
            f"preempted for job {pre.by_job_id} under rule {pre.rule}; "
            f"SIGTERM now, SIGKILL after {pre.grace_seconds} s",
            {"by_job": pre.by_job_id, "rule": pre.rule, "grace_seconds": pre.grace_seconds},
            from_state=JobState(job.state),
        )

    # -- launch --------------------------------------------------------------------------------
    def launch_scheduled(self) -> None:
        """Start on its engine every scheduled job that has no engine handle yet."""
        with self.db.session() as s:
            todo = []
            for job in s.scalars(
                select(JobRow).where(
                    JobRow.state == JobState.SCHEDULED.value, JobRow.engine_handle.is_(None)
                )
            ).all():
                allocs = s.scalars(
                    select(AllocationRow)
                    .where(AllocationRow.job_id == job.id, AllocationRow.attempt == job.attempts)
                    .order_by(AllocationRow.node)
                ).all()
                node = s.get(NodeRow, allocs[0].node) if allocs else None
                spec = LaunchSpec(
                    job_id=job.id,
                    attempt=job.attempts,
                    command=list(job.command),
                    env=dict(job.env),
                    working_dir=job.working_dir,
                    placement=tuple(GpuSlot(a.node, tuple(a.gpu_indices)) for a in allocs),
                    max_runtime_seconds=job.max_runtime_seconds,
                    grace_seconds=job.grace_seconds,
                )
                todo.append((job.id, node.engine if node else "local", spec))
        for job_id, engine_name, spec in todo:
            try:
                handle = self.engines.get(engine_name).launch(spec)
            except Exception as exc:
                log.exception("launch failed for job %s", job_id)
                with self.db.session() as s:
                    failed = s.get(JobRow, job_id, with_for_update=True)
                    if failed is not None and failed.state == JobState.SCHEDULED.value:
                        now = self.clock()
                        close_allocations(s, failed, None, now, now)
                        transition(s, failed, JobState.FAILED, "launch_failed", now, str(exc)[:500])
                continue
            with self.db.session() as s:
                launched = s.get(JobRow, job_id, with_for_update=True)
                if launched is not None:
                    launched.engine_handle = handle.to_str()
                    for a in s.scalars(
                        select(AllocationRow).where(
                            AllocationRow.job_id == job_id, AllocationRow.attempt == spec.attempt
                        )
                    ).all():
                        a.engine_handle = launched.engine_handle
