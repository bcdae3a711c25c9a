"""`neocloud credits`: grant credit, see what an org has left, and read its credit ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.money import exact
from neocloud.cli.output import Cell, print_fields, print_json, print_table
from neocloud.cli.parse import parse_decimal, parse_moment
from neocloud.schemas.credits import CreditStatus, Grant, LedgerPosting

app = typer.Typer(
    help="Credits: prepaid and promotional grants, available credit, the credit ledger.",
    no_args_is_help=True,
)

OrgOption = Annotated[str | None, typer.Option("--org", help="Org id or name; default your own.")]


def _grant_rows(grants: list[Grant], *, numbered: bool = False) -> None:
    columns = [
        "ID",
        "KIND",
        "AMOUNT",
        "REMAINING",
        "CURRENCY",
        "EFFECTIVE",
        "EXPIRES",
        "PRIORITY",
        "DESCRIPTION",
    ]
    rows: list[list[Cell]] = [
        [
            g.id,
            g.kind,
            exact(g.amount),
            exact(g.remaining),
            g.currency,
            g.effective_at,
            g.expires_at,
            g.priority,
            g.description or None,
        ]
        for g in grants
    ]
    if numbered:
        # The position is the order credit is drawn down in, which is the point of the table.
        columns = ["#", *columns]
        rows = [[i, *row] for i, row in enumerate(rows, start=1)]
    print_table(columns, rows)


@app.command("grant")
def grant(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="External org id or name.")],
    amount: Annotated[
        Decimal,
        typer.Option("--amount", parser=parse_decimal, metavar="AMOUNT", help="e.g. 100.00"),
    ],
    promotional: Annotated[
        bool,
        typer.Option(
            "--promotional", help="A promotional grant (given); default prepaid (paid for)."
        ),
    ] = False,
    currency: Annotated[str | None, typer.Option("--currency", help="Default USD.")] = None,
    effective_at: Annotated[
        datetime | None,
        typer.Option("--from", parser=parse_moment, metavar="ISO", help="Default: now."),
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option(
            "--expires", parser=parse_moment, metavar="ISO", help="Default: never expires."
        ),
    ] = None,
    priority: Annotated[
        int | None,
        typer.Option("--priority", metavar="N", help="0-1000; lower is used first (default 0)."),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", metavar="TEXT")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            metavar="KEY",
            help="Repeating the command with the same key grants once.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Give an org prepaid credit, or a promotional grant with --promotional (operator)."""
    created = client(ctx).credits.grant(
        org,
        amount,
        kind="promotional" if promotional else "prepaid",
        currency=currency,
        effective_at=effective_at,
        expires_at=expires_at,
        priority=priority,
        description=description,
        idempotency_key=idempotency_key,
    )
    if wants_json(ctx, as_json):
        print_json(created)
    else:
        _grant_rows([created])


def _position(status: CreditStatus) -> list[tuple[str, Cell]]:
    fields: list[tuple[str, Cell]] = [
        ("org", status.org_id),
        ("currency", status.currency),
        ("available credit", exact(status.available_credit)),
    ]
    if status.credit_limit is None:
        return [*fields, ("credit limit", "none (postpaid)")]
    return [
        *fields,
        ("credit limit", exact(status.credit_limit)),
        ("unpaid invoices", exact(status.unpaid_invoices)),
        ("spend this period", exact(status.period_spend)),
        ("held for active jobs", exact(status.held_for_active_jobs)),
        ("headroom", exact(status.headroom)),
    ]


@app.command("show")
def show(ctx: typer.Context, org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """Available credit, the grants in the order they are used, and a prepaid org's headroom."""
    status = client(ctx).credits.status(org)
    if wants_json(ctx, as_json):
        print_json(status)
        return
    print_fields(_position(status))
    if status.credit_limit is not None:
        typer.echo(
            "headroom = available credit + credit limit - unpaid invoices - spend this period"
            " - held for active jobs"
        )
    typer.echo("Grants, in the order they are used:" if status.grants else "No grants.")
    if status.grants:
        _grant_rows(status.grants, numbered=True)


def _posting_rows(postings: list[LedgerPosting]) -> None:
    print_table(
        ["AT", "TRANSACTION", "KIND", "ACCOUNT", "AMOUNT", "CURRENCY", "REF"],
        [
            [p.at, p.transaction_id, p.kind, p.account, exact(p.amount), p.currency, p.ref]
            for p in postings
        ],
    )


@app.command("ledger")
def ledger(ctx: typer.Context, org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """Every posting of the org's credit ledger, oldest first; each transaction sums to zero."""
    postings = client(ctx).credits.ledger(org)
    if wants_json(ctx, as_json):
        print_json(postings)
    else:
        _posting_rows(postings)
