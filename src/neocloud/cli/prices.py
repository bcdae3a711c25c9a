"""`neocloud prices`: the price book, per meter × GPU type × tier, with charge models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from neocloud.billing.charges_file import read_charge
from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.money import exact
from neocloud.cli.output import Cell, print_json, print_table
from neocloud.cli.parse import parse_decimal, parse_moment
from neocloud.domain.exact_yaml import FileProblem
from neocloud.domain.jobs import Tier
from neocloud.schemas.billing import ChargeIn, Price
from neocloud.schemas.common import rule_message

app = typer.Typer(help="The price book.", no_args_is_help=True)

GPU_METER = "gpu_seconds"
# What "-" or "" as GPU_TYPE means: a meter price whatever the hardware.
ANY_GPU_TYPE = ("", "-")

ChargeFile = Annotated[
    Path | None,
    typer.Option(
        "--charge-file",
        exists=True,
        dir_okay=False,
        readable=True,
        metavar="FILE",
        help="A YAML charge (model, tiers, ...); see docs/examples/token-price.yaml.",
    ),
]


@dataclass(slots=True)
class ChargeParse:
    """The charge a file describes, as the API takes it, or every problem found in it."""

    charge: ChargeIn | None = None
    problems: list[FileProblem] = field(default_factory=list)


def parse_charge(text: str) -> ChargeParse:
    """Read a charge file whole (billing.charges_file): every problem, or the charge if none."""
    parsed = read_charge(text)
    if parsed.value is None:
        return ChargeParse(problems=parsed.problems)
    charge = parsed.value
    body = {
        "model": charge.model.value,
        "unit_price": charge.unit_price,
        "tiers": [
            {"up_to": t.up_to, "unit_price": t.unit_price, "flat_fee": t.flat_fee}
            for t in charge.tiers
        ],
        "package_size": charge.package_size,
        "package_price": charge.package_price,
    }
    try:
        return ChargeParse(charge=ChargeIn.model_validate(body))
    except ValidationError as exc:
        # The core restates every rule of the API (with lines); this names any it missed.
        return ChargeParse(
            problems=[FileProblem(_path(e["loc"]), rule_message(e)) for e in exc.errors()]
        )


def _path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a file path: ('tiers', 1, 'up_to') -> tiers[1].up_to."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "<root>"


def _read_charge(path: Path) -> ChargeIn:
    """The charge in a file, or exit 1 listing every problem as file:line: path: message."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint="--charge-file") from None
    parsed = parse_charge(text)
    if parsed.charge is None:
        for problem in parsed.problems:
            where = f"{path}:{problem.line}" if problem.line else str(path)
            typer.echo(f"{where}: {problem.path}: {problem.message}", err=True)
        raise typer.Exit(1)
    return parsed.charge


def list_price(charge: ChargeIn) -> Decimal:
    """The unit price a price list shows for a charge: its own, or its first tier's."""
    if charge.model == "per_unit" and charge.unit_price is not None:
        return charge.unit_price
    if charge.tiers:
        return charge.tiers[0].unit_price
    raise typer.BadParameter(
        "a package charge has no single unit price: give PRICE (what a price list shows)",
        param_hint="PRICE",
    )


def charge_summary(price: Price) -> str:
    """A few words for a table: `per_unit`, `graduated, 2 tiers`, `package of 1000 at 2.00`."""
    charge = price.charge
    if charge is None or charge.model == "per_unit":
        return "per_unit"
    if charge.model == "package":
        return f"package of {exact(charge.package_size)} at {exact(charge.package_price)}"
    count = len(charge.tiers)
    return f"{charge.model}, {count} tier{'s' if count != 1 else ''}"


def _price_rows(prices: list[Price]) -> None:
    print_table(
        [
            "ID",
            "METER",
            "GPU TYPE",
            "TIER",
            "REGION",
            "UNIT PRICE",
            "CHARGE",
            "CURRENCY",
            "EFFECTIVE FROM",
        ],
        [
            [
                p.id,
                p.meter,
                p.gpu_type or None,
                p.tier,
                p.region,
                exact(p.unit_price),
                charge_summary(p),
                p.currency,
                p.effective_from,
            ]
            for p in prices
        ],
    )


def _tier_rows(charge: ChargeIn) -> None:
    rows: list[list[Cell]] = []
    lower = Decimal(0)
    for i, tier in enumerate(charge.tiers, start=1):
        upper = exact(tier.up_to) if tier.up_to is not None else "no limit"
        rows.append([i, exact(lower), upper, exact(tier.unit_price), exact(tier.flat_fee)])
        lower = tier.up_to if tier.up_to is not None else lower
    print_table(
        ["#", "ABOVE", "UP TO", "UNIT PRICE", "FLAT FEE"], rows, title=f"{charge.model} charge"
    )


@app.command("set")
def set_price(
    ctx: typer.Context,
    gpu_type: Annotated[
        str,
        typer.Argument(
            metavar="GPU_TYPE",
            help="For --meter prices, - means any GPU type (the usual choice).",
        ),
    ],
    tier: Annotated[Tier, typer.Argument(metavar="TIER")],
    price: Annotated[
        Decimal | None,
        typer.Argument(
            parser=parse_decimal,
            metavar="PRICE",
            help="Per GPU-hour, or per unit of --meter. With --charge-file, default: the"
            " charge's unit price or first tier's.",
            show_default=False,
        ),
    ] = None,
    meter: Annotated[
        str | None,
        typer.Option("--meter", metavar="NAME", help="A declared meter; default gpu_seconds."),
    ] = None,
    charge_file: ChargeFile = None,
    effective_from: Annotated[
        datetime | None,
        typer.Option("--from", parser=parse_moment, metavar="ISO", help="Default: now."),
    ] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Default USD.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Default: every region.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a price for a meter, GPU type and tier from a moment on (operator).

    A charge file is checked whole before anything is sent; its problems are listed as
    file:line: path: message and the command exits 1.
    """
    any_gpu = gpu_type in ANY_GPU_TYPE
    if any_gpu and (meter is None or meter == GPU_METER):
        raise typer.BadParameter(
            "GPU time is priced per GPU type: name one (- is for --meter prices)",
            param_hint="GPU_TYPE",
        )
    charge = _read_charge(charge_file) if charge_file is not None else None
    if price is not None:
        unit_price = price
    elif charge is not None:
        unit_price = list_price(charge)
    else:
        raise typer.BadParameter("give PRICE, or a --charge-file", param_hint="PRICE")
    created = client(ctx).prices.set(
        "" if any_gpu else gpu_type,
        tier,
        unit_price,
        meter=meter,
        charge=charge,
        effective_from=effective_from,
        currency=currency,
        region=region,
    )
    if wants_json(ctx, as_json):
        print_json(created)
        return
    _price_rows([created])
    if created.charge is not None and created.charge.tiers:
        _tier_rows(created.charge)


@app.command("list")
def list_prices(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every price-book entry: GPU time per GPU-hour, other meters per unit."""
    prices = client(ctx).prices.list()
    if wants_json(ctx, as_json):
        print_json(prices)
    else:
        _price_rows(prices)
