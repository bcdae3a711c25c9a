"""The scenario file: YAML text → a margin-at-risk Scenario, or every problem found, by key.

Any key left out takes its default (default_scenario for the fleet), so a file states only what
the operator knows better. Numbers are read exactly (domain.exact_yaml). Nothing is guessed: an
unknown key, a GPU type the fleet does not have, a non-number, a negative price or a fraction
outside [0, 1] is a problem, and a file with any problem gives no Scenario. The format:
docs/economics.md (## Margin at risk) and docs/examples/scenario.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import yaml

from neocloud.domain.exact_yaml import FileProblem, describe, load_yaml, located, yaml_problem
from neocloud.domain.fleet import Fleet
from neocloud.economics.risk_defaults import default_scenario
from neocloud.economics.risk_scenario import (
    GPU_TYPE_KEYS,
    GPU_TYPE_RANGES,
    SCENARIO_KEYS,
    SCENARIO_RANGES,
    USEFUL_LIFE_KEYS,
    USEFUL_LIFE_RANGE,
    GpuTypeScenario,
    Range,
    Scenario,
    ScenarioError,
    UsefulLife,
)


@dataclass(slots=True)
class ScenarioParse:
    """The scenario a file describes, or every problem found in it (never both)."""

    scenario: Scenario | None = None
    problems: list[FileProblem] = field(default_factory=list)


def parse_scenario(text: str, fleet: Fleet) -> ScenarioParse:
    """Read a scenario file whole against the fleet it is for; defaults fill what it leaves out."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        return ScenarioParse(problems=[yaml_problem(exc)])
    reader = _Reader(fleet)
    scenario = reader.read(document)
    if reader.problems or scenario is None:
        return ScenarioParse(problems=located(text, reader.problems))
    return ScenarioParse(scenario=scenario)


class _Reader:
    """Walks the document, collecting problems and the values it sets."""

    def __init__(self, fleet: Fleet) -> None:
        self.defaults = default_scenario(fleet)
        self.problems: list[FileProblem] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(FileProblem(path, message))

    def read(self, document: object) -> Scenario | None:
        """Check every key and value; build the Scenario when there is no problem."""
        if document is None:
            self.add("<root>", "the scenario file is empty (expected a mapping of scenario keys)")
            return None
        root = self.mapping(document, "<root>", SCENARIO_KEYS, prefix="")
        if root is None:
            return None
        numbers = self.numbers(root, SCENARIO_RANGES, prefix="")
        life = self.useful_life(root.get("useful_life"))
        gpu_types = self.gpu_types(root.get("gpu_types"))
        if self.problems or life is None or gpu_types is None:
            return None
        try:
            return replace(self.defaults, gpu_types=gpu_types, useful_life=life, **numbers)
        except ScenarioError as exc:  # pragma: no cover - every range is checked above
            self.add(exc.field, exc.reason)
            return None

    def mapping(
        self, value: object, path: str, allowed: tuple[str, ...], *, prefix: str
    ) -> Mapping[Any, Any] | None:
        """The value as a mapping, every key not in allowed reported; None if not a mapping."""
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping, got {describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.add(f"{prefix}{key}", f"unknown key (expected one of {', '.join(allowed)})")
        return value

    def numbers(
        self, m: Mapping[Any, Any], ranges: Mapping[str, Range], *, prefix: str
    ) -> dict[str, Decimal]:
        """The numeric keys present in m, each checked against its range."""
        out: dict[str, Decimal] = {}
        for key, bound in ranges.items():
            if key in m:
                number = self.number(m[key], f"{prefix}{key}", bound)
                if number is not None:
                    out[key] = number
        return out

    def number(self, value: object, path: str, bound: Range) -> Decimal | None:
        """An exact Decimal within bound, or a problem."""
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.add(path, f"must be a number, got {describe(value, show_strings=True)}")
            return None
        number = Decimal(value)
        reason = bound.violation(number)
        if reason is not None:
            self.add(path, reason)
            return None
        return number

    def useful_life(self, value: object) -> UsefulLife | None:
        """useful_life: {low, mode, high} in years; keys left out keep their defaults."""
        life = self.defaults.useful_life
        if value is None:
            return life
        m = self.mapping(value, "useful_life", USEFUL_LIFE_KEYS, prefix="useful_life.")
        if m is None:
            return None
        ranges = dict.fromkeys(USEFUL_LIFE_KEYS, USEFUL_LIFE_RANGE)
        before = len(self.problems)
        numbers = self.numbers(m, ranges, prefix="useful_life.")
        if len(self.problems) > before:
            return None
        low = numbers.get("low", life.low)
        mode = numbers.get("mode", life.mode)
        high = numbers.get("high", life.high)
        if low > high:
            self.add("useful_life.low", f"must be <= high ({high})")
            return None
        if not low <= mode <= high:
            self.add("useful_life.mode", f"must be between low ({low}) and high ({high})")
            return None
        return UsefulLife(low=low, mode=mode, high=high)

    def gpu_types(self, value: object) -> dict[str, GpuTypeScenario] | None:
        """gpu_types: {<GPU type>: {...}}; a type left out keeps its defaults."""
        out = dict(self.defaults.gpu_types)
        if value is None:
            return out
        known = tuple(out)
        if not isinstance(value, dict):
            self.add(
                "gpu_types", f"must be a mapping of GPU type to settings, got {describe(value)}"
            )
            return None
        complete = True
        for gpu_type, settings in value.items():
            path = f"gpu_types.{gpu_type}"
            if gpu_type not in out:
                self.add(path, f"not a GPU type of the fleet (it has {', '.join(known)})")
                complete = False
                continue
            entry = self.gpu_type(settings, path, out[gpu_type])
            if entry is None:
                complete = False
            else:
                out[gpu_type] = entry
        return out if complete else None

    def gpu_type(
        self, value: object, path: str, default: GpuTypeScenario
    ) -> GpuTypeScenario | None:
        """One GPU type's settings over its defaults."""
        before = len(self.problems)
        m = self.mapping(value, path, GPU_TYPE_KEYS, prefix=f"{path}.")
        if m is None:
            return None
        numbers = self.numbers(m, GPU_TYPE_RANGES, prefix=f"{path}.")
        if len(self.problems) > before:
            return None
        return replace(default, **numbers)


__all__ = ["ScenarioParse", "parse_scenario"]
