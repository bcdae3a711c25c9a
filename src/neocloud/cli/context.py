"""The global options, and the one place the CLI builds its Client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from neocloud.sdk.client import Client

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of tables.")]


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """Options given before the command: where to connect and how to print."""

    url: str | None = None
    api_key: str | None = None
    json: bool = False


def build_client(url: str | None, api_key: str | None) -> Client:
    """The Client every command uses; unset values come from the environment or config file."""
    return Client(url, api_key)


def _options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root().obj
    return root if isinstance(root, GlobalOptions) else GlobalOptions()


def client(ctx: typer.Context) -> Client:
    """A Client for the running command, closed when the command ends."""
    options = _options(ctx)
    return ctx.with_resource(build_client(options.url, options.api_key))


def wants_json(ctx: typer.Context, flag: bool) -> bool:
    """True if `--json` was given to the command or before it."""
    return flag or _options(ctx).json
