"""`neocloud keys`: API keys, whose secret is shown once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import note, print_fields, print_json, print_table
from neocloud.cli.parse import parse_duration, parse_moment
from neocloud.domain.tenancy import Role
from neocloud.schemas.tenancy import ApiKey

app = typer.Typer(help="API keys.", no_args_is_help=True)


def _key_rows(keys: list[ApiKey]) -> None:
    print_table(
        ["ID", "ORG", "PROJECT", "NAME", "ROLE", "PREFIX", "EXPIRES", "REVOKED", "LAST USED"],
        [
            [
                k.id,
                k.org_id,
                k.project_id,
                k.name,
                k.role,
                k.prefix,
                k.expires_at,
                k.revoked_at,
                k.last_used_at,
            ]
            for k in keys
        ],
    )


@app.command("create")
def create(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Org id or name.")],
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    role: Annotated[Role | None, typer.Option("--role")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Scope to a project.")] = None,
    expires_in: Annotated[
        int | None,
        typer.Option(
            "--expires-in", parser=parse_duration, metavar="DURATION", help="e.g. 30d, 12h."
        ),
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option("--expires-at", parser=parse_moment, metavar="ISO", help="UTC moment."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a key and print its secret, once."""
    if expires_in is not None and expires_at is not None:
        raise typer.BadParameter("give --expires-in or --expires-at, not both")
    if expires_in is not None:
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    created = client(ctx).keys.create(org, name, role=role, project=project, expires_at=expires_at)
    if wants_json(ctx, as_json):
        print_json(created)
        return
    print_fields(
        [
            ("id", created.id),
            ("org", created.org_id),
            ("project", created.project_id),
            ("name", created.name),
            ("role", created.role),
            ("expires", created.expires_at),
            ("secret", created.secret),
        ]
    )
    note("Save the secret now: it is not stored and cannot be shown again.")


@app.command("list")
def list_keys(
    ctx: typer.Context,
    org: Annotated[str | None, typer.Option("--org", help="Only this org's keys.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List keys (never their secrets)."""
    keys = list(client(ctx).keys.iter(org=org))
    if wants_json(ctx, as_json):
        print_json(keys)
    else:
        _key_rows(keys)


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key; it stops working at once."""
    key = client(ctx).keys.revoke(key_id)
    if wants_json(ctx, as_json):
        print_json(key)
    else:
        _key_rows([key])


def _resolve_key(ctx: typer.Context, ident: str, org: str | None) -> str:
    """A key id as given, or the id of the one active key with that name."""
    if ident.startswith("key_"):
        return ident
    now = datetime.now(UTC)
    found = [
        k.id
        for k in client(ctx).keys.iter(org=org)
        if k.name == ident and k.revoked_at is None and (k.expires_at is None or k.expires_at > now)
    ]
    if len(found) != 1:
        what = "no active key" if not found else f"{len(found)} active keys"
        raise typer.BadParameter(f"{what} named {ident!r}; give the key id", param_hint="KEY")
    return found[0]


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="Key id, or the name of an active key.")
    ],
    org: Annotated[str | None, typer.Option("--org", help="Org of a key given by name.")] = None,
    grace: Annotated[
        int | None,
        typer.Option(
            "--grace",
            parser=parse_duration,
            metavar="DURATION",
            help="Keep the old key working this long (e.g. 10m, 1d); default: revoke it now.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replace a key with a new one (same org, project, role and name); print its secret once."""
    rotated = client(ctx).keys.rotate(_resolve_key(ctx, key, org), grace_seconds=grace or 0)
    if wants_json(ctx, as_json):
        print_json(rotated)
        return
    old = rotated.replaced
    retired = f"revoked {old.revoked_at}" if old.revoked_at else f"expires {old.expires_at}"
    print_fields(
        [
            ("id", rotated.id),
            ("org", rotated.org_id),
            ("project", rotated.project_id),
            ("name", rotated.name),
            ("role", rotated.role),
            ("expires", rotated.expires_at),
            ("replaces", f"{old.id} ({retired})"),
            ("secret", rotated.secret),
        ]
    )
    note("Save the secret now: it is not stored and cannot be shown again.")
