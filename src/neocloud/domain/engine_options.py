"""What the fleet file reader asks an engine about the `engine_options` of a cluster it runs.

The core does not know the engines: whoever reads a fleet file passes in each engine kind's
rules (`neocloud.engines.options.OPTION_RULES`), and each engine keeps one rule per option, which
it also applies when it is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from neocloud.domain.fleet import Isolation


@dataclass(frozen=True, slots=True)
class OptionProblem:
    """One problem with a cluster's engine options, at a key path relative to the cluster."""

    # "engine_options", "engine_options.<key>" or "isolation".
    where: str
    message: str


class EngineOptionRules(Protocol):
    """An engine's rules for the `engine_options` of its clusters."""

    def value_problems(self, options: Mapping[str, str]) -> Sequence[OptionProblem]:
        """Options the engine does not know, and values it cannot use, each on its own."""
        ...

    def isolation_problems(
        self, options: Mapping[str, str], isolation: Isolation
    ) -> Sequence[OptionProblem]:
        """Options that contradict the cluster's isolation level (which is then unusable)."""
        ...
