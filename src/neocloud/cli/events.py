"""`neocloud events`: the billing events of an org (what webhooks deliver)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_json, print_table
from neocloud.schemas.events import BillingEvent, BillingEventType

app = typer.Typer(help="Billing events.", no_args_is_help=True)


def summary(event: BillingEvent) -> str:
    """One line saying what happened, for the table."""
    d: dict[str, Any] = event.data
    if event.type == BillingEventType.INVOICE_FINALIZED:
        return f"{d.get('kind', 'invoice')} {d.get('number')}: {d.get('total')} {d.get('currency')}"
    if event.type == BillingEventType.BUDGET_THRESHOLD_REACHED:
        return (
            f"budget {d.get('budget_name')} at {d.get('threshold')}%: "
            f"{d.get('spend')} of {d.get('amount')} {d.get('currency')}"
        )
    if event.type == BillingEventType.CREDIT_EXHAUSTED and "grant_ids" in d:
        return "credit exhausted: " + ", ".join(map(str, d["grant_ids"]))
    return json.dumps(d, sort_keys=True)


@app.command("list")
def list_events(
    ctx: typer.Context,
    type_: Annotated[
        BillingEventType | None, typer.Option("--type", help="Only events of this type.")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this org's events.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Billing events, oldest first."""
    events = list(client(ctx).events.iter(type=type_, org=org))
    if wants_json(ctx, as_json):
        print_json(events)
        return
    print_table(
        ["ID", "TYPE", "ORG", "AT", "WHAT"],
        [[e.id, e.type, e.org_id, e.created_at, summary(e)] for e in events],
    )
