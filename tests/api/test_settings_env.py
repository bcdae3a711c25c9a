"""Settings from the environment; a value of the wrong type stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from neocloud.server.embedded import ENVIRONMENT, build_context


def test_each_variable_sets_its_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i, variable in enumerate(ENVIRONMENT):
        monkeypatch.setenv(variable, str(100 + i))
    settings = build_context(tmp_path).settings
    for i, name in enumerate(ENVIRONMENT.values()):
        assert getattr(settings, name) == 100 + i


def test_a_value_of_the_wrong_type_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEOCLOUD_USAGE_MAX_AGE_SECONDS", "a month")
    with pytest.raises(SystemExit, match="NEOCLOUD_USAGE_MAX_AGE_SECONDS='a month'"):
        build_context(tmp_path)
