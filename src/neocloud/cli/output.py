"""Printing: Rich tables for people, the API's JSON for machines, errors on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neocloud.sdk.errors import UNREACHABLE, NeocloudError

Cell = str | int | Decimal | datetime | bool | None

# Piped output is for grep and friends: folding at 80 columns would split the values.
_PIPE_WIDTH = 200
TABLE_PLACES = 6


def console(*, stderr: bool = False) -> Console:
    """A Rich console on stdout (or stderr), wide when not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    probe = Console(file=stream)
    if probe.is_terminal or "COLUMNS" in os.environ:
        return probe
    return Console(file=stream, width=_PIPE_WIDTH)


def jsonable(value: Any) -> Any:
    """The API's JSON form of a model, a list of models, or plain data (Decimals as strings)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """Print JSON on stdout."""
    typer.echo(json.dumps(jsonable(value), indent=2))


def text(value: Cell) -> str:
    """How one value reads in a table."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return str(value)


def decimal_text(value: Decimal) -> str:
    """Fixed-point, at most 6 decimal places (tables are for reading; `--json` stays exact)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -TABLE_PLACES:
        value = value.quantize(Decimal(1).scaleb(-TABLE_PLACES), rounding=ROUND_HALF_UP)
    # Fixed-point: a price reads 0.00001, not 1E-5.
    return format(value, "f")


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str | None = None
) -> None:
    """A table; a column whose every value is a number is right-aligned."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    materialised = [[text(c) for c in row] for row in rows]
    for i, name in enumerate(columns):
        numeric = bool(materialised) and all(_is_number(r[i]) for r in materialised)
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in materialised:
        # Text, not markup: a job name like "[test]" must print as it is.
        table.add_row(*(Text(cell) for cell in row))
    console().print(table)


def print_fields(fields: Sequence[tuple[str, Cell]], *, title: str | None = None) -> None:
    """A two-column field/value table for one resource."""
    table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in fields:
        table.add_row(name, Text(text(value)))
    console().print(table)


def note(message: str) -> None:
    """A remark for people, on stderr so it never pollutes piped output."""
    typer.echo(message, err=True)


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


def report_error(exc: NeocloudError) -> None:
    """`error: <code>: <message>` on stderr, then the details that help fix it."""
    if exc.code == UNREACHABLE:
        url = exc.details.get("url", "")
        note(f"error: cannot reach neocloud at {url}")
        return
    note(f"error: {exc.code}: {exc.message}")
    for line in detail_lines(exc.details):
        note(f"  {line}")
    if exc.status == 401:
        note("  hint: pass --api-key, set NEOCLOUD_API_KEY, or put api_key in the config file")


def detail_lines(details: dict[str, Any]) -> list[str]:
    """Details as `name: value` lines; problem and error lists one per line."""
    lines: list[str] = []
    for key, value in details.items():
        if key in ("problems", "errors") and isinstance(value, list):
            # A single validation error is already the message; list them only when several.
            if key == "problems" or len(value) > 1:
                lines.extend(_listed(value))
        elif isinstance(value, str | int | float | Decimal | bool):
            lines.append(f"{key}: {value}")
        else:
            lines.append(f"{key}: {json.dumps(jsonable(value))}")
    return lines


def _listed(items: list[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, dict) and "message" in item:
            where = item.get("path", item.get("field", ""))
            out.append(f"{where}: {item['message']}" if where else str(item["message"]))
        else:
            out.append(json.dumps(jsonable(item)))
    return out
