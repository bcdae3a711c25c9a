"""`neocloud orgs`: tenants, their projects and members."""

from __future__ import annotations

from typing import Annotated

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.output import print_fields, print_json, print_table
from neocloud.domain.tenancy import OrgKind, Role
from neocloud.schemas.tenancy import Member, Org, Project

app = typer.Typer(help="Orgs (tenants), their projects and members.", no_args_is_help=True)
projects_app = typer.Typer(help="Projects inside an org.", no_args_is_help=True)
members_app = typer.Typer(help="Members of an org.", no_args_is_help=True)
app.add_typer(projects_app, name="projects")
app.add_typer(members_app, name="members")


def _org_rows(orgs: list[Org]) -> None:
    print_table(
        ["ID", "NAME", "KIND", "DISPLAY NAME", "CREATED"],
        [[o.id, o.name, o.kind, o.display_name, o.created_at] for o in orgs],
    )


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lower-case id, e.g. acme.")],
    kind: Annotated[OrgKind, typer.Option("--kind", help="internal or external.")],
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an org (operator)."""
    org = client(ctx).orgs.create(name, kind, display_name=display_name)
    if wants_json(ctx, as_json):
        print_json(org)
    else:
        _org_rows([org])


@app.command("list")
def list_orgs(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the orgs you can see."""
    orgs = list(client(ctx).orgs.iter())
    if wants_json(ctx, as_json):
        print_json(orgs)
    else:
        _org_rows(orgs)


@app.command("show")
def show(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one org."""
    found = client(ctx).orgs.get(org)
    if wants_json(ctx, as_json):
        print_json(found)
        return
    print_fields(
        [
            ("id", found.id),
            ("name", found.name),
            ("kind", found.kind),
            ("display name", found.display_name),
            ("created", found.created_at),
        ]
    )


def _project_rows(projects: list[Project]) -> None:
    print_table(
        ["ID", "ORG", "NAME", "CREATED"],
        [[p.id, p.org_id, p.name, p.created_at] for p in projects],
    )


@projects_app.command("create")
def create_project(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    name: Annotated[str, typer.Argument(help="Lower-case project name.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a project in an org."""
    project = client(ctx).projects.create(org, name)
    if wants_json(ctx, as_json):
        print_json(project)
    else:
        _project_rows([project])


@projects_app.command("list")
def list_projects(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    as_json: JsonFlag = False,
) -> None:
    """List an org's projects."""
    projects = list(client(ctx).projects.iter(org))
    if wants_json(ctx, as_json):
        print_json(projects)
    else:
        _project_rows(projects)


def _member_rows(members: list[Member]) -> None:
    print_table(
        ["ID", "ORG", "EMAIL", "ROLE", "CREATED"],
        [[m.id, m.org_id, m.email, m.role, m.created_at] for m in members],
    )


@members_app.command("add")
def add_member(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    email: Annotated[str, typer.Argument()],
    role: Annotated[Role, typer.Option("--role")],
    as_json: JsonFlag = False,
) -> None:
    """Add a member to an org with a role."""
    member = client(ctx).members.add(org, email, role)
    if wants_json(ctx, as_json):
        print_json(member)
    else:
        _member_rows([member])


@members_app.command("list")
def list_members(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    as_json: JsonFlag = False,
) -> None:
    """List an org's members."""
    members = list(client(ctx).members.iter(org))
    if wants_json(ctx, as_json):
        print_json(members)
    else:
        _member_rows(members)
