"""`neocloud prices`: the price book, per meter × GPU type × tier, with charge models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
import yaml
from pydantic import ValidationError

from neocloud.billing.charges import Charge, ChargeModel, PriceTier
from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.money import exact
from neocloud.cli.output import Cell, print_json, print_table
from neocloud.cli.parse import parse_decimal, parse_moment
from neocloud.domain.exact_yaml import FileProblem, describe, load_yaml, located, yaml_problem
from neocloud.domain.jobs import Tier
from neocloud.schemas.billing import ChargeIn, Price
from neocloud.schemas.common import rule_message

app = typer.Typer(help="The price book.", no_args_is_help=True)

GPU_METER = "gpu_seconds"
MODELS: tuple[str, ...] = get_args(ChargeIn.model_fields["model"].annotation)
CHARGE_KEYS = ("model", "unit_price", "tiers", "package_size", "package_price")
TIER_KEYS = ("up_to", "unit_price", "flat_fee")
# Which keys each model needs; the rest it refuses (the billing core would refuse them too).
NEEDS = {
    "per_unit": ("unit_price",),
    "graduated": ("tiers",),
    "volume": ("tiers",),
    "package": ("package_size", "package_price"),
}
# Bounds of ChargeIn and PriceTierIn, restated so a file is judged here with the server's limits.
MOST = {
    "unit_price": Decimal(100_000),
    "flat_fee": Decimal(10**9),
    "package_price": Decimal(10**9),
}
POSITIVE = ("up_to", "package_size")
MAX_TIERS = 50
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
    """The charge a file describes, or every problem found in it."""

    charge: ChargeIn | None = None
    problems: list[FileProblem] = field(default_factory=list)


def _shown(value: object) -> str:
    return describe(value, show_strings=True)


def parse_charge(text: str) -> ChargeParse:
    """Read a charge file whole: every problem is reported, the charge only if there are none."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        return ChargeParse(problems=[yaml_problem(exc)])
    reader = _Reader()
    charge = reader.read(document)
    if reader.problems or charge is None:
        return ChargeParse(problems=located(text, reader.problems))
    return ChargeParse(charge=charge)


class _Reader:
    """Walks the document, collecting problems and the charge it describes."""

    def __init__(self) -> None:
        self.problems: list[FileProblem] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(FileProblem(path, message))

    def read(self, document: object) -> ChargeIn | None:
        """Check the charge's keys, its model and the fields that model needs."""
        if document is None:
            self.add("<root>", "the file is empty (expected a charge mapping with a 'model')")
            return None
        if not isinstance(document, dict):
            self.add("<root>", f"must be a mapping with a 'model' key, got {_shown(document)}")
            return None
        for key in document:
            if key not in CHARGE_KEYS:
                self.add(str(key), f"unknown key (expected {', '.join(CHARGE_KEYS)})")
        model = self.model(document)
        values: dict[str, Any] = {}
        for key in ("unit_price", "package_size", "package_price"):
            if key in document:
                values[key] = self.number(document, key, key)
        if "tiers" in document:
            values["tiers"] = self.tiers(document["tiers"])
        if model is not None:
            for key in CHARGE_KEYS[1:]:
                needed = key in NEEDS[model]
                if needed and key not in document:
                    self.add(key, f"a {model} charge needs {key}")
                elif not needed and key in document:
                    self.add(key, f"a {model} charge takes no {key}")
        if self.problems or model is None:
            return None
        return self.checked({"model": model, **values})

    def model(self, document: dict[Any, Any]) -> str | None:
        """The required charge model, one of the four the API knows."""
        if "model" not in document:
            self.add("model", "missing required key")
            return None
        value = document["model"]
        if value not in MODELS:
            shown = _shown(value)
            self.add("model", f"must be one of {', '.join(MODELS)}, got {shown}")
            return None
        return str(value)

    def number(self, spec: dict[Any, Any], key: str, path: str) -> Decimal | None:
        """An exact, finite number within the API's bounds for `key` (quoted numbers count)."""
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            self.add(path, f"must be a number, got {_shown(value)}")
            return None
        try:
            # From text, never through float: the YAML loader already gives 0.000002 exactly.
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            self.add(path, f"must be a number, got {_shown(value)}")
            return None
        most = MOST.get(key)
        if not number.is_finite():
            self.add(path, f"must be a finite number, got {value}")
        elif key in POSITIVE and number <= 0:
            self.add(path, f"must be greater than 0, got {format(number, 'f')}")
        elif number < 0:
            self.add(path, f"must not be negative, got {format(number, 'f')}")
        elif most is not None and number > most:
            self.add(path, f"must be at most {most}, got {format(number, 'f')}")
        else:
            return number
        return None

    def tiers(self, value: object) -> list[dict[str, Any]] | None:
        """Ascending tiers, each a mapping; only the last may (and must) leave up_to out."""
        if not isinstance(value, list):
            self.add("tiers", f"must be a list of tiers, got {_shown(value)}")
            return None
        if not value:
            self.add("tiers", "must list at least one tier")
            return None
        if len(value) > MAX_TIERS:
            self.add("tiers", f"takes at most {MAX_TIERS} tiers, got {len(value)}")
        tiers: list[dict[str, Any]] = []
        previous: Decimal | None = None
        for i, tier in enumerate(value):
            where = f"tiers[{i}]"
            last = i == len(value) - 1
            if not isinstance(tier, dict):
                expected = ", ".join(TIER_KEYS)
                self.add(where, f"must be a mapping ({expected}), got {_shown(tier)}")
                continue
            for key in tier:
                if key not in TIER_KEYS:
                    self.add(f"{where}.{key}", f"unknown key (expected {', '.join(TIER_KEYS)})")
            read: dict[str, Any] = {}
            if "unit_price" in tier:
                read["unit_price"] = self.number(tier, "unit_price", f"{where}.unit_price")
            else:
                self.add(f"{where}.unit_price", "missing required key")
            if "flat_fee" in tier:
                read["flat_fee"] = self.number(tier, "flat_fee", f"{where}.flat_fee")
            up_to = tier.get("up_to")
            if up_to is None:
                if not last:
                    self.add(f"{where}.up_to", "only the last tier may leave up_to out")
            elif last:
                self.add(f"{where}.up_to", "the last tier has no upper bound: leave up_to out")
            else:
                bound = self.number(tier, "up_to", f"{where}.up_to")
                if bound is not None and previous is not None and bound <= previous:
                    self.add(
                        f"{where}.up_to",
                        f"must be above the previous tier's up_to ({format(previous, 'f')})",
                    )
                previous = bound if bound is not None else previous
                read["up_to"] = bound
            tiers.append(read)
        return tiers

    def checked(self, values: dict[str, Any]) -> ChargeIn | None:
        """The charge as the API and the billing core take it, or the problem they find."""
        # Everything above restates their rules to name a line; this catches any it missed.
        try:
            charge = ChargeIn.model_validate(values)
            Charge(
                model=ChargeModel(charge.model),
                unit_price=charge.unit_price,
                tiers=tuple(PriceTier(t.up_to, t.unit_price, t.flat_fee) for t in charge.tiers),
                package_size=charge.package_size,
                package_price=charge.package_price,
            )
        except ValidationError as exc:
            for error in exc.errors():
                self.add(_path(error["loc"]), rule_message(error))
            return None
        except ValueError as exc:
            self.add("<root>", str(exc))
            return None
        return charge


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
