"""`neocloud economics`: what a GPU-hour costs the provider."""

from __future__ import annotations

from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_json, print_table

app = typer.Typer(help="The cost model.", no_args_is_help=True)


@app.command("cost")
def cost(
    ctx: typer.Context,
    node_model: Annotated[str, typer.Option("--node-model", metavar="NAME")],
    as_json: JsonFlag = False,
) -> None:
    """Cost of one GPU-hour of a node model at full allocation, by component (operator)."""
    breakdown = client(ctx).economics.cost(node_model)
    if wants_json(ctx, as_json):
        print_json(breakdown)
        return
    per = f"{breakdown.currency}/GPU-HOUR"
    print_table(
        ["COMPONENT", per],
        [
            ["depreciation", breakdown.depreciation],
            ["capital", breakdown.capital],
            ["energy", breakdown.energy],
            ["space", breakdown.space],
            ["opex", breakdown.opex],
            ["total", breakdown.total],
        ],
        title=f"{breakdown.node_model} ({breakdown.gpus_per_node} GPUs per node)",
    )


@app.command("node-models")
def node_models(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Node models the fleet declares."""
    names = client(ctx).economics.node_models()
    if wants_json(ctx, as_json):
        print_json(names)
    else:
        print_table(["NODE MODEL"], [[n] for n in names])
