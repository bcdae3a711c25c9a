"""The generic trace CSV (docs/simulator.md): one row per job, times in seconds.

Columns: `submit_time`, `duration`, `num_gpus` (required); `id`, `gpu_type`, `org`, `tier`,
`priority`, `max_runtime`, `requeue_on_preemption` (true or false), `max_attempts` (optional,
empty = default; the retry policy's defaults are the API's: requeue, no limit on attempts).
"""

from __future__ import annotations

from neocloud.domain.jobs import PriorityClass, Tier
from neocloud.sim.csv_rows import RowReader, read_rows
from neocloud.sim.problems import InputProblem
from neocloud.sim.trace import FleetShape, ShapeCheck, TraceJob, TraceLoad, in_submit_order

REQUIRED = ("submit_time", "duration", "num_gpus")
OPTIONAL = (
    "id",
    "gpu_type",
    "org",
    "tier",
    "priority",
    "max_runtime",
    "requeue_on_preemption",
    "max_attempts",
)
DEFAULT_ORG = "default"


def load_generic(text: str, file: str, shape: FleetShape) -> TraceLoad:
    """Validate every row of a generic trace; jobs only if no row has a problem."""
    problems: list[InputProblem] = []
    jobs: list[TraceJob] = []
    check = ShapeCheck(shape)
    ids: dict[str, int] = {}
    # An org is internal or external for the whole trace: the first row that says so wins.
    org_tier: dict[str, tuple[Tier, int]] = {}
    for row in read_rows(text, file, REQUIRED, OPTIONAL, problems):
        r = RowReader(file, row, problems)
        before = len(problems)
        job_id = r.name("id", default=f"job-{row.line}")
        submit = r.seconds("submit_time", allow_zero=True)
        duration = r.seconds("duration", allow_zero=False)
        num_gpus = r.positive_int("num_gpus")
        gpu_type = r.name("gpu_type", default=shape.default_gpu_type)
        org = r.name("org", default=DEFAULT_ORG)
        tier = r.choice("tier", Tier, Tier.INTERNAL)
        priority = r.choice("priority", PriorityClass, None)
        # Without a max_runtime the estimate is perfect: the job declares its real duration.
        # (A row whose duration is bad is rejected anyway; 0 only stands in for it.)
        fallback = duration if duration is not None else 0.0
        max_runtime = r.seconds("max_runtime", allow_zero=False, default=fallback)
        requeue = r.flag("requeue_on_preemption", default=True)
        max_attempts = r.positive_int("max_attempts") if r.raw("max_attempts") else None
        if job_id is not None and job_id in ids:
            r.add("id", f"duplicate id {job_id!r} (first at line {ids[job_id]})")
        elif job_id is not None:
            ids[job_id] = row.line
        if gpu_type is not None and gpu_type not in shape.gpu_types():
            r.add("gpu_type", f"{gpu_type!r} is not in the fleet ({', '.join(shape.gpu_types())})")
            gpu_type = None
        if priority is not None and tier is not None and tier is not Tier.INTERNAL:
            r.add("priority", f"priority classes apply to internal jobs only, this is {tier}")
        if org is not None and tier is not None:
            first = org_tier.setdefault(org, (tier, row.line))
            if (first[0] is Tier.INTERNAL) != (tier is Tier.INTERNAL):
                r.add(
                    "tier",
                    f"org {org!r} is {_kind(first[0])} (line {first[1]}), this row is {tier}",
                )
        gang = check.gang(gpu_type, num_gpus) if gpu_type and num_gpus else None
        if isinstance(gang, str):
            r.add("num_gpus", gang)
        if len(problems) > before or not isinstance(gang, tuple):
            continue
        assert job_id and submit is not None and duration and num_gpus and gpu_type
        assert org and tier and max_runtime and requeue is not None
        jobs.append(
            TraceJob(
                id=job_id,
                submit_time=submit,
                duration=duration,
                num_gpus=num_gpus,
                gpus_per_node=gang[0],
                nodes=gang[1],
                gpu_type=gpu_type,
                org=org,
                tier=tier,
                max_runtime=max_runtime,
                priority_class=priority,
                line=row.line,
                requeue_on_preemption=requeue,
                max_attempts=max_attempts,
            )
        )
    if problems:
        return TraceLoad((), tuple(problems))
    return TraceLoad(in_submit_order(jobs))


def _kind(tier: Tier) -> str:
    return "internal" if tier is Tier.INTERNAL else "external"
