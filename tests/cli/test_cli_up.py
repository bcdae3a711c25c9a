"""`neocloud up` hands its options to the embedded server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.harness import Cli

embedded = pytest.importorskip("neocloud.server.embedded")


def test_up_passes_its_options_to_the_server(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(embedded, "run", lambda **kwargs: calls.append(kwargs))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("regions: []\n")

    result = cli.run(
        "up", "--host", "0.0.0.0", "--port", "9090",
        "--data-dir", str(tmp_path / "data"), "--fleet", str(fleet),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert calls == [
        {"host": "0.0.0.0", "port": 9090, "data_dir": tmp_path / "data", "fleet_file": fleet}
    ]


def test_up_defaults(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(embedded, "run", lambda **kwargs: calls.append(kwargs))

    cli.run("up")

    assert calls == [
        {"host": "127.0.0.1", "port": 8080, "data_dir": Path("data"), "fleet_file": None}
    ]
