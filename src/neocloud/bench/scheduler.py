"""`neocloud bench scheduler`: the stateful scheduler on a synthetic 10,000-node fleet.

Phase 1 (fill): every job of the queue is submitted and one pass decides them all: each is
placed or given its pending reason. Phase 2 (churn): a virtual clock moves from event to event
(a job completes, a preempted job exits after its grace, a job arrives — one arrival per
completion or exit, so the queue stays deep); after each event the scheduler takes one step.
The churn phase lasts a tenth as many events as there are jobs unless told otherwise.

Figures:
- decisions_per_s: decisions (jobs placed, plus pending reasons given or changed) over the
  wall time spent inside the scheduler (building it, submits, releases, steps), both phases;
- p99_decision_ms: the 99th percentile, over churn events, of the time from telling the
  scheduler about one event to the end of the step that decides everything it changed (the
  latency of reacting to an arrival or a completion);
- peak_rss_mb: the process's peak resident memory (getrusage), fleet and queue included;
- fragmentation: at the end, per GPU type and in total, free GPUs unusable by the largest job
  waiting for capacity of that type.
"""

from __future__ import annotations

import heapq
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from neocloud.bench.workload import BenchJob, Workload
from neocloud.scheduler.model import SchedulingResult
from neocloud.scheduler.state import Scheduler

DEFINITIONS = {
    "decisions_per_s": (
        "jobs placed plus pending reasons given or changed, per second of wall time spent in "
        "the scheduler (construction, submit, release, step), fill and churn phases together"
    ),
    "p99_decision_ms": (
        "99th percentile over churn events of the time to tell the scheduler one event "
        "(arrival, completion, preempted job's exit) and run the step that decides its effects"
    ),
    "peak_rss_mb": "peak resident set size of the process (getrusage ru_maxrss)",
    "fragmentation": (
        "at the end: free GPUs on nodes with fewer free than the largest per-node need among "
        "jobs waiting for capacity of that GPU type"
    ),
}

_COMPLETE, _EXIT, _ARRIVE = 0, 1, 2
Progress = Callable[[str, int, int], None]


def run(
    nodes: int,
    jobs: int,
    seed: int,
    churn_events: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run both phases and return the figures (see DEFINITIONS).

    `churn_events` defaults to a tenth of `jobs`; `progress(phase, done, total)` is called now
    and then.
    """
    if nodes < 1 or jobs < 1:
        raise ValueError("nodes and jobs must be at least 1")
    workload = Workload(nodes, seed)
    queue = [workload.job(0.0) for _ in range(jobs)]
    runtimes = {b.job.id: b.run_seconds for b in queue}
    snapshot = workload.snapshot(tuple(b.job for b in queue))
    events = churn_events if churn_events is not None else max(1, jobs // 10)
    if progress is not None:
        progress("fill", 0, 1)

    began = time.perf_counter()
    scheduler = Scheduler(snapshot)
    result = scheduler.step(0.0)
    fill_seconds = time.perf_counter() - began
    stats = _Stats()
    stats.count(result)
    fill_decisions = stats.decisions

    events_at = _EventQueue(runtimes)
    events_at.after(result, 0.0)
    if progress is not None:
        progress("fill", 1, 1)
    latencies: list[float] = []
    now = 0.0
    released: set[str] = set()
    while len(latencies) < events and events_at:
        now, kind, job_id = events_at.pop()
        if kind != _ARRIVE and job_id in released:
            continue  # a preempted job that completed within its grace, or exited before
        if kind != _ARRIVE:
            released.add(job_id)
        arrival: BenchJob | None = None
        if kind == _ARRIVE:
            arrival = workload.job(now)
            runtimes[arrival.job.id] = arrival.run_seconds
        began = time.perf_counter()
        if arrival is not None:
            scheduler.submit(arrival.job)
        else:
            scheduler.release(job_id, now)
        result = scheduler.step(now)
        elapsed = time.perf_counter() - began
        latencies.append(elapsed)
        stats.count(result)
        if kind != _ARRIVE:
            events_at.push(now, _ARRIVE, "")
        events_at.after(result, now)
        if progress is not None and len(latencies) % 500 == 0:
            progress("churn", len(latencies), events)

    return _figures(
        (nodes, jobs, seed),
        workload,
        stats,
        fill_decisions,
        fill_seconds,
        latencies,
        scheduler,
        result,
    )


def _figures(
    asked: tuple[int, int, int],
    workload: Workload,
    stats: _Stats,
    fill_decisions: int,
    fill_seconds: float,
    latencies: list[float],
    scheduler: Scheduler,
    result: SchedulingResult,
) -> dict[str, Any]:
    """The run's figures, named as DEFINITIONS says."""
    nodes, jobs, seed = asked
    churn_seconds = sum(latencies)
    total_seconds = fill_seconds + churn_seconds
    churn_decisions = stats.decisions - fill_decisions
    ordered = sorted(latencies)
    return {
        "nodes": nodes,
        "gpus": sum(n.gpus for n in workload.nodes),
        "jobs": jobs,
        "seed": seed,
        "decisions": stats.decisions,
        "decisions_per_s": _rate(stats.decisions, total_seconds),
        "placements": stats.placements,
        "preemptions": stats.preemptions,
        "p50_decision_ms": round(_percentile(ordered, 0.50) * 1000, 3),
        "p99_decision_ms": round(_percentile(ordered, 0.99) * 1000, 3),
        "max_decision_ms": round((ordered[-1] if ordered else 0.0) * 1000, 3),
        "fill_seconds": round(fill_seconds, 3),
        "fill_decisions": fill_decisions,
        "fill_decisions_per_s": _rate(fill_decisions, fill_seconds),
        "churn_events": len(latencies),
        "churn_seconds": round(churn_seconds, 3),
        "churn_decisions": churn_decisions,
        "churn_decisions_per_s": _rate(churn_decisions, churn_seconds),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "fragmentation": result.fragmentation,
        "pending_at_end": len(scheduler.pending()),
        "running_at_end": len(scheduler.running()),
        "definitions": DEFINITIONS,
    }


class _EventQueue:
    """The churn's future events in time order: completions, exits after grace, arrivals."""

    def __init__(self, runtimes: dict[str, float]) -> None:
        self._runtimes = runtimes
        self._heap: list[tuple[float, int, int, str]] = []
        self._seq = 0

    def __bool__(self) -> bool:
        return bool(self._heap)

    def push(self, at: float, kind: int, job_id: str) -> None:
        """Add an event; ties keep the order they were added in."""
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, job_id))

    def pop(self) -> tuple[float, int, str]:
        """The next event: its time, kind and job."""
        at, _, kind, job_id = heapq.heappop(self._heap)
        return at, kind, job_id

    def after(self, result: SchedulingResult, now: float) -> None:
        """The completions of the jobs a pass started and the exits of those it preempted."""
        for start in result.starts:
            self.push(now + self._runtimes[start.job_id], _COMPLETE, start.job_id)
        for preempt in result.preemptions:
            self.push(now + preempt.grace_seconds, _EXIT, preempt.job_id)


class _Stats:
    def __init__(self) -> None:
        self.decisions = 0
        self.placements = 0
        self.preemptions = 0

    def count(self, result: SchedulingResult) -> None:
        self.decisions += len(result.starts) + len(result.waits)
        self.placements += len(result.starts)
        self.preemptions += len(result.preemptions)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
