"""`neocloud margin`: revenue, cost and gross margin over a period, and what to charge."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import Cell, note, print_fields, print_json, print_table
from neocloud.cli.parse import parse_moment
from neocloud.economics.margin.idle_share import IdleShare
from neocloud.economics.margin.price_guide import DEFAULT_TARGET_MARGIN_PCT
from neocloud.schemas.billing import MarginReport, MarginRow, PriceGuide


class Breakdown(StrEnum):
    """The slices a margin report is cut into."""

    GPU_TYPE = "gpu_type"
    TIER = "tier"
    ORG = "org"
    REGION = "region"
    MONTH = "month"


_TITLES = {
    Breakdown.GPU_TYPE: "GPU TYPE",
    Breakdown.TIER: "TIER",
    Breakdown.ORG: "ORG",
    Breakdown.REGION: "REGION",
    Breakdown.MONTH: "MONTH",
}
_ROW_COLUMNS = [
    "GPU-HOURS",
    "UTIL",
    "REVENUE",
    "USED COST",
    "IDLE COST",
    "GROSS MARGIN",
    "MARGIN %",
    "AFTER IDLE",
    "OPPORTUNITY",
]
_CSV_FIELDS = [
    "breakdown",
    "gpu_type",
    "tier",
    "org",
    "org_name",
    "region",
    "month",
    "gpu_hours_used",
    "capacity_gpu_hours",
    "utilisation",
    "revenue",
    "used_cost",
    "shared_idle_cost",
    "idle_cost",
    "gross_margin",
    "margin_pct",
    "margin_after_idle",
    "internal_gpu_hours",
    "internal_cost",
    "opportunity_value",
]
_PRICING_FIELDS = list(PriceGuide.model_fields)


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
    idle: Annotated[
        IdleShare,
        typer.Option("--idle", help="Idle cost as its own line, or shared evenly or by used cost."),
    ] = IdleShare.LINE,
    target_margin: Annotated[
        Decimal,
        typer.Option(
            "--target-margin",
            metavar="PCT",
            min=0,
            max=99.99,
            help="Gross margin % the target price reaches.",
        ),
    ] = DEFAULT_TARGET_MARGIN_PCT,
    by: Annotated[
        list[Breakdown] | None,
        typer.Option("--by", help="Breakdowns to show (repeatable; default gpu_type and tier)."),
    ] = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Every row of every breakdown as CSV, for machines.")
    ] = False,
    pricing_csv: Annotated[
        bool, typer.Option("--pricing-csv", help="The price guide per GPU type as CSV.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Gross margin between two dates: totals, breakdowns and the price guide (operator)."""
    report = client(ctx).economics.margin(
        start=start, end=end, idle=idle.value, target_margin_pct=target_margin
    )
    if wants_json(ctx, as_json):
        print_json(report)
    elif as_csv:
        sys.stdout.write(rows_csv(report))
    elif pricing_csv:
        sys.stdout.write(pricing_csv_text(report.pricing))
    else:
        _print_report(report, by or [Breakdown.GPU_TYPE, Breakdown.TIER])
    for failed in report.failed_orgs:
        note(f"org {failed.org_name} left out of the revenue: {failed.error}")


def rows_csv(report: MarginReport) -> str:
    """The totals and every breakdown row, one CSV line each, exact figures."""
    out = io.StringIO()
    writer = csv.DictWriter(out, _CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    total = report.model_dump(include=set(_CSV_FIELDS) | {"used_gpu_hours"})
    total["gpu_hours_used"] = total.pop("used_gpu_hours")
    writer.writerow({"breakdown": "total", **total})
    for breakdown in Breakdown:
        for row in _rows(report, breakdown):
            writer.writerow(
                {"breakdown": breakdown.value, **row.model_dump(include=set(_CSV_FIELDS))}
            )
    return out.getvalue()


def pricing_csv_text(guides: Sequence[PriceGuide]) -> str:
    """The price guide, one CSV line per GPU type."""
    out = io.StringIO()
    writer = csv.DictWriter(out, _PRICING_FIELDS, lineterminator="\n")
    writer.writeheader()
    for guide in guides:
        writer.writerow(guide.model_dump())
    return out.getvalue()


def _rows(report: MarginReport, breakdown: Breakdown) -> list[MarginRow]:
    rows: list[MarginRow] = getattr(report, f"by_{breakdown.value}")
    return rows


def _key(row: MarginRow, breakdown: Breakdown) -> Cell:
    if breakdown is Breakdown.ORG:
        return row.org_name or row.org or "—"
    value: Cell = getattr(row, breakdown.value)
    return "—" if value is None else value


def _print_report(report: MarginReport, breakdowns: list[Breakdown]) -> None:
    print_fields(
        [
            ("period", f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC"),
            ("currency", report.currency),
            (
                "idle cost",
                f"{report.idle_share} (its own line)"
                if report.idle_share == "line"
                else f"shared {report.idle_share}",
            ),
            ("capacity GPU-hours", report.capacity_gpu_hours),
            ("used GPU-hours", report.used_gpu_hours),
            ("utilisation", report.utilisation),
            ("revenue", report.revenue),
            ("used cost", report.used_cost),
            ("idle cost", report.idle_cost),
            ("total cost", report.total_cost),
            ("gross margin", report.gross_margin),
            ("margin %", report.margin_pct),
            ("margin after idle", report.margin_after_idle),
            ("internal at cost", report.internal_cost),
            ("internal at external price", report.opportunity_value),
        ],
        title="Totals",
    )
    for breakdown in breakdowns:
        print_table(
            [_TITLES[breakdown], *_ROW_COLUMNS],
            [
                [
                    _key(r, breakdown),
                    r.gpu_hours_used,
                    r.utilisation,
                    r.revenue,
                    r.used_cost,
                    r.idle_cost,
                    r.gross_margin,
                    r.margin_pct,
                    r.margin_after_idle,
                    r.opportunity_value,
                ]
                for r in _rows(report, breakdown)
            ],
            title="By GPU type" if breakdown is Breakdown.GPU_TYPE else f"By {breakdown.value}",
        )
    target = report.pricing[0].target_margin_pct if report.pricing else DEFAULT_TARGET_MARGIN_PCT
    print_table(
        [
            "GPU TYPE",
            "LIST PRICE",
            "FULL COST",
            "COST/USED HOUR",
            "BREAK-EVEN UTIL",
            "PRICE FLOOR",
            f"PRICE FOR {target}%",
        ],
        [
            [
                g.gpu_type,
                g.list_price,
                g.full_cost,
                g.cost_per_used_gpu_hour,
                g.break_even_utilisation,
                g.price_floor,
                g.target_price,
            ]
            for g in report.pricing
        ],
        title=f"Price guide ({report.currency} per GPU-hour)",
    )
