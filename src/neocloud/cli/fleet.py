"""`neocloud fleet`: the fleet file, nodes, offerings, quotas and sellable caps."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table
from neocloud.cli.parse import parse_fraction
from neocloud.domain.jobs import Tier
from neocloud.schemas.fleet import (
    ClusterCheck,
    FleetProblem,
    FleetSummary,
    FleetValidation,
    Quota,
)

if TYPE_CHECKING:
    from neocloud.domain.fleet_file import FleetParse

app = typer.Typer(help="The fleet: load and inspect it, set quotas and caps.", no_args_is_help=True)
quota_app = typer.Typer(help="GPUs of a type an org may hold at once.", no_args_is_help=True)
cap_app = typer.Typer(help="Fraction of a GPU type external work may hold.", no_args_is_help=True)
app.add_typer(quota_app, name="quota")
app.add_typer(cap_app, name="cap")

FleetFile = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE", help="Fleet YAML."),
]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint="FILE") from None


def read_fleet(text: str) -> FleetParse:
    """A fleet file read here, each engine's options checked by its own rules (the one CLI
    module that may reach the engines: economics reads fleets through it)."""
    # Imported here: only the commands that read a fleet file need the reader.
    from neocloud.engines.options import read_fleet as read

    return read(text)


@app.command("validate")
def validate(ctx: typer.Context, file: FleetFile, as_json: JsonFlag = False) -> None:
    """Check a fleet file here, without a server; exit 1 if it has problems."""
    # Imported here: only this command needs the YAML reader.
    parsed = read_fleet(_read(file))
    problems = [FleetProblem(path=p.path, message=p.message, line=p.line) for p in parsed.problems]
    fleet = parsed.fleet if not problems else None
    by_type: Counter[str] = Counter()
    if fleet is not None:
        for node in fleet.nodes:
            by_type[node.gpu_type] += node.gpus
    result = FleetValidation(
        valid=fleet is not None,
        problems=problems,
        nodes=len(fleet.nodes) if fleet is not None else 0,
        gpus=sum(by_type.values()),
    )
    if wants_json(ctx, as_json):
        print_json(result.model_dump(mode="json") | {"gpus_by_type": dict(sorted(by_type.items()))})
    elif fleet is None:
        for problem in problems:
            where = f"{file}:{problem.line}" if problem.line else str(file)
            typer.echo(f"{where}: {problem.path}: {problem.message}")
    else:
        typer.echo(
            f"{file}: valid: {result.nodes} nodes, {result.gpus} GPUs in "
            f"{len(fleet.clusters)} clusters, {len(fleet.regions)} regions"
        )
        print_table(["GPU TYPE", "GPUS"], sorted(by_type.items()))
    if not result.valid:
        raise typer.Exit(1)


def _summary(summary: FleetSummary) -> None:
    print_fields(
        [
            ("regions", ", ".join(summary.regions)),
            ("clusters", ", ".join(summary.clusters)),
            ("nodes", summary.nodes),
            ("gpus", summary.gpus),
        ]
    )
    print_table(
        ["GPU TYPE", "GPUS", "ALLOCATED", "SELLABLE CAP"],
        [[g.gpu_type, g.gpus, g.gpus_allocated, g.sellable_cap] for g in summary.gpu_types],
    )
    if summary.engines:
        typer.echo("")
        _engine_rows(summary.engines)


def _engine_rows(clusters: list[ClusterCheck]) -> None:
    print_table(
        ["CLUSTER", "ENGINE", "STATE", "NODES UP", "PROBLEM"],
        [
            [
                c.cluster,
                c.engine_kind,
                c.state,
                f"{sum(n.state == 'up' for n in c.nodes)}/{len(c.nodes)}",
                c.message or "",
            ]
            for c in clusters
        ],
    )


@app.command("check")
def check(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Ask every cluster's engine now: what is wrong and how to fix it; exit 1 on any problem."""
    result = client(ctx).fleet.check()
    if wants_json(ctx, as_json):
        print_json(result)
    else:
        _engine_rows(result.clusters)
        problems = [
            (c.cluster, n.name, n.state, n.message or "")
            for c in result.clusters
            for n in c.nodes
            if n.state != "up"
        ]
        if problems:
            typer.echo("")
            print_table(["CLUSTER", "NODE", "STATE", "WHY / FIX"], problems)
        typer.echo("\nall engines answer and every node is up" if result.ok else "")
    if not result.ok:
        raise typer.Exit(1)


