"""`neocloud invoices`: generate, inspect and finalize invoices and statements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import note, print_fields, print_json, print_table, text
from neocloud.cli.parse import parse_decimal, parse_moment
from neocloud.schemas.billing import Invoice
from neocloud.schemas.invoice_documents import CreditNote, InvoiceStatusChange

app = typer.Typer(
    help="Invoices (external orgs) and statements (internal orgs).", no_args_is_help=True
)

Period = Annotated[str, typer.Option("--period", metavar="YYYY-MM", help="A month, e.g. 2026-11.")]
InvoiceId = Annotated[str, typer.Argument(metavar="ID")]
Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
]


class DocumentFormat(StrEnum):
    """What an invoice document is rendered as."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"


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


def _change(change: InvoiceStatusChange) -> None:
    invoice = change.invoice
    voided = change.action == "void"
    print_fields(
        [
            ("invoice", invoice.id),
            ("number", invoice.number),
            ("status", f"{change.previous_status} -> {invoice.status}"),
            ("at", invoice.voided_at if voided else invoice.paid_at),
            ("by", f"{change.by.org} ({change.by.role}, key {change.by.key_id})"),
            ("reason", change.reason),
            ("credits returned", change.credits_returned if voided else None),
        ]
    )


@app.command("pay")
def pay(
    ctx: typer.Context,
    invoice_id: InvoiceId,
    paid_at: Annotated[
        datetime | None,
        typer.Option("--paid-at", parser=parse_moment, metavar="ISO", help="Default: now."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark a finalized invoice paid (operator)."""
    change = client(ctx).invoices.pay(invoice_id, paid_at=paid_at)
    if wants_json(ctx, as_json):
        print_json(change)
    else:
        _change(change)


@app.command("void")
def void(
    ctx: typer.Context,
    invoice_id: InvoiceId,
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded with the change.")],
    as_json: JsonFlag = False,
) -> None:
    """Void a finalized invoice (operator): its number stays used, applied credit goes back."""
    change = client(ctx).invoices.void(invoice_id, reason)
    if wants_json(ctx, as_json):
        print_json(change)
    else:
        _change(change)


def parse_credit_line(text: str) -> tuple[int, Decimal, str]:
    """`LINE=AMOUNT` or `LINE=AMOUNT:REASON`, e.g. `1=10.00` or `2=5.00:GPU down`."""
    position, sep, rest = text.partition("=")
    amount, _, reason = rest.partition(":")
    if not sep or not position.strip().isdigit():
        raise ValueError(f"{text!r} is not LINE=AMOUNT (e.g. 1=10.00 or 1=10.00:reason)")
    return int(position), parse_decimal(amount), reason.strip()


def _note(note_: CreditNote) -> None:
    print_fields(
        [
            ("id", note_.id),
            ("number", note_.number),
            ("invoice", f"{note_.invoice_number} ({note_.invoice_id})"),
            ("reason", note_.reason),
            ("total", f"{text(note_.total)} {note_.currency} (tax {text(note_.tax)})"),
            ("amount due reduced", note_.amount_due_reduced),
            ("credit granted", note_.credit_granted),
            ("grant", note_.grant_id),
            ("created", note_.created_at),
        ]
    )
    print_table(
        ["LINE", "DESCRIPTION", "AMOUNT", "REASON"],
        [[ln.line, ln.description, ln.amount, ln.reason] for ln in note_.lines],
    )


@app.command("credit-note")
def credit_note(
    ctx: typer.Context,
    invoice_id: InvoiceId,
    reason: Annotated[str, typer.Option("--reason", help="Why the invoice is credited.")],
    lines: Annotated[
        list[str],
        typer.Option(
            "--line",
            metavar="LINE=AMOUNT[:REASON]",
            help="A line by its printed position and the amount credited; repeat for more.",
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Credit lines of a finalized or paid invoice (operator)."""
    try:
        parsed = [parse_credit_line(item) for item in lines]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--line") from None
    body = [{"line": n, "amount": amount, "reason": why} for n, amount, why in parsed]
    created = client(ctx).invoices.credit_note(invoice_id, reason, body)
    if wants_json(ctx, as_json):
        print_json(created)
    else:
        _note(created)


@app.command("credit-notes")
def credit_notes(ctx: typer.Context, invoice_id: InvoiceId, as_json: JsonFlag = False) -> None:
    """An invoice's credit notes."""
    notes = client(ctx).invoices.credit_notes(invoice_id)
    if wants_json(ctx, as_json):
        print_json(notes)
        return
    print_table(
        ["ID", "NUMBER", "TOTAL", "DUE REDUCED", "GRANTED", "CREATED", "REASON"],
        [
            [
                c.id,
                c.number,
                c.total,
                c.amount_due_reduced,
                c.credit_granted,
                c.created_at,
                c.reason,
            ]
            for c in notes
        ],
    )


def write_out(data: str | bytes, output: Path | None) -> None:
    """Write a file's body to `output`, or to stdout when there is none."""
    if output is None:
        typer.echo(data, nl=False)
        return
    raw = data.encode() if isinstance(data, str) else data
    output.write_bytes(raw)
    note(f"wrote {len(raw)} bytes to {output}")


@app.command("download")
def download(
    ctx: typer.Context,
    invoice_id: InvoiceId,
    format: Annotated[
        DocumentFormat, typer.Option("--format", help="json, csv or a printable html page.")
    ] = DocumentFormat.JSON,
    output: Output = None,
) -> None:
    """The invoice as issued, as a document."""
    write_out(client(ctx).invoices.document(invoice_id, format.value), output)
