"""`neocloud budgets`: monthly budgets with alert thresholds, and how much of each is used."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import note, print_json, print_table
from neocloud.cli.parse import parse_decimal
from neocloud.schemas.budgets import Budget

app = typer.Typer(help="Budgets and their alert thresholds.", no_args_is_help=True)


def _percents(values: list[int]) -> str:
    return ", ".join(f"{v}%" for v in values) or "-"


def _budget_rows(budgets: list[Budget]) -> None:
    print_table(
        [
            "ID",
            "ORG",
            "PROJECT",
            "NAME",
            "PERIOD",
            "SPEND",
            "AMOUNT",
            "CURRENCY",
            "USED %",
            "THRESHOLDS",
            "REACHED",
        ],
        [
            [
                b.id,
                b.org_id,
                b.project_id,
                b.name,
                b.period,
                b.spend,
                b.amount,
                b.currency,
                b.percent_used,
                _percents(b.thresholds),
                _percents(b.reached),
            ]
            for b in budgets
        ],
    )


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="What the budget is for.")],
    amount: Annotated[
        Decimal, typer.Option("--amount", parser=parse_decimal, help="Per month, e.g. 5000.")
    ],
    currency: Annotated[str | None, typer.Option("--currency", help="Default USD.")] = None,
    thresholds: Annotated[
        list[int] | None,
        typer.Option(
            "--threshold", help="Alert at this percent of the amount; repeat (default 50, 80, 100)."
        ),
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Org id or name (operator).")] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Only this project's spend.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set a monthly budget; each threshold alerts once a month (event and webhook)."""
    budget = client(ctx).budgets.create(
        name,
        amount,
        currency=currency,
        thresholds=thresholds or None,
        org=org,
        project=project,
    )
    if wants_json(ctx, as_json):
        print_json(budget)
    else:
        _budget_rows([budget])


@app.command("list")
def list_budgets(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this org's budgets.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Budgets with this month's spend, % used and the thresholds already reached."""
    budgets = list(client(ctx).budgets.iter(org=org))
    if wants_json(ctx, as_json):
        print_json(budgets)
    else:
        _budget_rows(budgets)


@app.command("delete")
def delete(
    ctx: typer.Context,
    budget_id: Annotated[str, typer.Argument(metavar="ID", help="Budget id (bud_…).")],
    as_json: JsonFlag = False,
) -> None:
    """Remove a budget (alerts already sent stay in `neocloud events list`)."""
    client(ctx).budgets.delete(budget_id)
    if wants_json(ctx, as_json):
        print_json({"id": budget_id, "deleted": True})
    else:
        note(f"Deleted budget {budget_id}.")
