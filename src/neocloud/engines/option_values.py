"""Values of a cluster's `engine_options` that more than one engine reads."""

from __future__ import annotations

from collections.abc import Mapping

from neocloud.engines.base import EngineConfigError


def positive_seconds(options: Mapping[str, str], key: str, default: float) -> float:
    """options[key] as seconds > 0 (default when absent); EngineConfigError naming the key."""
    text = options.get(key)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:  # also refuses NaN
        raise EngineConfigError(
            f"engine_options.{key}: must be a number of seconds > 0, got {text!r}"
        )
    return value
