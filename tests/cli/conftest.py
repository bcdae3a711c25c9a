"""Fixtures for CLI tests: the real commands, their one Client factory aimed at an API double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neocloud.cli import context
from neocloud.sdk.client import Client
from tests.cli.harness import Cli
from tests.sdk.api_double import Api


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No developer config leaks in, and tables are wide enough not to fold values."""
    for name in ("NEOCLOUD_URL", "NEOCLOUD_API_KEY", "NEOCLOUD_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    yield


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI talking to a fresh API double."""
    harness = Cli(api=Api())

    def build(url: str | None, api_key: str | None) -> Client:
        harness.built.append((url, api_key))
        transport = httpx.MockTransport(harness.api)
        return Client(
            url or "http://neocloud.test", api_key, http=httpx.Client(transport=transport)
        )

    monkeypatch.setattr(context, "build_client", build)
    return harness
