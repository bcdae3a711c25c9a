"""`neocloud prices`: the price book, $/GPU-hour per GPU type × tier."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_json, print_table
from neocloud.cli.parse import parse_decimal, parse_moment
from neocloud.domain.jobs import Tier
from neocloud.schemas.billing import Price

app = typer.Typer(help="The price book.", no_args_is_help=True)


def _price_rows(prices: list[Price]) -> None:
    print_table(
        ["ID", "GPU TYPE", "TIER", "REGION", "PRICE/GPU-HOUR", "CURRENCY", "EFFECTIVE FROM"],
        [
            [p.id, p.gpu_type, p.tier, p.region, p.unit_price, p.currency, p.effective_from]
            for p in prices
        ],
    )


@app.command("set")
def set_price(
    ctx: typer.Context,
    gpu_type: Annotated[str, typer.Argument(metavar="GPU_TYPE")],
    tier: Annotated[Tier, typer.Argument(metavar="TIER")],
    price: Annotated[
        Decimal, typer.Argument(parser=parse_decimal, metavar="PRICE", help="Per GPU-hour.")
    ],
    effective_from: Annotated[
        datetime | None,
        typer.Option("--from", parser=parse_moment, metavar="ISO", help="Default: now."),
    ] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Default USD.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Default: every region.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a price for a GPU type and tier from a moment on (operator)."""
    created = client(ctx).prices.set(
        gpu_type, tier, price, effective_from=effective_from, currency=currency, region=region
    )
    if wants_json(ctx, as_json):
        print_json(created)
    else:
        _price_rows([created])


@app.command("list")
def list_prices(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every price-book entry."""
    prices = client(ctx).prices.list()
    if wants_json(ctx, as_json):
        print_json(prices)
    else:
        _price_rows(prices)
