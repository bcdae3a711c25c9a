"""`neocloud audit`: who changed what, from where, and how each changing call ended."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_json, print_table
from neocloud.cli.parse import parse_moment
from neocloud.schemas.audit import AuditEntry, AuditOutcome

app = typer.Typer(help="The audit log of state-changing calls.", no_args_is_help=True)

Org = Annotated[str | None, typer.Option("--org", help="Only this org's entries (name or id).")]
Key = Annotated[str | None, typer.Option("--key", help="Only calls made with this key id.")]
Action = Annotated[
    str | None,
    typer.Option("--action", help="One route ('POST /v1/keys') or a method ('DELETE')."),
]
Target = Annotated[
    str | None, typer.Option("--target", help="One row ('api_keys:key_…') or a table.")
]
From = Annotated[
    datetime | None,
    typer.Option("--from", parser=parse_moment, metavar="ISO", help="From this moment on."),
]
To = Annotated[
    datetime | None,
    typer.Option("--to", parser=parse_moment, metavar="ISO", help="Before this moment."),
]
Outcome = Annotated[
    AuditOutcome | None, typer.Option("--outcome", help="success, refused or failed.")
]


def what(entry: AuditEntry) -> str:
    """One line saying what changed: each table and how, or the refusal."""
    if entry.outcome != AuditOutcome.SUCCESS:
        return f"{entry.status} {entry.error_code or ''}".strip()
    parts: list[str] = []
    for change in entry.changes:
        count = change.get("count")
        rows = f" ×{count}" if count is not None else ""
        parts.append(f"{change.get('op')} {change.get('table')}{rows}")
    return ", ".join(parts)


def _entries(ctx: typer.Context, **filters: Any) -> Iterator[AuditEntry]:
    return client(ctx).audit.iter(page_size=500, **filters)


@app.command("list")
def list_entries(
    ctx: typer.Context,
    org: Org = None,
    key: Key = None,
    action: Action = None,
    target: Target = None,
    start: From = None,
    end: To = None,
    outcome: Outcome = None,
    as_json: JsonFlag = False,
) -> None:
    """Audit entries, oldest first (the operator sees all; an owner or admin their org)."""
    entries = list(
        _entries(
            ctx,
            org=org,
            key=key,
            action=action,
            target=target,
            start=start,
            end=end,
            outcome=outcome,
        )
    )
    if wants_json(ctx, as_json):
        print_json(entries)
        return
    print_table(
        ["AT", "KEY", "ROLE", "CLIENT", "ACTION", "TARGET", "OUTCOME", "WHAT"],
        [
            [e.at, e.key_id, e.role, e.client, e.action, e.target, e.outcome, what(e)]
            for e in entries
        ],
    )


@app.command("export")
def export(
    ctx: typer.Context,
    org: Org = None,
    key: Key = None,
    action: Action = None,
    target: Target = None,
    start: From = None,
    end: To = None,
    outcome: Outcome = None,
) -> None:
    """Print the selected entries as JSON Lines, one entry a line: `> audit.jsonl`."""
    for entry in _entries(
        ctx, org=org, key=key, action=action, target=target, start=start, end=end, outcome=outcome
    ):
        sys.stdout.write(entry.model_dump_json() + "\n")
