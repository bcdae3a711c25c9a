"""`neocloud meters`: declare reported meters from a YAML file, and inspect them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args

import typer
import yaml

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table
from neocloud.domain.exact_yaml import FileProblem, describe, load_yaml, located, yaml_problem
from neocloud.schemas.metering import DIMENSION_KEY, METER_NAME, Aggregation, Meter, MeterSet
from neocloud.sdk.errors import NeocloudError

app = typer.Typer(
    help="Meters: how reported usage events aggregate into billable quantities.",
    no_args_is_help=True,
)

# The platform measures GPU time itself; a file may not declare it.
BUILT_IN = "gpu_seconds"
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
METER_KEYS = ("aggregation", "unit", "unique_by", "group_by", "description")
# Bounds of MeterSet, restated so a file is judged here with the server's own limits.
MAX_UNIT = 32
MAX_DESCRIPTION = 300
MAX_GROUP_BY = 8
_NAME = re.compile(METER_NAME)
_KEY = re.compile(DIMENSION_KEY)
_MESSAGES = {
    "name": "a lower-case letter, then up to 62 lower-case letters, digits or _",
    "key": "a letter or _, then up to 62 letters, digits, _ . or -",
}

MetersFile = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, metavar="FILE", help="Meters YAML."),
]


@dataclass(slots=True)
class MetersParse:
    """The meters a file declares, in file order, or every problem found in it."""

    meters: dict[str, MeterSet] = field(default_factory=dict)
    problems: list[FileProblem] = field(default_factory=list)


def parse_meters(text: str) -> MetersParse:
    """Read a meters file whole: every problem is reported, and meters only when there are none."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        return MetersParse(problems=[yaml_problem(exc)])
    reader = _Reader()
    reader.read(document)
    if reader.problems:
        return MetersParse(problems=located(text, reader.problems))
    return MetersParse(meters=reader.meters)


class _Reader:
    """Walks the document, collecting problems and the meters it declares."""

    def __init__(self) -> None:
        self.problems: list[FileProblem] = []
        self.meters: dict[str, MeterSet] = {}

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(FileProblem(path, message))

    def read(self, document: object) -> None:
        """Check the top level, then each meter."""
        if document is None:
            self.add("<root>", "the file is empty (expected a 'meters' mapping)")
            return
        if not isinstance(document, dict):
            self.add("<root>", f"must be a mapping with a 'meters' key, got {describe(document)}")
            return
        for key in document:
            if key != "meters":
                self.add(str(key), "unknown key (expected 'meters')")
        if "meters" not in document:
            self.add("meters", "missing required key")
            return
        declared = document["meters"]
        if not isinstance(declared, dict):
            self.add("meters", f"must be a mapping of names to meters, got {describe(declared)}")
            return
        if not declared:
            self.add("meters", "declares no meters")
        for name, spec in declared.items():
            self.meter(name, spec)

    def meter(self, name: object, spec: object) -> None:
        """One meter: its name and its keys, checked as the API would."""
        where = f"meters.{name}"
        before = len(self.problems)
        if not isinstance(name, str) or not _NAME.match(name):
            self.add(where, f"a meter name must be {_MESSAGES['name']}")
        elif name == BUILT_IN:
            self.add(where, f"{BUILT_IN} is measured by the platform and cannot be declared")
        if not isinstance(spec, dict):
            self.add(where, f"must be a mapping, got {describe(spec)}")
            return
        for key in spec:
            if key not in METER_KEYS:
                self.add(f"{where}.{key}", f"unknown key (expected {', '.join(METER_KEYS)})")
        aggregation = self.aggregation(spec, where)
        unit = self.text(spec, "unit", where, required=True, max_len=MAX_UNIT)
        description = self.text(spec, "description", where, max_len=MAX_DESCRIPTION)
        group_by = self.group_by(spec, where)
        unique_by = self.unique_by(spec, where, aggregation, group_by)
        if len(self.problems) == before and isinstance(name, str):
            self.meters[name] = MeterSet.model_validate(
                {
                    "aggregation": aggregation,
                    "unit": unit,
                    "unique_by": unique_by,
                    "group_by": group_by or [],
                    "description": description or "",
                }
            )

    def aggregation(self, spec: dict[Any, Any], where: str) -> str | None:
        """The required aggregation, one of the four the API knows."""
        if "aggregation" not in spec:
            self.add(f"{where}.aggregation", "missing required key")
            return None
        value = spec["aggregation"]
        if value not in AGGREGATIONS:
            shown = describe(value, show_strings=True)
            choices = ", ".join(AGGREGATIONS)
            self.add(f"{where}.aggregation", f"must be one of {choices}, got {shown}")
            return None
        return str(value)

    def text(
        self, spec: dict[Any, Any], key: str, where: str, *, max_len: int, required: bool = False
    ) -> str | None:
        """A string of at most max_len characters (non-empty when required)."""
        if key not in spec:
            if required:
                self.add(f"{where}.{key}", "missing required key")
            return None
        value: object = spec[key]
        if not isinstance(value, str):
            self.add(f"{where}.{key}", f"must be a string (quote numbers), got {describe(value)}")
            return None
        if required and not value:
            self.add(f"{where}.{key}", "must not be empty")
        elif len(value) > max_len:
            self.add(f"{where}.{key}", f"must be at most {max_len} characters")
        return value

    def group_by(self, spec: dict[Any, Any], where: str) -> list[str] | None:
        """Up to eight distinct dimension keys."""
        if "group_by" not in spec:
            return []
        value = spec["group_by"]
        path = f"{where}.group_by"
        if not isinstance(value, list):
            self.add(path, f"must be a list of dimension names, got {describe(value)}")
            return None
        if len(value) > MAX_GROUP_BY:
            self.add(path, f"takes at most {MAX_GROUP_BY} dimensions, got {len(value)}")
        keys: list[str] = []
        for i, key in enumerate(value):
            if not isinstance(key, str) or not _KEY.match(key):
                self.add(f"{path}[{i}]", f"a dimension name must be {_MESSAGES['key']}")
            elif key in keys:
                self.add(f"{path}[{i}]", f"repeats the dimension '{key}'")
            else:
                keys.append(key)
        return keys

    def unique_by(
        self,
        spec: dict[Any, Any],
        where: str,
        aggregation: str | None,
        group_by: list[str] | None,
    ) -> str | None:
        """The counted dimension: required by unique_count, refused by every other aggregation."""
        path = f"{where}.unique_by"
        value = spec.get("unique_by")
        if value is None:
            if aggregation == "unique_count":
                self.add(path, "a unique_count meter names the dimension it counts")
            return None
        if aggregation is not None and aggregation != "unique_count":
            self.add(path, f"only unique_count meters count a dimension, not {aggregation}")
            return None
        if not isinstance(value, str) or not _KEY.match(value):
            self.add(path, f"a dimension name must be {_MESSAGES['key']}")
            return None
        if group_by and value in group_by:
            # Every group would hold one distinct value: a count of 1 per group.
            self.add(path, f"'{value}' cannot also be in group_by")
        return value


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
