"""One rule per engine option: what its value must be, the same for the fleet file reader (which
asks it through `neocloud.engines.options`) and for the engine that reads the value when built."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from neocloud.domain.engine_options import OptionProblem
from neocloud.domain.fleet import Isolation
from neocloud.engines.base import EngineConfigError

# (options, isolation level) → the options that contradict the level.
IsolationCheck = Callable[[Mapping[str, str], Isolation], Sequence[OptionProblem]]

ABSOLUTE_PATH = re.compile(r"^/\S*$")
_SECONDS = re.compile(r"^[0-9]+(\.[0-9]+)?$")


@dataclass(frozen=True, slots=True)
class OptionRule:
    """What one option's value must be: a pattern (and a further test), in words for the user."""

    pattern: re.Pattern[str]
    # Completes "must be …", e.g. "an absolute path".
    hint: str
    # A condition the pattern cannot say (a number's range, a URL's host).
    test: Callable[[str], bool] | None = None

    def problem(self, value: str) -> str | None:
        """What is wrong with value, or None when the engine can use it."""
        if not self.pattern.match(value) or (self.test is not None and not self.test(value)):
            return f"must be {self.hint}, got '{value}'"
        return None


def _positive(text: str) -> bool:
    return float(text) > 0


def seconds(example: str) -> OptionRule:
    """A number of seconds > 0 (e.g. a timeout or a cache's lifetime)."""
    return OptionRule(_SECONDS, f"a number of seconds > 0, e.g. '{example}'", _positive)


def absolute_path(what: str = "an absolute path") -> OptionRule:
    """An absolute path without spaces."""
    return OptionRule(ABSOLUTE_PATH, what)


def choice(*values: str) -> OptionRule:
    """One of a few words, written exactly."""
    words = ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
    return OptionRule(re.compile(f"^({'|'.join(map(re.escape, values))})$"), words)


# What the control plane does with the jobs of a node its engine reports drained
# (server.engines.drain_policy): the same choice for every engine that can drain a node.
ON_DRAIN = {"on_drain": choice("requeue", "finish")}


def _no_isolation_problems(
    options: Mapping[str, str], isolation: Isolation
) -> Sequence[OptionProblem]:
    return ()


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """An engine kind's options: the rule of each key it knows, and how they bear on the
    cluster's isolation level (the fleet reader's `EngineOptionRules`)."""

    engine: str
    rules: Mapping[str, OptionRule]
    isolation_check: IsolationCheck = _no_isolation_problems

    def value_problems(self, options: Mapping[str, str]) -> list[OptionProblem]:
        """Options this engine does not know, and values it cannot use."""
        problems = []
        for key, value in options.items():
            rule = self.rules.get(key)
            if rule is None:
                allowed = ", ".join(sorted(self.rules)) or "none"
                problems.append(
                    OptionProblem(
                        "engine_options",
                        f"unknown option '{key}' for engine {self.engine} (allowed: {allowed})",
                    )
                )
                continue
            problem = rule.problem(value)
            if problem is not None:
                problems.append(OptionProblem(f"engine_options.{key}", problem))
        return problems

    def isolation_problems(
        self, options: Mapping[str, str], isolation: Isolation
    ) -> list[OptionProblem]:
        """Options that contradict the cluster's isolation level."""
        return list(self.isolation_check(options, isolation))

    def check(self, options: Mapping[str, str]) -> None:
        """Raise EngineConfigError naming the first value the engine cannot use.

        Keys it does not know are left alone here: the fleet file refuses them, and an engine
        built by hand may be given more than it reads."""
        for problem in self.value_problems({k: v for k, v in options.items() if k in self.rules}):
            raise EngineConfigError(f"{problem.where}: {problem.message}")
