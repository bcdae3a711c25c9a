"""A local cluster's `engine_options`: the sandbox's network per kind of org (`local.network`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from neocloud.domain.engine_options import OptionProblem
from neocloud.domain.fleet import Isolation
from neocloud.engines.local.network import CHOICES, EXTERNAL_KEY, INTERNAL_KEY
from neocloud.engines.option_rules import EngineOptions, choice


def _network_without_sandbox(
    options: Mapping[str, str], isolation: Isolation
) -> Sequence[OptionProblem]:
    if isolation is not Isolation.NONE:
        return []
    return [
        OptionProblem(
            f"engine_options.{key}",
            "chooses the sandbox's network, but this cluster has isolation: none, whose jobs "
            "share the machine's network: remove it, or drop isolation: none",
        )
        for key in (EXTERNAL_KEY, INTERNAL_KEY)
        if key in options
    ]


LOCAL_OPTIONS = EngineOptions(
    "local", dict.fromkeys((EXTERNAL_KEY, INTERNAL_KEY), choice(*CHOICES)), _network_without_sandbox
)
