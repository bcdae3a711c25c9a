"""`neocloud usage`: GPU-hours used, summarised or record by record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_json, print_table
from neocloud.cli.parse import parse_csv, parse_moment
from neocloud.sdk.usage import GROUP_KEYS

app = typer.Typer(help="GPU usage: a summary (default) or the records.")

From = Annotated[
    datetime | None,
    typer.Option("--from", parser=parse_moment, metavar="DATE", help="ISO date or datetime."),
]
To = Annotated[
    datetime | None,
    typer.Option("--to", parser=parse_moment, metavar="DATE", help="ISO date or datetime."),
]
Org = Annotated[str | None, typer.Option("--org", help="Only this org.")]

# Column headers for each group-by key, and how to read the key off a summary row.
_GROUP_COLUMNS = {
    "org": "ORG",
    "project": "PROJECT",
    "gpu_type": "GPU TYPE",
    "tier": "TIER",
    "day": "DAY",
}
_ROW_FIELD = {"org": "org_id", "project": "project_id"}


def _group_by(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        return parse_csv(text, GROUP_KEYS)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--group-by") from None


@app.callback(invoke_without_command=True)
def summary(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    org: Org = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by", metavar="KEYS", help=f"Comma-separated: {','.join(GROUP_KEYS)}."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """GPU-hours grouped by org, project, GPU type, tier or day."""
    if ctx.invoked_subcommand is not None:
        return
    keys = _group_by(group_by)
    rows = client(ctx).usage.summary(start=start, end=end, org=org, group_by=keys)
    if wants_json(ctx, as_json):
        print_json(rows)
        return
    # Without --group-by the server picks the grouping: show whichever keys came back filled.
    shown = keys or [k for k in GROUP_KEYS if any(_key(r, k) is not None for r in rows)]
    print_table(
        [*(_GROUP_COLUMNS[k] for k in shown), "GPU-HOURS"],
        [[*(_key(r, k) for k in shown), r.gpu_hours] for r in rows],
    )


def _key(row: object, key: str) -> str | None:
    value = getattr(row, _ROW_FIELD.get(key, key))
    return None if value is None else str(value)


@app.command("records")
def records(
    ctx: typer.Context,
    start: From = None,
    end: To = None,
    org: Org = None,
    as_json: JsonFlag = False,
) -> None:
    """Every usage record: one per allocation, from its real start to its real end."""
    found = list(client(ctx).usage.iter_records(start=start, end=end, org=org))
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_table(
        ["ID", "ORG", "JOB", "GPU TYPE", "TIER", "GPUS", "STARTED", "ENDED", "GPU-SECONDS"],
        [
            [
                r.id,
                r.org_id,
                r.job_id,
                r.gpu_type,
                r.tier,
                r.gpus,
                r.started_at,
                r.ended_at,
                r.gpu_seconds,
            ]
            for r in found
        ],
    )
