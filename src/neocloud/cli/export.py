"""`neocloud export`: a billing period's finalized and paid invoices as files."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from neocloud.cli.context import client
from neocloud.cli.invoices import Output, Period, write_out

app = typer.Typer(
    help="Cost and usage exports of a month: FOCUS 1.2 and plain CSV.", no_args_is_help=True
)
Org = Annotated[str | None, typer.Option("--org", help="Only this org (operator: default all).")]


class FocusFormat(StrEnum):
    """What a FOCUS export is written as."""

    CSV = "csv"
    PARQUET = "parquet"


@app.command("focus")
def focus(
    ctx: typer.Context,
    period: Period,
    org: Org = None,
    format: Annotated[
        FocusFormat,
        typer.Option("--format", help="csv or parquet."),
    ] = FocusFormat.CSV,
    output: Output = None,
) -> None:
    """FOCUS 1.2 cost and usage rows of a month (docs/focus.md)."""
    if format is FocusFormat.PARQUET and output is None:
        raise typer.BadParameter("Parquet is binary: give a file with -o", param_hint="--output")
    write_out(client(ctx).exports.focus(period, org=org, format=format.value), output)


@app.command("usage")
def usage(ctx: typer.Context, period: Period, org: Org = None, output: Output = None) -> None:
    """One CSV row per invoice line of a month, with invoice number and org."""
    write_out(client(ctx).exports.usage(period, org=org), output)
