"""`neocloud invoices`: generate, inspect and finalize invoices and statements."""

from __future__ import annotations

from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table, text
from neocloud.schemas.billing import Invoice

app = typer.Typer(
    help="Invoices (external orgs) and statements (internal orgs).", no_args_is_help=True
)

Period = Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="A month, e.g. 2026-11.")]


def _invoice_rows(invoices: list[Invoice]) -> None:
    print_table(
        ["ID", "ORG", "KIND", "NUMBER", "STATUS", "PERIOD", "TOTAL", "CURRENCY"],
        [
            [i.id, i.org_id, i.kind, i.number, i.status, i.period, i.total, i.currency]
            for i in invoices
        ],
    )


@app.command("generate")
def generate(
    ctx: typer.Context,
    period: Period,
    org: Annotated[str | None, typer.Option("--org", help="Only this org.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Generate (or regenerate) draft invoices for a month (operator)."""
    invoices = client(ctx).invoices.generate(period, org=org)
    if wants_json(ctx, as_json):
        print_json(invoices)
    else:
        _invoice_rows(invoices)


@app.command("list")
def list_invoices(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this org.")] = None,
    period: Annotated[
        str | None, typer.Option("--period", metavar="YYYY-MM", help="Only this month.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List invoices."""
    invoices = list(client(ctx).invoices.iter(org=org, period=period))
    if wants_json(ctx, as_json):
        print_json(invoices)
    else:
        _invoice_rows(invoices)


@app.command("show")
def show(
    ctx: typer.Context,
    invoice_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """One invoice: its lines and total."""
    invoice = client(ctx).invoices.get(invoice_id)
    if wants_json(ctx, as_json):
        print_json(invoice)
        return
    _invoice_detail(invoice)


def _invoice_detail(invoice: Invoice) -> None:
    print_fields(
        [
            ("id", invoice.id),
            ("org", invoice.org_id),
            ("kind", invoice.kind),
            ("number", invoice.number),
            ("status", invoice.status),
            (
                "period",
                f"{invoice.period} ({invoice.period_start:%Y-%m-%d} to "
                f"{invoice.period_end:%Y-%m-%d})",
            ),
            ("created", invoice.created_at),
            ("finalized", invoice.finalized_at),
        ]
    )
    print_table(
        ["DESCRIPTION", "GPU TYPE", "TIER", "QUANTITY", "UNIT", "UNIT PRICE", "AMOUNT"],
        [
            [
                line.description,
                line.gpu_type,
                line.tier,
                line.quantity,
                line.unit,
                line.unit_price,
                line.amount,
            ]
            for line in invoice.lines
        ],
    )
    typer.echo(f"Total: {text(invoice.total)} {invoice.currency}")


@app.command("finalize")
def finalize(
    ctx: typer.Context,
    invoice_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """Finalize a draft: it is numbered and never changes again (operator)."""
    invoice = client(ctx).invoices.finalize(invoice_id)
    if wants_json(ctx, as_json):
        print_json(invoice)
    else:
        _invoice_detail(invoice)
