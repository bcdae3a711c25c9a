"""`neocloud up`: run a server on this machine, with its data in one directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def up(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", file_okay=False, help="Database and logs.")
    ] = Path("./data"),
    fleet: Annotated[
        Path | None,
        typer.Option("--fleet", exists=True, dir_okay=False, metavar="FILE", help="Load a fleet."),
    ] = None,
    new_operator_key: Annotated[
        bool,
        typer.Option(
            "--new-operator-key",
            help="Mint an operator key even though one is active (e.g. the old one was lost).",
        ),
    ] = False,
) -> None:
    """Start neocloud here; prints the URL, and an operator key when none is active (shown once).

    Runs until Ctrl-C.
    """
    # Imported here: the server and its dependencies load only for this command.
    from neocloud.server.embedded import run

    run(
        host=host,
        port=port,
        data_dir=data_dir,
        fleet_file=fleet,
        new_operator_key=new_operator_key,
    )
