"""The simulator's entry point: validate every input, then replay the trace and measure it.

Files are read by the caller (the CLI); this module turns their text into a validated run.
Its only impure act is one wall-time measurement of the simulation itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from neocloud.domain.jobs import DEFAULT_GRACE_SECONDS, Tier
from neocloud.engines.options import read_fleet
from neocloud.scheduler.admission.limits import sellable_fraction
from neocloud.scheduler.state import Scheduler
from neocloud.sim.metrics import SimMetrics, summarize
from neocloud.sim.problems import InputError, InputProblem
from neocloud.sim.quotas import (
    Quotas,
    parse_contracts,
    parse_quotas,
    parse_vc_nodes,
    whole_fleet,
)
from neocloud.sim.simulator import Progress, SchedulerFactory, SimConfig, simulate
from neocloud.sim.trace import FleetShape, TraceJob, TraceLoad
from neocloud.sim.trace_generic import load_generic
from neocloud.sim.trace_philly import load_philly


class TraceFormat(StrEnum):
    """Trace file formats the simulator reads."""

    GENERIC = "generic"
    PHILLY = "philly"


@dataclass(frozen=True, slots=True)
class InputFile:
    """An input file's text and the name problems are reported under."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class SimRequest:
    """Everything a simulation run needs, as text."""

    trace: InputFile
    fleet: InputFile
    format: TraceFormat = TraceFormat.GENERIC
    quotas: InputFile | None = None
    # Reserved contracts, `org,gpu_type,gpus`: reserved work runs only under one.
    contracts: InputFile | None = None
    # philly_vc_nodes.csv found beside a Philly trace (used only without `quotas`).
    vc_nodes: InputFile | None = None
    sellable_cap: Mapping[str, str] = field(default_factory=dict)
    # Simulate only the N earliest submissions.
    limit: int | None = None
    spot_grace_s: int = DEFAULT_GRACE_SECONDS


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated run: jobs in submit order, the config, and what the report should note."""

    jobs: tuple[TraceJob, ...]
    config: SimConfig
    rows: int
    skipped: Mapping[str, int]
    quota_source: str
    contract_source: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SimReport:
    """A finished run: the figures, what was simulated, and the simulator's wall time."""

    metrics: SimMetrics
    prepared: Prepared
    wall_s: float


def prepare(request: SimRequest) -> Prepared:
    """Validate every input; raise InputError listing every problem, so nothing runs."""
    parsed = read_fleet(request.fleet.text)
    if parsed.fleet is None:
        raise InputError(
            [InputProblem(request.fleet.name, p.line, p.path, p.message) for p in parsed.problems]
        )
    shape = FleetShape.of(parsed.fleet)
    problems: list[InputProblem] = []
    caps = _caps(request.sellable_cap, shape, problems)
    load = _load(request, shape)
    problems.extend(load.problems)
    quotas, source = _quotas(request, shape, load, problems)
    contracts: Quotas = {}
    if request.contracts is not None:
        file = request.contracts
        contracts = parse_contracts(file.text, file.name, shape, problems)
    if problems:
        raise InputError(problems)
    jobs = load.jobs[: request.limit] if request.limit is not None else load.jobs
    config = SimConfig(
        nodes=shape.nodes,
        quotas=quotas,
        contracts=contracts,
        sellable_cap=caps,
        spot_grace_s=request.spot_grace_s,
    )
    return Prepared(
        jobs=jobs,
        config=config,
        rows=len(load.jobs) + sum(load.skipped.values()),
        skipped=load.skipped,
        quota_source=source,
        contract_source=request.contracts.name if request.contracts is not None else None,
        notes=_notes(jobs, quotas, contracts),
    )


def run(
    request: SimRequest,
    *,
    scheduler: SchedulerFactory = Scheduler,
    progress: Progress | None = None,
) -> SimReport:
    """Validate, simulate and summarise; `wall_s` times the simulation and its summary."""
    prepared = prepare(request)
    began = time.perf_counter()
    outcome = simulate(prepared.jobs, prepared.config, scheduler=scheduler, progress=progress)
    metrics = summarize(outcome)
    wall_s = time.perf_counter() - began
    return SimReport(metrics=metrics, prepared=prepared, wall_s=wall_s)


def _load(request: SimRequest, shape: FleetShape) -> TraceLoad:
    if request.format is TraceFormat.PHILLY:
        return load_philly(request.trace.text, request.trace.name, shape)
    return load_generic(request.trace.text, request.trace.name, shape)


def _caps(
    given: Mapping[str, str], shape: FleetShape, problems: list[InputProblem]
) -> dict[str, float]:
    caps: dict[str, float] = {}
    for gpu_type, text in given.items():
        if gpu_type not in shape.gpu_types():
            known = ", ".join(shape.gpu_types())
            problems.append(
                InputProblem("--sellable-cap", None, gpu_type, f"not in the fleet ({known})")
            )
            continue
        try:
            caps[gpu_type] = float(sellable_fraction(_fraction(text)))
        except (ValueError, ArithmeticError):
            problems.append(
                InputProblem(
                    "--sellable-cap",
                    None,
                    gpu_type,
                    f"must be a fraction between 0 and 1 like 0.3 or 30%, got {text!r}",
                )
            )
    return caps


def _fraction(text: str) -> Decimal:
    """`0.3` or `30%` as an exact Decimal."""
    stripped = text.strip()
    if stripped.endswith("%"):
        return Decimal(stripped[:-1]) / 100
    return Decimal(stripped)


def _quotas(
    request: SimRequest, shape: FleetShape, load: TraceLoad, problems: list[InputProblem]
) -> tuple[Quotas, str]:
    if request.quotas is not None:
        return parse_quotas(request.quotas.text, request.quotas.name, shape, problems), (
            request.quotas.name
        )
    if request.format is TraceFormat.PHILLY and request.vc_nodes is not None:
        vc = request.vc_nodes
        return parse_vc_nodes(vc.text, vc.name, shape, problems), vc.name
    internal = {job.org for job in load.jobs if job.tier is Tier.INTERNAL}
    return whole_fleet(internal, shape), "whole fleet per internal org"


def _notes(jobs: tuple[TraceJob, ...], quotas: Quotas, contracts: Quotas) -> tuple[str, ...]:
    """Orgs whose jobs can never start: internal without a quota, reserved without a contract."""
    no_quota: dict[str, int] = {}
    no_contract: dict[str, int] = {}
    for job in jobs:
        key = (job.org, job.gpu_type)
        if job.tier is Tier.INTERNAL and key not in quotas:
            no_quota[job.org] = no_quota.get(job.org, 0) + 1
        elif job.tier is Tier.RESERVED and key not in contracts:
            no_contract[job.org] = no_contract.get(job.org, 0) + 1
    notes = []
    if no_quota:
        notes.append(_never_start(no_quota, "internal", "quota"))
    if no_contract:
        notes.append(_never_start(no_contract, "reserved", "contract"))
    return tuple(notes)


def _never_start(orgs: Mapping[str, int], kind: str, what: str) -> str:
    listed = ", ".join(f"{org} ({n})" for org, n in sorted(orgs.items()))
    return (
        f"{len(orgs)} {kind} org(s) have no {what} for the GPU type they ask for, so their "
        f"{sum(orgs.values())} job(s) never start: {listed}"
    )
