"""The shapes an input file is described with: checked scalars, mappings of known keys, lists.

A shape reads one node (domain.yaml_reader.Node): it returns the value, or INVALID after
reporting every problem it found at the node's place. Messages have the one form every reader
uses, `must be <expected>, got <what the file holds>`, and each shape takes the words its file
has always used, so a file's messages stay what its users know.

    METER = Fields({"unit": Field(Text(checks=(non_empty,)), required=True), ...})
    record = METER.read(node)      # a Record: each field's value, or INVALID

Rules that span fields (one key needs another, bounds ascend) are plain code over the Record,
which gives each field's place for its problem: `record.place("tiers")`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from neocloud.domain.yaml_reader import INVALID, Invalid, Node, Place

T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")

# A rule on a value already of the right type: the problem's message, or None when it holds.
Check = Callable[[V], str | None]


class Shape(Generic[T]):
    """How to read one node: the value it holds, or INVALID with its problems reported."""

    def read(self, node: Node) -> T | Invalid:
        """Read node, reporting each problem at its place."""
        raise NotImplementedError


def _first_problem(node: Node, value: V, checks: tuple[Check[V], ...]) -> V | Invalid:
    """value when every check holds; else the first check's problem, reported at node."""
    for check in checks:
        message = check(value)
        if message is not None:
            node.problem(message)
            return INVALID
    return value


def _wrong_type(node: Node, expected: str, show_strings: bool) -> Invalid:
    node.problem(f"must be {expected}, got {node.describe(show_strings)}")
    return INVALID


# -- scalars ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number(Shape[Decimal]):
    """An exact number (a YAML int or float, never a boolean), then checks in order."""

    checks: tuple[Check[Decimal], ...] = ()
    expected: str = "a number"
    show_strings: bool = True
    # A quoted number ("0.5") counts too, read from its text.
    quoted: bool = False
    # The message for NaN or an infinity ({raw} is what the file holds); None lets the checks
    # judge them.
    finite: str | None = "must be a finite number"

    def read(self, node: Node) -> Decimal | Invalid:
        """The number, or INVALID with its problem reported."""
        raw = node.value
        kinds = (int, Decimal, str) if self.quoted else (int, Decimal)
        if isinstance(raw, bool) or not isinstance(raw, kinds):
            return _wrong_type(node, self.expected, self.show_strings)
        try:
            # From text, never through float: the loader already gives 0.000002 exactly.
            number = Decimal(raw.strip() if isinstance(raw, str) else raw)
        except InvalidOperation:
            return _wrong_type(node, self.expected, self.show_strings)
        if self.finite is not None and not number.is_finite():
            node.problem(self.finite.format(raw=raw))
            return INVALID
        return _first_problem(node, number, self.checks)


@dataclass(frozen=True, slots=True)
class Integer(Shape[int]):
    """A whole number (never a boolean), then checks in order."""

    checks: tuple[Check[int], ...] = ()
    expected: str = "a whole number"
    show_strings: bool = False

    def read(self, node: Node) -> int | Invalid:
        """The integer, or INVALID with its problem reported."""
        raw = node.value
        if isinstance(raw, bool) or not isinstance(raw, int):
            return _wrong_type(node, self.expected, self.show_strings)
        return _first_problem(node, raw, self.checks)


@dataclass(frozen=True, slots=True)
class Text(Shape[str]):
    """A string, then checks in order (see non_empty, at_most, matching, a_name)."""

    checks: tuple[Check[str], ...] = ()
    expected: str = "a string"
    show_strings: bool = False

    def read(self, node: Node) -> str | Invalid:
        """The string, or INVALID with its problem reported."""
        raw = node.value
        if not isinstance(raw, str):
            return _wrong_type(node, self.expected, self.show_strings)
        return _first_problem(node, raw, self.checks)


