"""`neocloud simulate`: replay a trace through the scheduler on a virtual clock, offline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from neocloud.cli.context import JsonFlag, wants_json
from neocloud.cli.output import Cell, console, note, print_fields, print_json, print_table
from neocloud.sim.metrics import TierMetrics
from neocloud.sim.problems import InputError, InputProblem
from neocloud.sim.quotas import VC_NODES_FILE
from neocloud.sim.report import report_data
from neocloud.sim.runner import InputFile, SimReport, SimRequest, TraceFormat, run
from neocloud.sim.simulator import Progress as ProgressCallback

MAX_PROBLEMS_SHOWN = 50


def simulate(
    ctx: typer.Context,
    trace: Annotated[
        Path,
        typer.Option("--trace", exists=True, dir_okay=False, readable=True, help="Trace CSV file."),
    ],
    fleet: Annotated[
        Path,
        typer.Option(
            "--fleet", exists=True, dir_okay=False, readable=True, help="Fleet YAML file."
        ),
    ],
    trace_format: Annotated[
        TraceFormat, typer.Option("--format", help="generic (docs/simulator.md) or philly.")
    ] = TraceFormat.GENERIC,
    quotas: Annotated[
        Path | None,
        typer.Option(
            "--quotas",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV org,gpu_type,gpus (default: philly_vc_nodes.csv or the whole fleet).",
        ),
    ] = None,
    contracts: Annotated[
        Path | None,
        typer.Option(
            "--contracts",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV org,gpu_type,gpus: reserved contracts (reserved work runs only under one).",
        ),
    ] = None,
    sellable_cap: Annotated[
        list[str] | None,
        typer.Option(
            "--sellable-cap",
            metavar="TYPE=FRACTION",
            help="Fraction of a GPU type external work may hold, e.g. p100=0.3; repeatable.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Simulate only the N earliest jobs.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replay a trace through the scheduler: JCT, waits, utilisation, preemptions per tier."""
    json_out = wants_json(ctx, as_json)
    request = SimRequest(
        trace=_input(trace, "--trace"),
        fleet=_input(fleet, "--fleet"),
        format=trace_format,
        quotas=_input(quotas, "--quotas") if quotas is not None else None,
        contracts=_input(contracts, "--contracts") if contracts is not None else None,
        vc_nodes=_vc_nodes(trace) if trace_format is TraceFormat.PHILLY else None,
        sellable_cap=_caps(sellable_cap or []),
        limit=limit,
    )
    try:
        with _progress(enabled=not json_out) as progress:
            report = run(request, progress=progress)
    except InputError as exc:
        print_problems(exc.problems, json_out)
        raise typer.Exit(1) from None
    if json_out:
        print_json(
            report_data(report, trace=str(trace), fleet=str(fleet), trace_format=trace_format)
        )
        return
    _print_report(report, trace, fleet, trace_format)


def _input(path: Path, option: str) -> InputFile:
    try:
        return InputFile(str(path), path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint=option) from None


def _vc_nodes(trace: Path) -> InputFile | None:
    """philly_vc_nodes.csv beside a Philly trace gives each virtual cluster its quota."""
    path = trace.parent / VC_NODES_FILE
    return _input(path, "--trace") if path.is_file() else None


def _caps(pairs: list[str]) -> dict[str, str]:
    caps: dict[str, str] = {}
    for pair in pairs:
        gpu_type, sep, fraction = pair.partition("=")
        if not sep or not gpu_type.strip() or not fraction.strip():
            raise typer.BadParameter(f"{pair!r} is not TYPE=FRACTION", param_hint="--sellable-cap")
        if gpu_type.strip() in caps:
            raise typer.BadParameter(f"{gpu_type} is given twice", param_hint="--sellable-cap")
        caps[gpu_type.strip()] = fraction.strip()
    return caps


@contextmanager
def _progress(*, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A progress bar on stderr while jobs finish, when stderr is a terminal."""
    stderr = console(stderr=True)
    if not enabled or not stderr.is_terminal:
        yield None
        return
    columns = (TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task("simulate", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def print_problems(problems: list[InputProblem], json_out: bool) -> None:
    """Every problem of the inputs, as `file:line: field: message` lines or as JSON."""
    if json_out:
        print_json(
            {
                "problems": [
                    {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
                    for p in problems
                ]
            }
        )
        return
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        note(str(problem))
    if len(problems) > MAX_PROBLEMS_SHOWN:
        note(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more problems")
    note(f"error: {len(problems)} problem(s) in the inputs; nothing ran")


def _print_report(report: SimReport, trace: Path, fleet: Path, trace_format: str) -> None:
    prepared = report.prepared
    metrics = report.metrics
    skipped = ", ".join(f"{n} ({why})" for why, n in prepared.skipped.items()) or "none"
    print_fields(
        [
            ("trace", f"{trace} ({trace_format})"),
            ("fleet", f"{fleet}: {metrics.fleet_gpus} GPUs"),
            ("jobs", f"{len(prepared.jobs)} of {prepared.rows} rows"),
            ("skipped rows", skipped),
            ("quotas", prepared.quota_source),
            ("contracts", prepared.contract_source or "none"),
            ("makespan", _duration(metrics.makespan_s)),
            ("scheduler steps", metrics.scheduler_steps),
            ("wall time", f"{report.wall_s:.2f} s"),
        ],
        title="Simulation",
    )
    rows = [[tier.value, *_row(m)] for tier, m in metrics.tiers.items()]
    rows.append(["total", *_row(metrics.total)])
    print_table(
        [
            "TIER",
            "JOBS",
            "FINISHED",
            "GPU UTIL",
            "JCT AVG",
            "JCT P95",
            "WAIT AVG",
            "WAIT P95",
            "PREEMPTIONS",
            "FRAGMENTATION (GPUS)",
            "MAKESPAN",
        ],
        rows,
        title="Per tier",
    )
    for remark in prepared.notes:
        note(f"note: {remark}")


def _row(m: TierMetrics) -> list[Cell]:
    return [
        m.jobs,
        m.finished,
        f"{m.gpu_utilisation * 100:.1f}%",
        _duration(m.jct_avg_s),
        _duration(m.jct_p95_s),
        _duration(m.wait_avg_s),
        _duration(m.wait_p95_s),
        m.preemptions,
        "-" if m.fragmentation_gpus is None else f"{m.fragmentation_gpus:.1f}",
        _duration(m.makespan_s),
    ]


def _duration(seconds: float | None) -> str:
    """Seconds for reading: 42s, 3.5m, 2.1h, 4.0d (`--json` keeps exact seconds)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
