"""`neocloud meters`: declare reported meters from a YAML file, and inspect them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from neocloud.billing.meters import Meter as BillingMeter
from neocloud.billing.meters_file import METER_KEYS, read_meters
from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table
from neocloud.domain.exact_yaml import FileProblem
from neocloud.schemas.metering import Meter, MeterSet
from neocloud.sdk.errors import NeocloudError

app = typer.Typer(
    help="Meters: how reported usage events aggregate into billable quantities.",
    no_args_is_help=True,
)

MetersFile = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE", help="Meters YAML."),
]


@dataclass(slots=True)
class MetersParse:
    """The meters a file declares, in file order, as the API takes them, or every problem."""

    meters: dict[str, MeterSet] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)


def parse_meters(text: str) -> MetersParse:
    """Read a meters file whole (billing.meters_file): every problem, or meters when none."""
    parsed = read_meters(text)
    if parsed.value is None:
        return MetersParse(problems=parsed.problems)
    return MetersParse(meters={name: _wire(meter) for name, meter in parsed.value.items()})


def _wire(meter: BillingMeter) -> MeterSet:
    return MeterSet.model_validate(
        {
            "aggregation": meter.aggregation.value,
            "unit": meter.unit,
            "unique_by": meter.unique_by,
            "group_by": list(meter.group_by),
            "description": meter.description,
        }
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text", param_hint="FILE") from None


def _declared(meter: Meter | MeterSet) -> tuple[str, str, str | None, list[str], str]:
    return meter.aggregation, meter.unit, meter.unique_by, list(meter.group_by), meter.description


def _changed_fields(before: Meter, wanted: MeterSet) -> list[str]:
    return [
        name
        for name, old, new in zip(METER_KEYS, _declared(before), _declared(wanted), strict=True)
        if old != new
    ]


def _meter_rows(meters: list[Meter]) -> None:
    print_table(
        ["NAME", "AGGREGATION", "UNIT", "UNIQUE BY", "GROUP BY", "REPORTED", "DESCRIPTION"],
        [
            [
                m.name,
                m.aggregation,
                m.unit,
                m.unique_by,
                ",".join(m.group_by) or None,
                m.reported,
                m.description or None,
            ]
            for m in meters
        ],
    )


@app.command("list")
def list_meters(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every meter: the built-in GPU meter and the declared ones."""
    found = client(ctx).meters.list()
    if wants_json(ctx, as_json):
        print_json(found)
    else:
        _meter_rows(found)


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME")],
    as_json: JsonFlag = False,
) -> None:
    """One meter."""
    meter = client(ctx).meters.get(name)
    if wants_json(ctx, as_json):
        print_json(meter)
        return
    print_fields(
        [
            ("name", meter.name),
            ("aggregation", meter.aggregation),
            ("unit", meter.unit),
            ("unique by", meter.unique_by),
            ("group by", ", ".join(meter.group_by) or None),
            ("reported", meter.reported),
            ("description", meter.description or None),
        ]
    )


@dataclass(frozen=True, slots=True)
class _Applied:
    meter: Meter
    change: str
    fields: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.meter.name,
            "change": self.change,
            "changed_fields": self.fields,
            "meter": self.meter.model_dump(mode="json"),
        }


def _applied_rows(applied: list[_Applied]) -> None:
    print_table(
        ["NAME", "CHANGE", "AGGREGATION", "UNIT", "UNIQUE BY", "GROUP BY"],
        [
            [
                a.meter.name,
                f"updated: {', '.join(a.fields)}" if a.change == "updated" else a.change,
                a.meter.aggregation,
                a.meter.unit,
                a.meter.unique_by,
                ",".join(a.meter.group_by) or None,
            ]
            for a in applied
        ],
    )


@app.command("apply")
def apply(ctx: typer.Context, file: MetersFile, as_json: JsonFlag = False) -> None:
    """Declare the meters of a YAML file (operator); checked whole first, safe to repeat."""
    parsed = parse_meters(_read(file))
    if parsed.problems:
        for problem in parsed.problems:
            where = f"{file}:{problem.line}" if problem.line else str(file)
            typer.echo(f"{where}: {problem.path}: {problem.message}", err=True)
        raise typer.Exit(1)
    api = client(ctx)
    before = {m.name: m for m in api.meters.list()}
    applied: list[_Applied] = []
    try:
        for name, wanted in parsed.meters.items():
            meter = api.meters.set(
                name,
                wanted.aggregation,
                wanted.unit,
                unique_by=wanted.unique_by,
                group_by=wanted.group_by,
                description=wanted.description,
            )
            old = before.get(name)
            fields = [] if old is None else _changed_fields(old, wanted)
            change = "created" if old is None else "updated" if fields else "unchanged"
            applied.append(_Applied(meter, change, fields))
    except NeocloudError:
        # The meters before the refused one are declared: say which, then report the error.
        if applied and not wants_json(ctx, as_json):
            _applied_rows(applied)
        raise
    if wants_json(ctx, as_json):
        print_json([a.as_json() for a in applied])
        return
    _applied_rows(applied)
    counts = {c: sum(a.change == c for a in applied) for c in ("created", "updated", "unchanged")}
    typer.echo(", ".join(f"{n} {c}" for c, n in counts.items()))
