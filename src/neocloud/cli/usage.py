"""`neocloud usage`: GPU-hours used, summarised or record by record; reported usage events."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table
from neocloud.cli.parse import parse_csv, parse_moment
from neocloud.schemas.common import rule_message
from neocloud.schemas.metering import UsageEventIn
from neocloud.sdk.errors import NeocloudError
from neocloud.sdk.usage import GROUP_KEYS

app = typer.Typer(help="GPU usage: a summary (default) or the records; reported usage events.")
events_app = typer.Typer(help="Reported usage events: send them, list them.", no_args_is_help=True)
app.add_typer(events_app, name="events")

From = Annotated[
    datetime | None,
    typer.Option("--from", parser=parse_moment, metavar="DATE", help="ISO date or datetime."),
]
To = Annotated[
    datetime | None,
    typer.Option("--to", parser=parse_moment, metavar="DATE", help="ISO date or datetime."),
]
Org = Annotated[str | None, typer.Option("--org", help="Only this org.")]

# Column headers for each group-by key, and how to read the key off a summary row.
_GROUP_COLUMNS = {
    "org": "ORG",
    "project": "PROJECT",
    "gpu_type": "GPU TYPE",
    "tier": "TIER",
    "day": "DAY",
}
_ROW_FIELD = {"org": "org_id", "project": "project_id"}


def _group_by(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        return parse_csv(text, GROUP_KEYS)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--group-by") from None


@app.callback(invoke_without_command=True)
def summary(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    org: Org = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by", metavar="KEYS", help=f"Comma-separated: {','.join(GROUP_KEYS)}."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """GPU-hours grouped by org, project, GPU type, tier or day."""
    if ctx.invoked_subcommand is not None:
        return
    keys = _group_by(group_by)
    rows = client(ctx).usage.summary(start=start, end=end, org=org, group_by=keys)
    if wants_json(ctx, as_json):
        print_json(rows)
        return
    # Without --group-by the server picks the grouping: show whichever keys came back filled.
    shown = keys or [k for k in GROUP_KEYS if any(_key(r, k) is not None for r in rows)]
    print_table(
        [*(_GROUP_COLUMNS[k] for k in shown), "GPU-HOURS"],
        [[*(_key(r, k) for k in shown), r.gpu_hours] for r in rows],
    )


def _key(row: object, key: str) -> str | None:
    value = getattr(row, _ROW_FIELD.get(key, key))
    return None if value is None else str(value)


@app.command("records")
def records(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    org: Org = None,
    as_json: JsonFlag = False,
) -> None:
    """Every usage record: one per allocation, from its real start to its real end."""
    found = list(client(ctx).usage.iter_records(start=start, end=end, org=org))
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_table(
        ["ID", "ORG", "JOB", "GPU TYPE", "TIER", "GPUS", "STARTED", "ENDED", "GPU-SECONDS"],
        [
            [
                r.id,
                r.org_id,
                r.job_id,
                r.gpu_type,
                r.tier,
                r.gpus,
                r.started_at,
                r.ended_at,
                r.gpu_seconds,
            ]
            for r in found
        ],
    )


# --- usage events ---------------------------------------------------------------------------

STDIN = "-"
CSV_COLUMNS = ("id", "org", "project", "meter", "value", "time")
CSV_REQUIRED = ("id", "org", "meter", "value", "time")
DIM_PREFIX = "dim."
# Enough to fix a file by; a file broken on every line need not print every line.
MAX_SHOWN_PROBLEMS = 50
_BATCH_INDEX = re.compile(r"^events\[(\d+)\]")


class EventFormat(StrEnum):
    """How an events file is written."""

    JSONL = "jsonl"
    CSV = "csv"


@dataclass(slots=True)
class EventsFile:
    """The events read from a file, each with the line it starts on, or its problems."""

    name: str
    events: list[UsageEventIn] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        """Record a problem at a line of the file."""
        self.problems.append(f"{self.name}:{line}: {message}")

    def add(self, line: int, raw: Any, dims_prefix: str = "dimensions.") -> None:
        """Check one event against the API's schema, keeping it or its problems."""
        try:
            self.events.append(UsageEventIn.model_validate(raw))
        except ValidationError as exc:
            for e in exc.errors():
                self.problem(line, f"{_field(e['loc'], dims_prefix)}: {rule_message(e)}")
            return
        self.lines.append(line)


def _field(loc: Sequence[int | str], dims_prefix: str) -> str:
    if not loc:
        return "<event>"
    if loc[0] == "dimensions" and len(loc) > 1:
        return dims_prefix + ".".join(str(p) for p in loc[1:])
    return ".".join(str(p) for p in loc)


