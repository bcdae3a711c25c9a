"""One strict reader for every input file: walk the exact-YAML node tree, report every problem.

A file is read in two steps. `read_yaml` parses the text (domain.exact_yaml: exact Decimals,
duplicate keys refused) and hands the root `Node` to the file's own reader, which describes the
file's shape with domain.yaml_shapes (mappings with known keys, lists, checked scalars) and adds
the rules that span fields. Each node knows its `Place`, its path (`nodes[2].gpus`) and its line,
so every problem is reported as `file:line: path: message`, all of them at once, in file order.

Lines follow one rule: a problem about a mapping entry is on the line of its key, one about a
list item on the line where the item starts, and a missing key on the line of the mapping it is
missing from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

import yaml

from neocloud.domain.exact_yaml import FileProblem, describe, load_tree, yaml_problem

T = TypeVar("T")
ROOT = "<root>"


class Invalid(Enum):
    """The value of something that had a problem (the problem is reported already)."""

    INVALID = "invalid"


INVALID = Invalid.INVALID


@dataclass(frozen=True, slots=True)
class Place:
    """Where something is in a file: its path (`tiers[1].up_to`, "" at the top) and its line."""

    path: str
    line: int | None

    def key(self, name: object, line: int | None) -> Place:
        """The place of the entry `name` of the mapping here, on line `line`."""
        return Place(f"{self.path}.{name}" if self.path else str(name), line)

    def index(self, i: int, line: int | None) -> Place:
        """The place of item i of the list here, on line `line`."""
        return Place(f"{self.path}[{i}]", line)

    @property
    def shown(self) -> str:
        """The path as problems show it: `<root>` for the top of the file."""
        return self.path or ROOT


@dataclass(slots=True)
class Reading:
    """The problems found so far in one file."""

    problems: list[FileProblem] = field(default_factory=list)

    def add(self, place: Place, message: str) -> None:
        """Record one problem at a place."""
        self.problems.append(FileProblem(place.shown, message, place.line))

    def mark(self) -> int:
        """A bookmark: how many problems there are now (see clean_since)."""
        return len(self.problems)

    def clean_since(self, mark: int) -> bool:
        """True when no problem was added since the bookmark."""
        return len(self.problems) == mark


class Node:
    """A node of the file, with its place, its exact value and the file's problem list."""

    __slots__ = ("_build", "_entries", "node", "place", "reading")

    def __init__(
        self,
        node: yaml.Node,
        place: Place,
        reading: Reading,
        build: Callable[[yaml.Node], Any],
    ) -> None:
        self.node = node
        self.place = place
        self.reading = reading
        self._build = build
        self._entries: dict[Any, Node] | None = None

    @property
    def value(self) -> Any:
        """The node's value as plain data (Decimal for floats, dict, list, str …)."""
        return self._build(self.node)

    @property
    def is_mapping(self) -> bool:
        """True for a YAML mapping."""
        return isinstance(self.node, yaml.MappingNode)

    @property
    def is_list(self) -> bool:
        """True for a YAML sequence."""
        return isinstance(self.node, yaml.SequenceNode)

    @property
    def is_null(self) -> bool:
        """True for an empty value or an explicit null."""
        return isinstance(self.node, yaml.ScalarNode) and self.value is None

    def describe(self, show_strings: bool = False) -> str:
        """What kind of value this is, for a message: "a list", "a number", "'abc'" …"""
        if self.is_mapping:
            return "a mapping"
        if self.is_list:
            return "a list"
        return describe(self.value, show_strings)

    def problem(self, message: str) -> None:
        """Report a problem with this node."""
        self.reading.add(self.place, message)

    def entries(self) -> dict[Any, Node]:
        """A mapping's entries by key (as YAML builds them: the last of a merged key wins)."""
        if self._entries is None:
            assert isinstance(self.node, yaml.MappingNode)
            self._entries = {}
            for key_node, value_node in self.node.value:
                key = self._build(key_node)
                place = self.place.key(key, key_node.start_mark.line + 1)
                self._entries[key] = Node(value_node, place, self.reading, self._build)
        return self._entries

    def get(self, key: str) -> Node | None:
        """A mapping's entry under key, or None when the file leaves it out."""
        return self.entries().get(key) if self.is_mapping else None

    def at(self, key: str) -> Place:
        """Where a mapping's key is, or, when left out, where it is missing from."""
        entry = self.get(key)
        return entry.place if entry is not None else self.place.key(key, self.place.line)

    def items(self) -> list[Node]:
        """A list's items, each at its index and on the line where it starts."""
        assert isinstance(self.node, yaml.SequenceNode)
        return [
            Node(item, self.place.index(i, item.start_mark.line + 1), self.reading, self._build)
            for i, item in enumerate(self.node.value)
        ]


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """What a file gives: its value when it has no problem, else None and every problem."""

    value: T | None
    problems: list[FileProblem]


def read_yaml(
    text: str,
    read: Callable[[Node], T | Invalid],
    *,
    empty: str,
    position_in_message: bool = False,
) -> Parsed[T]:
    """Parse text and read its root node with `read`; every problem, in file order, or the value.

    A file that is not YAML is one problem at `<yaml>` (its message starting with `line L,
    column C:` when position_in_message); an empty one is one problem at `<root>` saying
    `empty`. The value is kept only when no problem at all was found.
    """
    try:
        root, build = load_tree(text)
    except yaml.YAMLError as exc:
        return Parsed(None, [yaml_problem(exc, position_in_message)])
    reading = Reading()
    if root is None:
        return Parsed(None, [FileProblem(ROOT, empty)])
    node = Node(root, Place("", root.start_mark.line + 1), reading, build)
    if node.is_null:
        # A document that is only `null` (or `~`) is as empty as one with nothing in it.
        return Parsed(None, [FileProblem(ROOT, empty, node.place.line)])
    value = read(node)
    if reading.problems or value is INVALID:
        # Stable: problems on one line keep the order they were found in.
        return Parsed(None, sorted(reading.problems, key=lambda p: p.line or 0))
    return Parsed(value, [])


__all__ = ["INVALID", "ROOT", "Invalid", "Node", "Parsed", "Place", "Reading", "read_yaml"]
