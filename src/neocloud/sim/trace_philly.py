"""The Philly-derived trace (`timestamp,duration,num_gpus,gpu_time,cluster`, one row per job).

Rules (docs/simulator.md): `submit_time` is seconds since the earliest `timestamp` in the
file (naive timestamps, read as UTC); `cluster` (the virtual cluster) becomes the internal
org; every job is internal work on the fleet's default GPU type with no priority class and a
perfect runtime estimate. `gpu_time` is ignored (it is `duration × num_gpus`). Rows with
`num_gpus` 0 (CPU-only jobs) or `duration` 0 (jobs that failed at launch) are valid in the raw
Philly trace but hold no GPU time: they are skipped and counted, never silently dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from neocloud.domain.jobs import Tier
from neocloud.sim.csv_rows import Row, RowReader, read_rows
from neocloud.sim.problems import InputProblem
from neocloud.sim.trace import FleetShape, ShapeCheck, TraceJob, TraceLoad, in_submit_order

REQUIRED = ("timestamp", "duration", "num_gpus", "cluster")
OPTIONAL = ("gpu_time",)
SKIP_NO_GPUS = "num_gpus is 0 (CPU-only job)"
SKIP_ZERO_DURATION = "duration is 0 (failed at launch)"


def load_philly(text: str, file: str, shape: FleetShape) -> TraceLoad:
    """Validate every row of a Philly-derived trace; jobs only if no row has a problem."""
    problems: list[InputProblem] = []
    parsed: list[tuple[Row, float, float, int, str]] = []
    skipped: dict[str, int] = {}
    for row in read_rows(text, file, REQUIRED, OPTIONAL, problems):
        r = RowReader(file, row, problems)
        before = len(problems)
        epoch = _timestamp(r)
        duration = r.seconds("duration", allow_zero=True)
        num_gpus = r.positive_int("num_gpus", allow_zero=True)
        org = r.name("cluster")
        if len(problems) > before:
            continue
        assert epoch is not None and duration is not None and num_gpus is not None and org
        if num_gpus == 0:
            skipped[SKIP_NO_GPUS] = skipped.get(SKIP_NO_GPUS, 0) + 1
        elif duration == 0:
            skipped[SKIP_ZERO_DURATION] = skipped.get(SKIP_ZERO_DURATION, 0) + 1
        else:
            parsed.append((row, epoch, duration, num_gpus, org))
    jobs = _jobs(parsed, file, shape, problems)
    if problems:
        return TraceLoad((), tuple(problems), skipped)
    return TraceLoad(in_submit_order(jobs), (), skipped)


def _jobs(
    parsed: list[tuple[Row, float, float, int, str]],
    file: str,
    shape: FleetShape,
    problems: list[InputProblem],
) -> list[TraceJob]:
    start = min((epoch for _, epoch, _, _, _ in parsed), default=0.0)
    check = ShapeCheck(shape)
    gpu_type = shape.default_gpu_type
    jobs: list[TraceJob] = []
    for row, epoch, duration, num_gpus, org in parsed:
        gang = check.gang(gpu_type, num_gpus)
        if isinstance(gang, str):
            RowReader(file, row, problems).add("num_gpus", gang)
            continue
        jobs.append(
            TraceJob(
                id=f"job-{row.line}",
                submit_time=epoch - start,
                duration=duration,
                num_gpus=num_gpus,
                gpus_per_node=gang[0],
                nodes=gang[1],
                gpu_type=gpu_type,
                org=org,
                tier=Tier.INTERNAL,
                max_runtime=duration,
                line=row.line,
            )
        )
    return jobs


def _timestamp(r: RowReader) -> float | None:
    """Seconds since the Unix epoch of `YYYY-MM-DD HH:MM:SS` (naive = UTC)."""
    text = r.raw("timestamp")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        r.add("timestamp", f"must be a date and time like 2017-10-03 14:05:00, got {text!r}")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