def read_jsonl(text: str, name: str) -> EventsFile:
    """One JSON object per line; blank lines are skipped."""
    out = EventsFile(name)
    # Only \n ends a line: str.splitlines would also split at a U+2028 inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            # Decimals straight from the text: 0.1 is sent as 0.1, never through a float.
            raw = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            out.problem(number, f"not JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(raw, dict):
            out.problem(number, "each line must be one JSON object (an event)")
            continue
        out.add(number, raw)
    return out


def read_csv(text: str, name: str) -> EventsFile:
    """A header of id,org,project,meter,value,time and dim.<name> columns, then one event a row."""
    out = EventsFile(name)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        out.problem(1, f"not CSV: {exc}")
        return out
    if header is None:
        return out
    header = [column.strip() for column in header]
    _check_header(out, header)
    if out.problems:
        return out
    previous_end = reader.line_num
    try:
        for row in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                out.problem(line, f"has {len(row)} fields, the header has {len(header)}")
                continue
            out.add(line, _csv_event(header, row), dims_prefix=DIM_PREFIX)
    except csv.Error as exc:
        out.problem(reader.line_num, f"not CSV: {exc}")
    return out


def _check_header(out: EventsFile, header: list[str]) -> None:
    seen: set[str] = set()
    for column in header:
        if column in seen:
            out.problem(1, f"column '{column}' appears twice")
        seen.add(column)
        dim = column.removeprefix(DIM_PREFIX)
        if column.startswith(DIM_PREFIX) and dim:
            continue
        if column not in CSV_COLUMNS:
            out.problem(
                1,
                f"unknown column '{column}' (expected {', '.join(CSV_COLUMNS)} or dim.<name>)",
            )
    for column in CSV_REQUIRED:
        if column not in seen:
            out.problem(1, f"missing column '{column}'")


def _csv_event(header: list[str], row: list[str]) -> dict[str, Any]:
    # An empty cell is "not given": CSV cannot tell an empty project or dimension from none.
    # Cells are trimmed: a space after a comma must not make "a, llama" a dimension of its own.
    event: dict[str, Any] = {}
    dimensions: dict[str, str] = {}
    for column, raw in zip(header, row, strict=True):
        cell = raw.strip()
        if column.startswith(DIM_PREFIX):
            if cell:
                dimensions[column.removeprefix(DIM_PREFIX)] = cell
        elif column == "project":
            if cell:
                event["project"] = cell
        else:
            event[column] = cell
    if dimensions:
        event["dimensions"] = dimensions
    return event


def _format_of(file: str, text: str) -> EventFormat:
    suffix = Path(file).suffix.lower() if file != STDIN else ""
    if suffix == ".csv":
        return EventFormat.CSV
    if suffix in (".jsonl", ".ndjson", ".json"):
        return EventFormat.JSONL
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return EventFormat.JSONL if first.startswith("{") else EventFormat.CSV


def _read_events_text(file: str) -> tuple[str, str]:
    try:
        if file == STDIN:
            return sys.stdin.read(), "<stdin>"
        path = Path(file)
        if not path.is_file():
            raise typer.BadParameter(f"{file} is not a file", param_hint="FILE")
        return path.read_text(encoding="utf-8"), file
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{file} is not UTF-8 text", param_hint="FILE") from None


def read_events(file: str, fmt: EventFormat | None = None) -> EventsFile:
    """Read and check every event of FILE (`-` for stdin) in the given or guessed format."""
    text, name = _read_events_text(file)
    # Spreadsheets and some editors save a byte-order mark before the first character.
    text = text.removeprefix("\ufeff")
    chosen = fmt or _format_of(file, text)
    return read_jsonl(text, name) if chosen is EventFormat.JSONL else read_csv(text, name)


@events_app.command("send")
def send_events(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="JSON Lines or CSV, or - for stdin.")],
    fmt: Annotated[
        EventFormat | None,
        typer.Option(
            "--format", help="Default: from the extension (.csv, .jsonl), else from the content."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Report usage events (operator); every line is checked before anything is sent."""
    read = read_events(file, fmt)
    if read.problems:
        for problem in read.problems[:MAX_SHOWN_PROBLEMS]:
            typer.echo(problem, err=True)
        hidden = len(read.problems) - MAX_SHOWN_PROBLEMS
        if hidden > 0:
            typer.echo(f"... and {hidden} more problems", err=True)
        typer.echo(f"{read.name}: nothing sent", err=True)
        raise typer.Exit(1)
    try:
        result = client(ctx).usage.send_events(read.events)
    except NeocloudError as exc:
        # The server names `events[i]`; the line it came from is what the user can open.
        match = _BATCH_INDEX.match(str(exc.details.get("field", "")))
        if match and int(match.group(1)) < len(read.lines):
            exc.details["at"] = f"{read.name}:{read.lines[int(match.group(1))]}"
        raise
    if wants_json(ctx, as_json):
        print_json(result)
        return
    print_fields(
        [
            ("received", result.received),
            ("accepted", result.accepted),
            ("duplicates", result.duplicates),
        ]
    )


@events_app.command("list")
def list_events(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    org: Org = None,
    meter: Annotated[str | None, typer.Option("--meter", help="Only this meter.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Stored usage events by time window (default: this month so far, your own org)."""
    found = list(client(ctx).usage.iter_events(start=start, end=end, org=org, meter=meter))
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_table(
        ["ID", "ORG", "PROJECT", "METER", "VALUE", "TIME", "DIMENSIONS"],
        [
            [
                e.id,
                e.org_id,
                e.project_id,
                e.meter,
                e.value,
                e.time,
                ",".join(f"{k}={v}" for k, v in sorted(e.dimensions.items())) or None,
            ]
            for e in found
        ],
    )