@dataclass(frozen=True, slots=True)
class Choice(Shape[str]):
    """One of a fixed set of words."""

    choices: tuple[str, ...]
    # The problem when it is none of them: {choices} and {got} are filled in.
    message: str = "must be one of {choices}, got {got}"

    def read(self, node: Node) -> str | Invalid:
        """The word, or INVALID with its problem reported."""
        raw = node.value
        if not isinstance(raw, str) or raw not in self.choices:
            got = node.describe(show_strings=True)
            node.problem(self.message.format(choices=", ".join(self.choices), got=got))
            return INVALID
        return raw


@dataclass(frozen=True, slots=True)
class Raw(Shape[Any]):
    """Any value as plain data, then checks in order (for a rule that judges the type too)."""

    checks: tuple[Check[Any], ...] = ()

    def read(self, node: Node) -> Any:
        """The node's value, or INVALID with its problem reported."""
        return _first_problem(node, node.value, self.checks)


def non_empty(value: str) -> str | None:
    """Check: the string has at least one character."""
    return "must not be empty" if not value else None


def at_most(length: int) -> Check[str]:
    """Check: the string has at most `length` characters."""
    return lambda value: f"must be at most {length} characters" if len(value) > length else None


def matching(pattern: re.Pattern[str], hint: str) -> Check[str]:
    """Check: the string matches pattern; else `must be <hint>, got '<value>'`."""
    return lambda value: None if pattern.match(value) else f"must be {hint}, got '{value}'"


# -- mappings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field(Generic[T]):
    """A key of a mapping: its shape, and what happens when the file leaves it out."""

    # The shape, or how to choose it from the fields read before this one (declaration order).
    shape: Shape[T] | Callable[[Record], Shape[T]]
    required: bool = False
    # The value of an optional key the file leaves out.
    default: Any = None
    # The problem for a required key the file leaves out.
    missing: str = "missing required key"
    # True: an explicit null (`key:` or `key: ~`) counts as leaving the key out.
    null_is_absent: bool = False


@dataclass(slots=True)
class Record:
    """A mapping as read: each field's value (INVALID where it had a problem) and the node."""

    node: Node
    values: dict[str, Any] = field(default_factory=dict)
    # The Reading's mark when the mapping was first read (see ok).
    mark: int = 0

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def has(self, name: str) -> bool:
        """True when the file writes this key."""
        return self.node.get(name) is not None

    def place(self, name: str) -> Place:
        """Where the key is, or where it is missing from, for a problem about it."""
        return self.node.at(name)

    @property
    def ok(self) -> bool:
        """True when no problem was found in the mapping (nor any field INVALID) so far."""
        valid = all(v is not INVALID for v in self.values.values())
        return valid and self.node.reading.clean_since(self.mark)


@dataclass(frozen=True, slots=True)
class Fields(Shape[Record]):
    """A mapping with known keys: each unknown key is a problem naming what is allowed."""

    fields: Mapping[str, Field[Any]]
    expected: str = "a mapping"
    show_strings: bool = False
    # The problem for an unknown key: {key} and {allowed} (the known keys) are filled in.
    unknown: str = "unknown key (allowed: {allowed})"
    # Where an unknown key is reported: at the key itself, or at the mapping holding it.
    unknown_at_key: bool = True

    def read(self, node: Node) -> Record | Invalid:
        """Every field in declaration order (unknown keys first); INVALID if not a mapping."""
        if not node.is_mapping:
            return _wrong_type(node, self.expected, self.show_strings)
        mark = node.reading.mark()
        allowed = ", ".join(self.fields)
        for key, entry in node.entries().items():
            if key not in self.fields:
                place = entry.place if self.unknown_at_key else node.place
                node.reading.add(place, self.unknown.format(key=key, allowed=allowed))
        record = Record(node, mark=mark)
        for name, spec in self.fields.items():
            written = node.get(name)
            if written is not None and spec.null_is_absent and written.is_null:
                written = None
            if written is not None:
                shape = spec.shape if isinstance(spec.shape, Shape) else spec.shape(record)
                record.values[name] = shape.read(written)
            elif spec.required:
                node.reading.add(node.at(name), spec.missing)
                record.values[name] = INVALID
            else:
                record.values[name] = spec.default
        return record


