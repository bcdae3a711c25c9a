"""ServerSettings from the environment; a value of the wrong type stops start-up."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from neocloud.server.embedded import ENVIRONMENT, build_context
from neocloud.server.http.context import ServerSettings

DEFAULTS = ServerSettings(database_url="sqlite://", data_dir=Path("."))
NUMERIC = {
    variable: name
    for variable, name in ENVIRONMENT.items()
    if isinstance(getattr(DEFAULTS, name), int | float)
}


def test_each_numeric_variable_sets_its_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i, variable in enumerate(NUMERIC):
        monkeypatch.setenv(variable, str(100 + i))
    settings = build_context(tmp_path).settings
    for i, name in enumerate(NUMERIC.values()):
        assert getattr(settings, name) == 100 + i


def test_text_and_list_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.urlsafe_b64encode(bytes(32)).decode()
    monkeypatch.setenv("NEOCLOUD_OUTBOUND_ALLOW", "hooks.internal.example:443, 127.0.0.1:9000,")
    monkeypatch.setenv("NEOCLOUD_METRICS_TOKEN", "scrape-me")
    monkeypatch.setenv("NEOCLOUD_SECRET_KEY", key)
    monkeypatch.setenv("NEOCLOUD_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    ctx = build_context(tmp_path)
    assert ctx.settings.outbound_allow == ("hooks.internal.example:443", "127.0.0.1:9000")
    assert ctx.settings.metrics_token == "scrape-me"
    assert ctx.settings.secret_key == key
    assert ctx.settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert not (tmp_path / "secret.key").exists()  # the configured key is used, none is made


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NEOCLOUD_OUTBOUND_ALLOW", "http://hooks.example/", "NEOCLOUD_OUTBOUND_ALLOW"),
        ("NEOCLOUD_SECRET_KEY", "too-short", "NEOCLOUD_SECRET_KEY"),
    ],
)
def test_a_bad_security_setting_stops_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit, match=message):
        build_context(tmp_path)


def test_a_value_of_the_wrong_type_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEOCLOUD_USAGE_MAX_AGE_SECONDS", "a month")
    with pytest.raises(SystemExit, match="NEOCLOUD_USAGE_MAX_AGE_SECONDS='a month'"):
        build_context(tmp_path)
