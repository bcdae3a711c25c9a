"""Fixtures for SDK tests: an API double and an environment free of the developer's config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk.api_double import Api


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's own environment or config file."""
    for name in ("NEOCLOUD_URL", "NEOCLOUD_API_KEY", "NEOCLOUD_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield


@pytest.fixture
def api() -> Api:
    """A fresh API double."""
    return Api()
