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
        {
            "host": "0.0.0.0",
            "port": 9090,
            "data_dir": tmp_path / "data",
            "fleet_file": fleet,
            "new_operator_key": False,
        }
    ]


def test_up_defaults(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(embedded, "run", lambda **kwargs: calls.append(kwargs))

    cli.run("up")

    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 8080,
            "data_dir": Path("data"),
            "fleet_file": None,
            "new_operator_key": False,
        }
    ]


def test_up_new_operator_key_is_passed_on(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(embedded, "run", lambda **kwargs: calls.append(kwargs))

    cli.run("up", "--new-operator-key")

    assert calls[0]["new_operator_key"] is True


def _operator_keys(ctx: Any) -> list[tuple[str, bool]]:
    from sqlalchemy import select

    from neocloud.store.models import ApiKeyRow

    with ctx.db.session() as s:
        rows = s.scalars(select(ApiKeyRow).where(ApiKeyRow.role == "operator")).all()
        return [(r.id, r.revoked_at is None) for r in rows]


def test_a_restart_mints_no_operator_key_while_one_is_active(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEOCLOUD_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    ctx, first, done = embedded.prepare(data)
    assert first is not None and first.startswith("nck_")
    assert len(_operator_keys(ctx)) == 1

    ctx, again, done = embedded.prepare(data)
    assert again is None
    assert "1 operator key(s) active: none minted" in done
    assert len(_operator_keys(ctx)) == 1
    banner = "\n".join(embedded.key_banner("http://127.0.0.1:8080", again))
    assert "no new one was minted" in banner and "--new-operator-key" in banner
    assert "NEOCLOUD_API_KEY" not in banner

    ctx, asked, done = embedded.prepare(data, new_operator_key=True)
    assert asked is not None and asked != first
    assert len(_operator_keys(ctx)) == 2


def test_a_start_mints_an_operator_key_when_every_one_is_revoked_or_expired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from neocloud.store.models import ApiKeyRow

    monkeypatch.delenv("NEOCLOUD_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    ctx, first, _ = embedded.prepare(data)
    with ctx.db.session() as s:
        for row in s.query(ApiKeyRow).filter(ApiKeyRow.role == "operator"):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    ctx, second, _ = embedded.prepare(data)
    assert second is not None and second != first
    banner = "\n".join(embedded.key_banner("http://127.0.0.1:8080", second))
    assert f"NEOCLOUD_API_KEY={second}" in banner