@dataclass(frozen=True, slots=True)
class MapOf(Shape[dict[str, T]]):
    """A mapping of names the file chooses (meters, GPU types) to values of one shape.

    Only the entries read without a problem are in the result: compare Reading marks to know
    whether every entry was.
    """

    # The value's shape, or how to choose it from the entry's key.
    value: Shape[T] | Callable[[str], Shape[T]]
    # Checks on each key: a problem is reported at the entry.
    key_checks: tuple[Check[object], ...] = ()
    # False: an entry whose key has a problem is not read any further.
    read_bad_keys: bool = False
    # Where a key's problem is reported: at its entry, or at the mapping holding it.
    key_problems_at_entry: bool = True
    # True: the whole mapping is INVALID when any entry had a problem.
    all_or_nothing: bool = False
    expected: str = "a mapping"
    # The problem when the mapping is empty (None: an empty mapping is fine).
    empty: str | None = None

    def read(self, node: Node) -> dict[str, T] | Invalid:
        """The entries read without a problem; INVALID if not a mapping."""
        if not node.is_mapping:
            return _wrong_type(node, self.expected, False)
        start = node.reading.mark()
        if self.empty is not None and not node.entries():
            node.problem(self.empty)
        out: dict[str, T] = {}
        for key, entry in node.entries().items():
            mark = node.reading.mark()
            at = entry if self.key_problems_at_entry else node
            key_ok = _first_problem(at, key, self.key_checks) is not INVALID
            if not key_ok and not self.read_bad_keys:
                continue
            shape = self.value if isinstance(self.value, Shape) else self.value(str(key))
            value = shape.read(entry)
            if key_ok and value is not INVALID and node.reading.clean_since(mark):
                out[str(key)] = value
        if self.all_or_nothing and not node.reading.clean_since(start):
            return INVALID
        return out


# -- lists -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListOf(Shape[list[T | Invalid]]):
    """A list of values of one shape: one result per item, INVALID where an item had one."""

    item: Shape[T]
    expected: str = "a list"
    show_strings: bool = False
    # The problem when the list is empty (None: an empty list is fine); no item is read then.
    empty: str | None = None
    most: int | None = None
    too_many: str = "takes at most {most} items, got {count}"

    def read(self, node: Node) -> list[T | Invalid] | Invalid:
        """Every item's value in order; INVALID if not a list, or empty when that is refused."""
        if not node.is_list:
            return _wrong_type(node, self.expected, self.show_strings)
        items = node.items()
        if not items and self.empty is not None:
            node.problem(self.empty)
            return INVALID
        if self.most is not None and len(items) > self.most:
            node.problem(self.too_many.format(most=self.most, count=len(items)))
        return [self.item.read(item) for item in items]


@dataclass(frozen=True, slots=True)
class Then(Shape[U], Generic[T, U]):
    """A shape, then a rule over what it read: `build` returns the final value or INVALID.

    The place for the rule's problems is the node's (`node.problem`) or a field's
    (`record.place(name)`).
    """

    shape: Shape[T]
    build: Callable[[T, Node], U | Invalid]

    def read(self, node: Node) -> U | Invalid:
        """Read with shape; build from its value unless it was INVALID."""
        value = self.shape.read(node)
        if value is INVALID:
            return INVALID
        return self.build(value, node)


def valid(values: list[T | Invalid]) -> list[T]:
    """The values read without a problem."""
    return [v for v in values if v is not INVALID]


__all__ = [
    "Check",
    "Choice",
    "Field",
    "Fields",
    "Integer",
    "ListOf",
    "MapOf",
    "Number",
    "Raw",
    "Record",
    "Shape",
    "Text",
    "Then",
    "at_most",
    "matching",
    "non_empty",
    "valid",
]