@app.command("discover")
def discover(
    slurm: Annotated[
        bool, typer.Option("--slurm", help="Read the nodes from Slurm (sinfo) on this host.")
    ] = False,
    conf: Annotated[
        Path | None, typer.Option("--conf", help="slurm.conf to use (else the client default).")
    ] = None,
    bin_dir: Annotated[
        Path | None, typer.Option("--bin-dir", help="Directory of sinfo, sbatch, ….")
    ] = None,
    partition: Annotated[
        str | None, typer.Option("--partition", help="Only this partition's nodes.")
    ] = None,
    cluster: Annotated[str, typer.Option("--cluster", help="Cluster name to write.")] = "slurm",
    region: Annotated[str, typer.Option("--region", help="Region name to write.")] = "default",
) -> None:
    """Print a fleet file for the nodes an engine reports (edit the node model's costs)."""
    # Imported here: discovery talks to the engine directly, on this host, without a server.
    from neocloud.engines.base import EngineError
    from neocloud.engines.slurm.cli import SlurmCli
    from neocloud.engines.slurm.discover import fleet_yaml
    from neocloud.engines.slurm.inventory import read_inventory
    from neocloud.engines.slurm.options import SlurmOptions

    if not slurm:
        raise typer.BadParameter("say which engine to read: --slurm", param_hint="--slurm")
    options: dict[str, str] = {}
    if conf is not None:
        options["conf"] = str(conf.resolve())
    if bin_dir is not None:
        options["bin_dir"] = str(bin_dir.resolve())
    if partition is not None:
        options["partition"] = partition
    try:
        settings = SlurmOptions.from_engine_options(options, Path("/nonexistent"))
        cli = SlurmCli(settings)
        cli.check_setup()
        nodes = read_inventory(cli, partition)
    except EngineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not any(n.gpus for n in nodes):
        typer.echo("error: Slurm lists no node with GPUs (Gres=gpu:…)", err=True)
        raise typer.Exit(1)
    typer.echo(fleet_yaml(nodes, cluster, region, options), nl=False)


@app.command("load")
def load(ctx: typer.Context, file: FleetFile, as_json: JsonFlag = False) -> None:
    """Replace the fleet with a fleet file (operator); problems are listed if it is invalid."""
    summary = client(ctx).fleet.load(_read(file))
    if wants_json(ctx, as_json):
        print_json(summary)
    else:
        _summary(summary)


@app.command("show")
def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Regions, clusters and capacity per GPU type (operator)."""
    summary = client(ctx).fleet.get()
    if wants_json(ctx, as_json):
        print_json(summary)
    else:
        _summary(summary)


@app.command("nodes")
def nodes(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every node and how many of its GPUs are allocated (operator)."""
    found = list(client(ctx).fleet.iter_nodes())
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_table(
        ["NAME", "REGION", "CLUSTER", "GPU TYPE", "GPUS", "ALLOCATED", "MODEL", "SCHEDULABLE"],
        [
            [
                n.name,
                n.region,
                n.cluster,
                n.gpu_type,
                n.gpus,
                n.gpus_allocated,
                n.node_model,
                n.schedulable,
            ]
            for n in found
        ],
    )


@app.command("offerings")
def offerings(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """GPU types on sale and their current prices per GPU-hour."""
    offered = client(ctx).fleet.offerings()
    if wants_json(ctx, as_json):
        print_json(offered)
        return
    tiers = [t for t in Tier if any(t in o.prices for o in offered)]
    print_table(
        ["GPU TYPE", "MAX GPUS/NODE", *(t.value.upper() for t in tiers), "CURRENCY"],
        [
            [o.gpu_type, o.max_gpus_per_node, *(o.prices.get(t) for t in tiers), o.currency]
            for o in offered
        ],
    )


def _quota_rows(quotas: list[Quota]) -> None:
    print_table(
        ["ORG", "GPU TYPE", "GPUS", "MAY BORROW"],
        [[q.org_name, q.gpu_type, q.gpus, q.borrow_limit] for q in quotas],
    )


@quota_app.command("set")
def set_quota(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    gpu_type: Annotated[str, typer.Argument(metavar="GPU_TYPE")],
    gpus: Annotated[int, typer.Argument(metavar="N", min=0)],
    borrow_limit: Annotated[
        int,
        typer.Option(
            "--borrow-limit",
            min=0,
            help="GPUs an internal org may borrow beyond N from others' unused quota.",
        ),
    ] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Set how many GPUs of a type an org may hold at once (operator)."""
    quota = client(ctx).quotas.set(org, gpu_type, gpus, borrow_limit=borrow_limit)
    if wants_json(ctx, as_json):
        print_json(quota)
    else:
        _quota_rows([quota])


@quota_app.command("list")
def list_quotas(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this org.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List quotas."""
    quotas = list(client(ctx).quotas.iter(org=org))
    if wants_json(ctx, as_json):
        print_json(quotas)
    else:
        _quota_rows(quotas)


@cap_app.command("set")
def set_cap(
    ctx: typer.Context,
    gpu_type: Annotated[str, typer.Argument(metavar="GPU_TYPE")],
    fraction: Annotated[
        Decimal,
        typer.Argument(parser=parse_fraction, metavar="FRACTION", help="e.g. 0.3 or 30%."),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Set the fraction of a GPU type that external work may hold (operator)."""
    cap = client(ctx).sellable_caps.set(gpu_type, fraction)
    if wants_json(ctx, as_json):
        print_json(cap)
    else:
        print_table(["GPU TYPE", "SELLABLE CAP"], [[cap.gpu_type, cap.fraction]])
