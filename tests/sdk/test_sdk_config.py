"""The URL and key come from the first place that has them: argument, environment, config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from neocloud.sdk.config import DEFAULT_URL, resolve_settings
from neocloud.sdk.errors import NeocloudError

FILE = 'url = "http://file:1"\napi_key = "file-key"\n'
ENV = {"NEOCLOUD_URL": "http://env:2", "NEOCLOUD_API_KEY": "env-key"}


@pytest.mark.parametrize(
    ("args", "env", "file", "expected"),
    [
        ((None, None), {}, None, (DEFAULT_URL, None)),
        ((None, None), {}, FILE, ("http://file:1", "file-key")),
        ((None, None), ENV, FILE, ("http://env:2", "env-key")),
        (("http://arg:3", "arg-key"), ENV, FILE, ("http://arg:3", "arg-key")),
        # Each setting is resolved on its own: a URL flag does not hide the key from the file.
        (("http://arg:3", None), {}, FILE, ("http://arg:3", "file-key")),
        ((None, None), {"NEOCLOUD_API_KEY": "env-key"}, FILE, ("http://file:1", "env-key")),
        ((None, None), {"NEOCLOUD_URL": ""}, FILE, ("http://file:1", "file-key")),
        (("http://arg:3/", None), {}, None, ("http://arg:3", None)),
    ],
)
def test_resolution_order(
    tmp_path: Path,
    args: tuple[str | None, str | None],
    env: dict[str, str],
    file: str | None,
    expected: tuple[str, str | None],
) -> None:
    home = tmp_path / "home"
    if file is not None:
        path = home / ".config" / "neocloud" / "config.toml"
        path.parent.mkdir(parents=True)
        path.write_text(file)
    environ = env | {"HOME": str(home)}

    settings = resolve_settings(*args, environ=environ)

    assert (settings.url, settings.api_key) == expected


def test_neocloud_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text(FILE)

    settings = resolve_settings(environ={"NEOCLOUD_CONFIG": str(path)})

    assert (settings.url, settings.api_key) == ("http://file:1", "file-key")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "does not exist"),
        ("url = ", "elsewhere.toml"),
        ("api_key = 42", "api_key must be a string"),
    ],
)
def test_bad_named_config_file_is_an_error(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "elsewhere.toml"
    if content is not None:
        path.write_text(content)

    with pytest.raises(NeocloudError) as caught:
        resolve_settings(environ={"NEOCLOUD_CONFIG": str(path)})

    assert caught.value.code == "invalid_config"
    assert fragment in caught.value.message


def test_the_key_never_shows_in_repr() -> None:
    settings = resolve_settings("http://x", "very-secret", environ={})

    assert "very-secret" not in repr(settings)


def test_client_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from neocloud import Client

    monkeypatch.setenv("NEOCLOUD_URL", "http://env:2")
    monkeypatch.setenv("NEOCLOUD_API_KEY", "env-key")

    with Client() as client:
        assert client.url == "http://env:2"
