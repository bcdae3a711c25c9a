"""`neocloud`: the command line, assembled from one module per command group."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from neocloud import __version__
from neocloud.cli import (
    audit,
    bench,
    budgets,
    contracts,
    credits,
    economics,
    events,
    export,
    fleet,
    invoices,
    jobs,
    keys,
    meters,
    orgs,
    prices,
    simulate,
    spend,
    up,
    usage,
    webhooks,
    whatif,
)
from neocloud.cli.context import GlobalOptions
from neocloud.cli.margin import margin
from neocloud.cli.output import report_error
from neocloud.sdk.errors import NeocloudError


class _Root(TyperGroup):
    """Turns an API failure anywhere below into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NeocloudError as exc:
            report_error(exc)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Root,
    name="neocloud",
    help="neocloud: sell your own GPU fleet as a cloud.",
    no_args_is_help=True,
    # Locals in a traceback could include the API key.
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neocloud {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option("--url", help="Server URL (else NEOCLOUD_URL, config file).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="API key (else NEOCLOUD_API_KEY, config file)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the API's JSON instead of tables.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options come before the command."""
    ctx.obj = GlobalOptions(url=url, api_key=api_key, json=as_json)


app.command("up")(up.up)
app.add_typer(orgs.app, name="orgs")
app.add_typer(keys.app, name="keys")
app.add_typer(fleet.app, name="fleet")
app.add_typer(contracts.app, name="contracts")
app.add_typer(jobs.app, name="jobs")
app.add_typer(usage.app, name="usage")
app.add_typer(meters.app, name="meters")
app.command("spend")(spend.spend)
app.add_typer(prices.app, name="prices")
app.add_typer(credits.app, name="credits")
app.add_typer(invoices.app, name="invoices")
app.add_typer(export.app, name="export")
app.add_typer(budgets.app, name="budgets")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(events.app, name="events")
app.add_typer(audit.app, name="audit")
app.command("margin")(margin)
app.add_typer(economics.app, name="economics")
app.command("simulate")(simulate.simulate)
app.command("whatif")(whatif.whatif)
app.add_typer(bench.app, name="bench")


def main() -> None:
    """Entry point of the `neocloud` command."""
    app()
