"""Running `neocloud ...` in-process against an API double."""

from __future__ import annotations

from dataclasses import dataclass, field

from typer.testing import CliRunner, Result

from neocloud.cli.main import app
from tests.sdk.api_double import Api


@dataclass
class Cli:
    """Runs the CLI; `built` records the (url, api_key) each Client was made with."""

    api: Api
    built: list[tuple[str | None, str | None]] = field(default_factory=list)

    def run(self, *args: str) -> Result:
        """Invoke the CLI with arguments."""
        return CliRunner().invoke(app, list(args))
