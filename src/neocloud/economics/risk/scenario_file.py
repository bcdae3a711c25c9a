"""The scenario file: YAML text → a margin-at-risk Scenario, or every problem found, by key.

Any key left out takes its default (default_scenario for the fleet), so a file states only what
the operator knows better. Numbers are read exactly (domain.yaml_reader). Nothing is guessed: an
unknown key, a GPU type the fleet does not have, a non-number, a negative price or a fraction
outside [0, 1] is a problem, and a file with any problem gives no Scenario. The format:
docs/economics.md (## Margin at risk) and docs/examples/scenario.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from neocloud.domain.exact_yaml import FileProblem
from neocloud.domain.fleet import Fleet
from neocloud.domain.yaml_reader import INVALID, Invalid, Node, Place, read_yaml
from neocloud.domain.yaml_shapes import Field, Fields, MapOf, Number, Record, Shape, Then
from neocloud.economics.risk.defaults import default_scenario
from neocloud.economics.risk.scenario import (
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
    empty = "the scenario file is empty (expected a mapping of scenario keys)"
    parsed = read_yaml(text, _ScenarioShape(default_scenario(fleet)).read, empty=empty)
    return ScenarioParse(parsed.value, parsed.problems)


def _numbers(ranges: Mapping[str, Range], keys: tuple[str, ...]) -> Fields:
    """A mapping of optional numbers, each within its range."""
    return Fields(
        {key: Field(Number(checks=(bound.violation,))) for key, bound in ranges.items()},
        unknown=f"unknown key (expected one of {', '.join(keys)})",
    )


def _given(record: Record) -> dict[str, Decimal]:
    """The numbers a mapping sets (those it leaves out keep their defaults)."""
    return {k: v for k, v in record.values.items() if isinstance(v, Decimal)}


class _ScenarioShape(Shape[Scenario]):
    """The whole file over the fleet's defaults."""

    def __init__(self, defaults: Scenario) -> None:
        self.defaults = defaults
        known = ", ".join(defaults.gpu_types)
        root = dict(_numbers(SCENARIO_RANGES, SCENARIO_KEYS).fields)
        root["useful_life"] = Field(
            Then(
                _numbers(dict.fromkeys(USEFUL_LIFE_KEYS, USEFUL_LIFE_RANGE), USEFUL_LIFE_KEYS),
                self.useful_life,
            ),
            null_is_absent=True,
        )
        gpu_types = MapOf(
            self.gpu_type,
            key_checks=(
                lambda key: (
                    None
                    if key in defaults.gpu_types
                    else f"not a GPU type of the fleet (it has {known})"
                ),
            ),
            expected="a mapping of GPU type to settings",
        )
        root["gpu_types"] = Field(Then(gpu_types, self.every_gpu_type), null_is_absent=True)
        self.root = Fields(
            root, unknown=f"unknown key (expected one of {', '.join(SCENARIO_KEYS)})"
        )

    def read(self, node: Node) -> Scenario | Invalid:
        """Every key and value checked; the Scenario when there is no problem."""
        record = self.root.read(node)
        if record is INVALID or not record.ok:
            return INVALID
        life = record["useful_life"]
        gpu_types = record["gpu_types"]
        if life is None:
            life = self.defaults.useful_life
        if gpu_types is None:
            gpu_types = dict(self.defaults.gpu_types)
        try:
            return replace(self.defaults, gpu_types=gpu_types, useful_life=life, **_given(record))
        except ScenarioError as exc:  # pragma: no cover - every range is checked above
            node.reading.add(Place(exc.field, node.place.line), exc.reason)
            return INVALID

    def useful_life(self, record: Record, node: Node) -> UsefulLife | Invalid:
        """useful_life: {low, mode, high} in years; keys left out keep their defaults."""
        if not record.ok:
            return INVALID
        life = self.defaults.useful_life
        numbers = _given(record)
        low = numbers.get("low", life.low)
        mode = numbers.get("mode", life.mode)
        high = numbers.get("high", life.high)
        if low > high:
            node.reading.add(record.place("low"), f"must be <= high ({high})")
            return INVALID
        if not low <= mode <= high:
            node.reading.add(record.place("mode"), f"must be between low ({low}) and high ({high})")
            return INVALID
        return UsefulLife(low=low, mode=mode, high=high)

    def gpu_type(self, gpu_type: str) -> Shape[GpuTypeScenario]:
        """One GPU type's settings over its defaults."""
        default = self.defaults.gpu_types[gpu_type]
        return Then(
            _numbers(GPU_TYPE_RANGES, GPU_TYPE_KEYS),
            lambda record, _: replace(default, **_given(record)) if record.ok else INVALID,
        )

    def every_gpu_type(
        self, given: dict[str, GpuTypeScenario], node: Node
    ) -> dict[str, GpuTypeScenario] | Invalid:
        """Every GPU type of the fleet: as the file sets it, or its defaults."""
        if len(given) != len(node.entries()):
            return INVALID  # an entry had a problem, reported already
        return {**self.defaults.gpu_types, **given}


__all__ = ["ScenarioParse", "parse_scenario"]
