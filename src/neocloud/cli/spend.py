"""`neocloud spend`: what an org or project has spent so far this period."""

from __future__ import annotations

from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table


def spend(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Option("--org", help="Org id or name; default your own.")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Only this project of the org.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Spend so far this period, before tax and credits; running work counts up to now."""
    found = client(ctx).usage.spend(org=org, project=project)
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_fields(
        [
            ("org", found.org_id),
            ("project", found.project_id),
            ("period", found.period),
            ("as of", found.as_of),
            ("amount", found.amount),
            ("currency", found.currency),
        ]
    )
    print_table(
        ["DESCRIPTION", "METER", "QUANTITY", "UNIT", "UNIT PRICE", "AMOUNT"],
        [
            [line.description, line.meter, line.quantity, line.unit, line.unit_price, line.amount]
            for line in found.lines
        ],
    )
