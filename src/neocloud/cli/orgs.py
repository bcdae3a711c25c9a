"""`neocloud orgs`: tenants, their projects and members."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from neocloud.cli.context import JsonFlag, client, wants_json
from neocloud.cli.money import exact
from neocloud.cli.output import Cell, note, print_fields, print_json, print_table
from neocloud.cli.parse import parse_decimal, parse_duration, parse_fraction
from neocloud.domain.tenancy import OrgKind, Role
from neocloud.schemas.credits import BillingTerms
from neocloud.schemas.tenancy import Member, Org, Project

app = typer.Typer(help="Orgs (tenants), their projects and members.", no_args_is_help=True)
projects_app = typer.Typer(help="Projects inside an org.", no_args_is_help=True)
members_app = typer.Typer(help="Members of an org.", no_args_is_help=True)
terms_app = typer.Typer(
    help="An org's billing terms: currency, discount, minimum spend, tax, credit limit.",
    no_args_is_help=True,
)
app.add_typer(projects_app, name="projects")
app.add_typer(members_app, name="members")
app.add_typer(terms_app, name="terms")


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


# The fields of BillingTermsSet, in the order `terms show` prints them.
TERMS_FIELDS = (
    "currency",
    "discount_percent",
    "minimum_spend",
    "tax_rate",
    "credit_limit",
    "stop_grace_seconds",
)


def _terms_fields(terms: BillingTerms) -> list[tuple[str, Cell]]:
    limit = exact(terms.credit_limit) if terms.credit_limit is not None else "none (postpaid)"
    return [
        ("org", terms.org_id),
        ("currency", terms.currency),
        ("discount percent", exact(terms.discount_percent)),
        ("minimum spend", exact(terms.minimum_spend)),
        ("tax rate", exact(terms.tax_rate)),
        ("credit limit", limit),
        ("stop grace seconds", terms.stop_grace_seconds),
        ("updated", terms.updated_at if terms.updated_at is not None else "never (defaults)"),
    ]


@terms_app.command("show")
def show_terms(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="Org id or name.")],
    as_json: JsonFlag = False,
) -> None:
    """Show an org's billing terms (an org that never had terms shows the defaults)."""
    terms = client(ctx).orgs.billing_terms(org)
    if wants_json(ctx, as_json):
        print_json(terms)
    else:
        print_fields(_terms_fields(terms))


def _percent(text: str) -> Decimal:
    """A percentage as `10` or `10%`."""
    return parse_decimal(text.strip().removesuffix("%"))


# long: one typer option per billing term; the body itself is short
@terms_app.command("set")
def set_terms(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(help="External org id or name.")],
    currency: Annotated[
        str | None, typer.Option("--currency", help="Three letters, e.g. EUR.")
    ] = None,
    discount_percent: Annotated[
        Decimal | None,
        typer.Option(
            "--discount-percent",
            parser=_percent,
            metavar="PERCENT",
            help="Off usage lines, 0-100 (10 or 10%).",
        ),
    ] = None,
    minimum_spend: Annotated[
        Decimal | None,
        typer.Option("--minimum-spend", parser=parse_decimal, metavar="AMOUNT", help="Per month."),
    ] = None,
    tax_rate: Annotated[
        Decimal | None,
        typer.Option("--tax-rate", parser=parse_fraction, metavar="RATE", help="0.2 or 20%."),
    ] = None,
    credit_limit: Annotated[
        Decimal | None,
        typer.Option(
            "--credit-limit",
            parser=parse_decimal,
            metavar="AMOUNT",
            help="Make the org prepaid: how far past its credit it may go (0: not at all).",
        ),
    ] = None,
    postpaid: Annotated[
        bool, typer.Option("--postpaid", help="Remove the credit limit: billed in arrears.")
    ] = False,
    stop_grace: Annotated[
        int | None,
        typer.Option(
            "--stop-grace",
            parser=parse_duration,
            metavar="SECONDS",
            help="How long running work may go on once credit is used up (300, 5m).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an org's billing terms (operator): only the options given change.

    The current terms are read first and sent back with the given options changed; terms set
    by someone else between the read and the write are overwritten.
    """
    if credit_limit is not None and postpaid:
        raise typer.BadParameter(
            "give --credit-limit (prepaid) or --postpaid, not both", param_hint="--postpaid"
        )
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("currency", currency),
            ("discount_percent", discount_percent),
            ("minimum_spend", minimum_spend),
            ("tax_rate", tax_rate),
            ("credit_limit", credit_limit),
            ("stop_grace_seconds", stop_grace),
        )
        if value is not None
    }
    if postpaid:
        changes["credit_limit"] = None
    if not changes:
        raise typer.BadParameter(
            "nothing to change: give at least one of --currency, --discount-percent,"
            " --minimum-spend, --tax-rate, --credit-limit, --postpaid, --stop-grace"
        )
    api = client(ctx)
    before = api.orgs.billing_terms(org)
    wanted = {name: getattr(before, name) for name in TERMS_FIELDS} | changes
    after = api.orgs.set_billing_terms(org, **wanted)
    if wants_json(ctx, as_json):
        print_json(after)
        return
    print_fields(_terms_fields(after))
    changed = [n for n in TERMS_FIELDS if getattr(before, n) != getattr(after, n)]
    note(f"changed: {', '.join(changed)}" if changed else "unchanged")
