"""`neocloud bench`: benchmarks that print figures (JSON with `--json`); they need no server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from neocloud.bench.metering import run as run_metering
from neocloud.bench.scheduler import run
from neocloud.cli.context import JsonFlag, wants_json
from neocloud.cli.output import console, print_json, print_table

app = typer.Typer(help="Benchmarks: speed and scale, measured.", no_args_is_help=True)


@app.callback()
def bench() -> None:
    """Benchmarks print figures; `--json` for machines. They need no server."""


@app.command("scheduler")
def scheduler(
    ctx: typer.Context,
    nodes: Annotated[int, typer.Option("--nodes", min=1, help="Nodes (8 GPUs each).")] = 10_000,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Jobs in the queue.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic workload.")] = 1,
    churn: Annotated[
        int | None,
        typer.Option("--churn", min=1, help="Churn events (default: a tenth of --jobs)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Fill a synthetic fleet from a deep mixed queue, then churn; print the figures."""
    with _progress() as (bar, report):
        figures = run(nodes, jobs, seed, churn, progress=report)
        bar.stop()
    if wants_json(ctx, as_json):
        print_json(figures)
        return
    _print(figures)


@app.command("metering")
def metering(
    ctx: typer.Context,
    events: Annotated[int, typer.Option("--events", min=1, help="Events to send.")] = 1_000_000,
    orgs: Annotated[int, typer.Option("--orgs", min=1, help="Orgs the events belong to.")] = 1_000,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Events per request.")
    ] = 1_000,
    duplicates: Annotated[
        float, typer.Option("--duplicates", min=0, max=0.99, help="Share of repeated events.")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic events.")] = 1,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", help="postgresql and/or sqlite (repeat; default both)."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="PostgreSQL server to create a scratch database on "
            "(default $NEOCLOUD_BENCH_DATABASE_URL, else the server at 127.0.0.1:5432).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send usage events through the HTTP API into each database, then run the invoices."""
    chosen = tuple(backend or ("postgresql", "sqlite"))
    for name in chosen:
        if name not in ("postgresql", "sqlite"):
            raise typer.BadParameter(f"{name!r}: postgresql or sqlite", param_hint="--backend")
    with _progress() as (bar, report):
        figures = run_metering(
            events, orgs, batch_size, duplicates, seed, chosen, database_url, progress=report
        )
        bar.stop()
    if wants_json(ctx, as_json):
        print_json(figures)
        return
    keys = (
        "ingest_events_per_s",
        "accepted",
        "duplicates_sent",
        "duplicates_counted",
        "invoice_run_s",
        "invoices",
    )
    rows = [[key, *(f"{figures[b][key]:,}" for b in chosen)] for key in keys]
    print_table(["FIGURE", *(b.upper() for b in chosen)], rows, title="metering benchmark")


class _progress:
    """A progress bar on stderr (fill, then churn events), gone when done."""

    def __enter__(self) -> tuple[Progress, Any]:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._bar.start()
        return self._bar, self._report

    def _report(self, phase: str, done: int, total: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._bar.add_task(phase, total=total)
        self._bar.update(task, completed=done, total=total)

    def __exit__(self, *_: object) -> None:
        self._bar.stop()


def _print(figures: dict[str, Any]) -> None:
    fragmentation = figures["fragmentation"]
    rows: list[list[Any]] = [
        ["nodes / GPUs", f"{figures['nodes']:,} / {figures['gpus']:,}"],
        ["jobs (seed)", f"{figures['jobs']:,} ({figures['seed']})"],
        ["decisions per second", f"{figures['decisions_per_s']:,.0f}"],
        ["  fill: decisions per second", f"{figures['fill_decisions_per_s']:,.0f}"],
        ["  churn: decisions per second", f"{figures['churn_decisions_per_s']:,.0f}"],
        ["placements", f"{figures['placements']:,}"],
        ["preemptions", f"{figures['preemptions']:,}"],
        ["p50 / p99 / max decision (ms)", _latency(figures)],
        ["churn events", f"{figures['churn_events']:,}"],
        ["peak RSS (MB)", f"{figures['peak_rss_mb']:,.0f}"],
        ["fragmentation (GPUs)", ", ".join(f"{k} {v}" for k, v in fragmentation.items())],
    ]
    print_table(["FIGURE", "VALUE"], rows, title="scheduler benchmark")


def _latency(figures: dict[str, Any]) -> str:
    return " / ".join(
        f"{figures[key]:.2f}" for key in ("p50_decision_ms", "p99_decision_ms", "max_decision_ms")
    )
