"""A Ray cluster's `engine_options` from the fleet file, read into typed settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from neocloud.engines.base import EngineConfigError
from neocloud.engines.option_values import positive_seconds

DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
DEFAULT_POLL_CACHE_SECONDS = 0.5
_PROGRAM = re.compile(r"^[A-Za-z0-9_./+-]+$")


@dataclass(frozen=True, slots=True)
class RayOptions:
    """How to reach one Ray cluster's dashboard (which serves the Jobs and State APIs)."""

    # The dashboard's URL, e.g. http://head:8265 (`ray start --head --dashboard-host`).
    address: str
    # The Python interpreter on the Ray nodes that runs neocloud's small per-attempt runner
    # (standard library only). Any python3 on the nodes' PATH will do.
    python: str = "python3"
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    # How long one node listing serves the placement checks of launches.
    poll_cache_seconds: float = DEFAULT_POLL_CACHE_SECONDS

    @classmethod
    def from_engine_options(cls, options: Mapping[str, str]) -> RayOptions:
        """Read `engine_options`; a bad value raises EngineConfigError naming the option."""

        address = options.get("address")
        if not address:
            raise EngineConfigError(
                "engine_options.address: required for a Ray cluster: the URL of its dashboard, "
                "e.g. http://ray-head:8265 (the head started with `ray start --head "
                "--dashboard-host=<reachable address>`)"
            )
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineConfigError(
                f"engine_options.address: must be the dashboard's http(s) URL, e.g. "
                f"http://ray-head:8265, got {address!r}"
            )
        python = options.get("python", "python3")
        if not _PROGRAM.match(python):
            raise EngineConfigError(
                f"engine_options.python: must be a program name or path, got {python!r}"
            )
        return cls(
            address=address.rstrip("/"),
            python=python,
            request_timeout_seconds=positive_seconds(
                options, "request_timeout_seconds", DEFAULT_REQUEST_TIMEOUT_SECONDS
            ),
            poll_cache_seconds=positive_seconds(
                options, "poll_cache_seconds", DEFAULT_POLL_CACHE_SECONDS
            ),
        )
