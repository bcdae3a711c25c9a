"""`neocloud margin`: revenue, cost and gross margin over a period."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import Cell, print_fields, print_json, print_table
from neocloud.cli.parse import parse_moment
from neocloud.schemas.billing import MarginRow

_ROW_COLUMNS = ["GPU-HOURS USED", "REVENUE", "USED COST", "GROSS MARGIN", "MARGIN %"]


def _row(row: MarginRow) -> list[Cell]:
    return [row.gpu_hours_used, row.revenue, row.used_cost, row.gross_margin, row.margin_pct]


def margin(
    ctx: typer.Context,
    start: Annotated[
        datetime,
        typer.Option("--from", parser=parse_moment, metavar="DATE", help="ISO date or datetime."),
    ],
    end: Annotated[
        datetime | None,
        typer.Option(
            "--to", parser=parse_moment, metavar="DATE", help="ISO date or datetime; default now."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Gross margin between two dates: totals, then by GPU type and by tier (operator)."""
    report = client(ctx).economics.margin(start=start, end=end)
    if wants_json(ctx, as_json):
        print_json(report)
        return
    print_fields(
        [
            ("period", f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC"),
            ("currency", report.currency),
            ("capacity GPU-hours", report.capacity_gpu_hours),
            ("used GPU-hours", report.used_gpu_hours),
            ("utilisation", report.utilisation),
            ("revenue", report.revenue),
            ("used cost", report.used_cost),
            ("gross margin", report.gross_margin),
            ("margin %", report.margin_pct),
            ("idle cost", report.idle_cost),
            ("margin after idle", report.margin_after_idle),
        ],
        title="Totals",
    )
    print_table(
        ["GPU TYPE", *_ROW_COLUMNS],
        [[r.gpu_type, *_row(r)] for r in report.by_gpu_type],
        title="By GPU type",
    )
    print_table(
        ["TIER", *_ROW_COLUMNS],
        [[r.tier, *_row(r)] for r in report.by_tier],
        title="By tier",
    )
