"""Where the SDK finds its URL and API key: arguments, then environment, then a config file."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from neocloud.sdk.errors import INVALID_CONFIG, NeocloudError

DEFAULT_URL = "http://127.0.0.1:8080"
ENV_URL = "NEOCLOUD_URL"
ENV_API_KEY = "NEOCLOUD_API_KEY"
ENV_CONFIG = "NEOCLOUD_CONFIG"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The resolved connection settings."""

    url: str
    api_key: str | None

    def __repr__(self) -> str:
        # Keep the secret out of logs and tracebacks.
        shown = "set" if self.api_key else "unset"
        return f"ClientConfig(url={self.url!r}, api_key=<{shown}>)"


def default_config_path(environ: Mapping[str, str]) -> Path:
    """`$NEOCLOUD_CONFIG`, else `~/.config/neocloud/config.toml`."""
    explicit = environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".config" / "neocloud" / "config.toml"


def read_config_file(path: Path, *, required: bool) -> dict[str, str]:
    """The `url` and `api_key` keys of a TOML config file ({} if absent and not required)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise NeocloudError(
                None, INVALID_CONFIG, f"config file {path} does not exist"
            ) from None
        return {}
    except OSError as exc:
        raise NeocloudError(None, INVALID_CONFIG, f"cannot read config file {path}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NeocloudError(None, INVALID_CONFIG, f"config file {path}: {exc}") from exc
    out: dict[str, str] = {}
    for key in ("url", "api_key"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise NeocloudError(
                None, INVALID_CONFIG, f"config file {path}: {key} must be a string", {"field": key}
            )
        out[key] = value
    return out


def resolve_settings(
    url: str | None = None,
    api_key: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Each setting from the first place that has it: argument, environment, config file."""
    env = os.environ if environ is None else environ
    url = url or env.get(ENV_URL) or None
    api_key = api_key or env.get(ENV_API_KEY) or None
    if url is None or api_key is None:
        # A config path the user named must exist; the default one is optional.
        file = read_config_file(default_config_path(env), required=bool(env.get(ENV_CONFIG)))
        url = url or file.get("url") or None
        api_key = api_key or file.get("api_key") or None
    return ClientConfig(url=(url or DEFAULT_URL).rstrip("/"), api_key=api_key)
