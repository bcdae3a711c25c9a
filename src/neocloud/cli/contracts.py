"""`neocloud contracts`: reserved commitments of GPUs for a term at a rate."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_json, print_table
from neocloud.cli.parse import parse_decimal, parse_moment
from neocloud.schemas.fleet import Contract

app = typer.Typer(help="Reserved contracts.", no_args_is_help=True)


def _rows(contracts: list[Contract]) -> None:
    print_table(
        ["ID", "ORG", "GPU TYPE", "GPUS", "FROM", "TO", "PRICE/GPU-HOUR", "CURRENCY"],
        [
            [c.id, c.org_name, c.gpu_type, c.gpus, c.starts_at, c.ends_at, c.unit_price, c.currency]
            for c in contracts
        ],
    )


@app.command("create")
def create(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="External org id or name.")],
    gpu_type: Annotated[str, typer.Option("--gpu-type")],
    gpus: Annotated[int, typer.Option("--gpus", min=1)],
    starts_at: Annotated[datetime, typer.Option("--from", parser=parse_moment, metavar="ISO")],
    ends_at: Annotated[datetime, typer.Option("--to", parser=parse_moment, metavar="ISO")],
    price: Annotated[Decimal, typer.Option("--price", parser=parse_decimal, help="Per GPU-hour.")],
    currency: Annotated[str | None, typer.Option("--currency", help="Default USD.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Sign a contract: GPUS of GPU_TYPE guaranteed to ORG from --from to --to (operator)."""
    created = client(ctx).contracts.create(
        org,
        gpu_type,
        gpus,
        starts_at=starts_at,
        ends_at=ends_at,
        unit_price=price,
        currency=currency,
    )
    if wants_json(ctx, as_json):
        print_json(created)
    else:
        _rows([created])


@app.command("list")
def list_contracts(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this org.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Contracts you may see."""
    found = client(ctx).contracts.list(org=org)
    if wants_json(ctx, as_json):
        print_json(found)
    else:
        _rows(found)
