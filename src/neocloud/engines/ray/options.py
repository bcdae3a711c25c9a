"""A Ray cluster's `engine_options` from the fleet file, read into typed settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from neocloud.engines.base import EngineConfigError
from neocloud.engines.option_rules import ON_DRAIN, EngineOptions, OptionRule, seconds

DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
DEFAULT_POLL_CACHE_SECONDS = 0.5


def _has_host(url: str) -> bool:
    return bool(urlsplit(url).hostname)


# Ray isolates nothing, so no option bears on the isolation level.
RAY_OPTIONS = EngineOptions(
    "ray",
    {
        "address": OptionRule(
            re.compile(r"^https?://[^\s/]+(/\S*)?$"),
            "the dashboard's URL, e.g. 'http://ray-head:8265'",
            _has_host,
        ),
        "python": OptionRule(
            re.compile(r"^[A-Za-z0-9_./+-]+$"), "a program name or path, e.g. 'python3'"
        ),
        "request_timeout_seconds": seconds("10"),
        "poll_cache_seconds": seconds("0.5"),
        **ON_DRAIN,
    },
)


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
        # The fleet file lets a Ray cluster leave its address out: the cluster is then reported
        # broken with the fix, and the rest of the fleet works.
        if not options.get("address"):
            raise EngineConfigError(
                "engine_options.address: required for a Ray cluster: the URL of its dashboard, "
                "e.g. http://ray-head:8265 (the head started with `ray start --head "
                "--dashboard-host=<reachable address>`)"
            )
        RAY_OPTIONS.check(options)
        return cls(
            address=options["address"].rstrip("/"),
            python=options.get("python", "python3"),
            request_timeout_seconds=float(
                options.get("request_timeout_seconds", DEFAULT_REQUEST_TIMEOUT_SECONDS)
            ),
            poll_cache_seconds=float(options.get("poll_cache_seconds", DEFAULT_POLL_CACHE_SECONDS)),
        )
