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
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.attempts import NODE_FAILED, EndKind
from neocloud.domain.jobs import JobState
from neocloud.engines.base import (
    EngineError,
    EngineHandle,
    EngineStatus,
    EngineUnavailable,
    LaunchSpec,
)
from neocloud.scheduler import schedule
from neocloud.scheduler.model import GpuSlot, Preempt, SchedulingResult, Start
from neocloud.server.engines import check as engine_check
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.http import metrics
from neocloud.server.http.clock import utcnow
from neocloud.server.jobs import credit_guard, drain
from neocloud.server.jobs.attempt_end import finish_attempt
from neocloud.server.jobs.lifecycle import (
    close_allocations,
    open_allocations,
    record_event,
    transition,
)
from neocloud.server.jobs.snapshot import build_snapshot
from neocloud.store.db import Database
from neocloud.store.ids import new_id
from neocloud.store.models import AllocationRow, JobRow, NodeRow, OrgRow

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
        inventory_interval_seconds: float = 2.0,
    ) -> None:
        self.db = db
        self.engines = engines
        self.clock = clock
        self.interval = interval_seconds
        self.half_life_seconds = half_life_seconds
        self.credit_interval = credit_interval_seconds
        self._credit_checked: float | None = None
        self.inventory_interval = inventory_interval_seconds
        self._inventory_checked: float | None = None
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
        """One pass: reconcile, send stops, read node health, schedule, launch."""
        with self._lock:
            self.reconcile()
            self.guard_credit()
            self.send_stops()
            self.check_engines()
            self.schedule_pass()
            self.launch_scheduled()

    # -- engine health ------------------------------------------------------------------------
    def _unreachable(self, engine: str, exc: Exception) -> None:
        """An engine call could not connect: degrade it and back off; jobs stay as they are."""
        condition = self.engines.health.failed(engine, str(exc), self.clock())
        metrics.LOOP_ERRORS.inc()
        log.warning(
            "engine %s unreachable (%s failures in a row, next try in %.0f s): %s",
            engine,
            condition.failures,
            condition.retry_in_seconds or 0,
            exc,
        )

    def _reachable(self, engine: str) -> None:
        if self.engines.health.succeeded(engine, self.clock()):
            log.warning("engine %s answers again", engine)

    def check_engines(self, force: bool = False) -> None:
        """Every few seconds: each engine's inventory; down or drained nodes take no new work,
        and the jobs of a drained node are stopped where the cluster's on_drain says so."""
        mono = time.monotonic()
        if (
            not force
            and self._inventory_checked is not None
            and mono - self._inventory_checked < self.inventory_interval
        ):
            return
        self._inventory_checked = mono
        with self.db.session() as s:
            declared = engine_check.declared_nodes(s)
        engine_check.refresh(self.engines, declared, self.clock(), respect_backoff=True)
        drained = drain.drained_nodes(self.engines, declared)
        if drained:
            with self.db.session() as s:
                marked = drain.mark_drained(s, drained, self.clock())
            if marked:
                log.warning("stopping jobs on drained nodes: %s", ", ".join(marked))

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
            if not self.engines.health.ready(handle.engine):
                continue
            try:
                status = self.engines.for_handle(handle).poll(handle)
            except EngineUnavailable as exc:
                # An engine we cannot read is not a lost job: keep the job as it is and retry.
                self._unreachable(handle.engine, exc)
                continue
            except Exception:
                log.exception("poll failed for job %s", job_id)
                continue
            self._reachable(handle.engine)
            with self.db.session() as s:
                job = s.get(JobRow, job_id, with_for_update=True)
                if job is not None and job.state in ACTIVE and job.engine_handle == handle_text:
                    self._apply_status(s, job, status)

    def _apply_status(self, s: Session, job: JobRow, st: EngineStatus) -> None:
        now = self.clock()
        if st.placement is not None:
            self._record_real_gpus(s, job, st, now)
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
        # Stopped because its node was drained (not by a cancel or preemption of its own, and not
        # ended by itself first): its usage ends when the drain was seen.
        drained = (
            job.drained_at is not None
            and not job.cancel_requested
            and not job.preempting_for
            and (st.reason_code in ("cancelled", NODE_FAILED) or st.state == "lost")
        )
        if drained:
            assert job.drained_at is not None
            ended = min(ended, job.drained_at)
        used = close_allocations(s, job, st.started_at, ended, now)
        job.exit_code = st.exit_code
        details = {
            "gpu_seconds": used,
            "exit_code": st.exit_code,
            "signal": st.signal,
            "engine_reason": st.reason,
        }
        if drained:
            drain.finish_drained(s, job, now, details)
            return
        credit_stop = job.cancel_requested and credit_guard.stopped_for_credit(s, job)
        end = finish_attempt(s, job, st, ended, now, details, credit_stop=credit_stop)
        if end.kind is EndKind.PREEMPTED:
            metrics.PREEMPTIONS.inc()
        elif end.kind is EndKind.NODE_FAILED:
            # The failed node must leave the schedulable set before the next placement.
            self._inventory_checked = None

    def _record_real_gpus(self, s: Session, job: JobRow, st: EngineStatus, now: datetime) -> None:
        """Keep the GPU indices the engine really gave (Slurm chooses them itself)."""
        assert st.placement is not None
        given = {slot.node: list(slot.gpu_indices) for slot in st.placement}
        changed = []
        for a in open_allocations(s, job):
            real = given.get(a.node)
            if real is not None and len(real) == len(a.gpu_indices) and real != a.gpu_indices:
                changed.append(f"{a.node}: {a.gpu_indices} → {real}")
                a.gpu_indices = real
        if changed:
            state = JobState(job.state)
            record_event(
                s,
                job,
                state,
                "gpus_assigned",
                now,
                "the engine gave other GPU indices than planned: " + "; ".join(changed),
                {"changes": "; ".join(changed)},
                from_state=state,
            )

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
                if j.cancel_requested or j.preempting_for or j.drained_at
            ]
        for job_id, handle_text, grace in todo:
            assert handle_text is not None
            handle = EngineHandle.from_str(handle_text)
            if not self.engines.health.ready(handle.engine):
                continue
            try:
                self.engines.for_handle(handle).cancel(handle, grace)
            except EngineUnavailable as exc:
                self._unreachable(handle.engine, exc)
                continue
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
            snapshot = build_snapshot(s, self._schedulable, now, self.half_life_seconds)
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

    def _schedulable(self, node: NodeRow) -> bool:
        """New work may go to a node whose engine exists, answers, and lists it up."""
        return self.engines.schedulable(node.cluster, node.engine, node.name)

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
        job.drained_at = None
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
                    org_id=job.org_id,
                    org_kind=_org_kind(s, job.org_id),
                )
                engine_name = self.engines.name_for(node.cluster, node.engine) if node else None
                todo.append((job.id, engine_name, spec))
        for job_id, engine_name, spec in todo:
            if engine_name is not None and not self.engines.health.ready(engine_name):
                continue
            try:
                if engine_name is None:
                    raise EngineError("the cluster of its nodes has no working engine")
                handle = self.engines.get(engine_name).launch(spec)
            except EngineUnavailable as exc:
                # It may or may not have been submitted: the next launch finds it or submits it.
                self._unreachable(engine_name or "", exc)
                continue
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
            assert engine_name is not None
            self._reachable(engine_name)


def _org_kind(s: Session, org_id: str) -> str:
    """Whether the org is internal or external; an engine isolates by it."""
    org = s.get(OrgRow, org_id)
    return org.kind if org is not None else "external"
