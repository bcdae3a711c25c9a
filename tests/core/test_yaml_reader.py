"""The strict YAML reader: each shape's problems, located as line: path: message, all at once."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from neocloud.domain.text import name_problem
from neocloud.domain.yaml_reader import INVALID, Invalid, Node, Parsed, read_yaml
from neocloud.domain.yaml_shapes import (
    Choice,
    Field,
    Fields,
    Integer,
    ListOf,
    MapOf,
    Number,
    Raw,
    Record,
    Text,
    Then,
    at_most,
    matching,
    non_empty,
    valid,
)

D = Decimal


def positive(value: Decimal) -> str | None:
    return None if value > 0 else f"must be > 0, got {value}"


def _fraction(value: Decimal) -> str | None:
    return None if D(0) <= value <= D(1) else f"must be in [0, 1], got {value}"


def not_root(key: object) -> str | None:
    return "root is not allowed" if key == "root" else None


def gpus_within_cap(record: Record, node: Node) -> dict[str, Any] | Invalid:
    """A rule spanning two fields, reported at one of them."""
    if record.ok and record["gpus"] > record["cap"]:
        node.reading.add(record.place("gpus"), f"must be at most cap ({record['cap']})")
        return INVALID
    return record.values if record.ok else INVALID


NODE = Then(
    Fields(
        {
            "name": Field(Text(checks=(non_empty, at_most(8), name_problem)), required=True),
            "gpus": Field(
                Integer(checks=(lambda n: None if n >= 1 else "must be >= 1",)), default=1
            ),
            "cap": Field(Integer(), default=8),
            "kind": Field(Choice(("cpu", "gpu")), default="gpu"),
            "price": Field(Number(checks=(positive,)), default=D(1)),
        }
    ),
    gpus_within_cap,
)
SHAPE = Fields(
    {
        "nodes": Field(ListOf(NODE, empty="must list at least one node", most=3), required=True),
        "users": Field(
            MapOf(Text(checks=(matching(re.compile(r"^[a-z]+$"), "a user"),)), (not_root,))
        ),
        "sweep": Field(ListOf(Number(checks=(_fraction,)))),
        "note": Field(Raw()),
    }
)


def parse(text: str) -> Parsed[Record]:
    return read_yaml(text, SHAPE.read, empty="the file is empty")


def lines(parsed: Parsed[Any]) -> list[str]:
    return [f"{p.line}: {p}" for p in parsed.problems]


GOOD = """\
nodes:
  - name: a
    gpus: 4
    price: 2.10
  - {name: b, gpus: 8, kind: cpu}
users: {alice: admin, bob: dev}
sweep: [0, 0.25, 1]
note: [anything, 1]
"""


def test_a_good_file_gives_exact_values_and_defaults() -> None:
    parsed = parse(GOOD)

    assert parsed.problems == []
    record = parsed.value
    assert record is not None
    first, second = record["nodes"]
    assert first == {"name": "a", "gpus": 4, "cap": 8, "kind": "gpu", "price": D("2.10")}
    assert str(first["price"]) == "2.10"  # exact, never a binary float
    assert second["kind"] == "cpu" and second["price"] == D(1)
    assert record["users"] == {"alice": "admin", "bob": "dev"}
    assert record["sweep"] == [D(0), D("0.25"), D(1)]
    assert record["note"] == ["anything", 1]


# (what is wrong, the file, the problems as "line: path: message")
CASES = [
    ("empty", "", ["None: <root>: the file is empty"]),
    ("only a comment", "# nothing\n", ["None: <root>: the file is empty"]),
    ("only null", "~\n", ["1: <root>: the file is empty"]),
    ("not a mapping", "- 1\n", ["1: <root>: must be a mapping, got a list"]),
    ("not YAML", "nodes: [\n", ["2: <yaml>: expected the node content, but found '<stream end>'"]),
    ("a key twice", "nodes: []\nnodes: []\n", ["2: <yaml>: found duplicate key 'nodes'"]),
    (
        "unknown key, named with what is allowed",
        GOOD + "colour: red\n",
        ["9: colour: unknown key (allowed: nodes, users, sweep, note)"],
    ),
    ("missing required key", "users: {}\n", ["1: nodes: missing required key"]),
    ("empty list", "nodes: []\n", ["1: nodes: must list at least one node"]),
    ("a list expected", "nodes: {a: 1}\n", ["1: nodes: must be a list, got a mapping"]),
    (
        "too many items",
        "nodes: [{name: a}, {name: b}, {name: c}, {name: d}]\n",
        ["1: nodes: takes at most 3 items, got 4"],
    ),
    ("item not a mapping", "nodes:\n  - 5\n", ["2: nodes[0]: must be a mapping, got a number"]),
    (
        "missing key in an item is on the item's line",
        "nodes:\n  - gpus: 1\n",
        ["2: nodes[0].name: missing required key"],
    ),
    (
        "text expected",
        "nodes:\n  - name: 12\n",
        ["2: nodes[0].name: must be a string, got a number"],
    ),
    ("empty text", "nodes:\n  - name: ''\n", ["2: nodes[0].name: must not be empty"]),
    (
        "text too long",
        "nodes:\n  - name: abcdefghi\n",
        ["2: nodes[0].name: must be at most 8 characters"],
    ),
    (
        "the name rule",
        'nodes:\n  - name: "a\\u202eb"\n',
        ["2: nodes[0].name: must not contain bidirectional controls (found U+202E)"],
    ),
    (
        "a boolean is not a whole number",
        "nodes:\n  - {name: a, gpus: true}\n",
        ["2: nodes[0].gpus: must be a whole number, got a boolean"],
    ),
    ("integer check", "nodes:\n  - {name: a, gpus: 0}\n", ["2: nodes[0].gpus: must be >= 1"]),
    (
        "choice",
        "nodes:\n  - {name: a, kind: tpu}\n",
        ["2: nodes[0].kind: must be one of cpu, gpu, got 'tpu'"],
    ),
    (
        "number as text",
        "nodes:\n  - {name: a, price: cheap}\n",
        ["2: nodes[0].price: must be a number, got 'cheap'"],
    ),
    (
        "infinite number",
        "nodes:\n  - {name: a, price: .inf}\n",
        ["2: nodes[0].price: must be a finite number"],
    ),
    (
        "number check",
        "nodes:\n  - {name: a, price: -1}\n",
        ["2: nodes[0].price: must be > 0, got -1"],
    ),
    (
        "a rule spanning fields",
        "nodes:\n  - name: a\n    cap: 2\n    gpus: 4\n",
        ["4: nodes[0].gpus: must be at most cap (2)"],
    ),
    (
        "a key check",
        "nodes: [{name: a}]\nusers:\n  root: admin\n",
        ["3: users.root: root is not allowed"],
    ),
    (
        "a mapping of names expected",
        "nodes: [{name: a}]\nusers: [alice]\n",
        ["2: users: must be a mapping, got a list"],
    ),
    (
        "pattern",
        "nodes: [{name: a}]\nusers:\n  alice: Admin\n",
        ["3: users.alice: must be a user, got 'Admin'"],
    ),
    (
        "list items by index",
        "nodes: [{name: a}]\nsweep: [0, 2, 0.5, -1]\n",
        ["2: sweep[1]: must be in [0, 1], got 2", "2: sweep[3]: must be in [0, 1], got -1"],
    ),
    (
        "every problem at once, in file order",
        "colour: red\nnodes:\n  - name: ''\n    gpus: x\n  - 3\nsweep: [7]\n",
        [
            "1: colour: unknown key (allowed: nodes, users, sweep, note)",
            "3: nodes[0].name: must not be empty",
            "4: nodes[0].gpus: must be a whole number, got a string",
            "5: nodes[1]: must be a mapping, got a number",
            "6: sweep[0]: must be in [0, 1], got 7",
        ],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_names_its_line_path_and_reason(
    case: str, text: str, expected: list[str]
) -> None:
    parsed = parse(text)

    assert parsed.value is None
    assert lines(parsed) == expected


def test_merge_keys_are_read_as_yaml_builds_them() -> None:
    text = "base: &b {name: a, gpus: 2}\nnodes:\n  - <<: *b\n    gpus: 3\n"
    shape = Fields({"base": Field(Raw()), "nodes": Field(ListOf(NODE), required=True)})

    parsed = read_yaml(text, shape.read, empty="empty")

    assert parsed.value is not None
    assert valid(parsed.value["nodes"])[0]["gpus"] == 3  # the mapping's own key wins


# The words of each file are its own: the unknown-key message and where it is reported.
WORDING = [
    (
        Fields({"a": Field(Raw())}, unknown="unknown key (expected {allowed})"),
        "b: 1\n",
        ["1: b: unknown key (expected a)"],
    ),
    (
        Fields({"a": Field(Raw())}, unknown="unknown key '{key}'", unknown_at_key=False),
        "a: 1\nb: 1\n",
        ["1: <root>: unknown key 'b'"],
    ),
    (
        Fields({"a": Field(Raw())}, expected="a mapping with an 'a' key", show_strings=True),
        "text\n",
        ["1: <root>: must be a mapping with an 'a' key, got 'text'"],
    ),
    (
        Fields({"a": Field(Number(quoted=True, finite="must be a finite number, got {raw}"))}),
        "a: ' inf '\n",
        ["1: a: must be a finite number, got  inf "],
    ),
    (
        Fields({"a": Field(Raw(), required=True, missing="needs a")}),
        "{}\n",
        ["1: a: needs a"],
    ),
    (
        Fields({"a": Field(MapOf(Raw(), empty="declares nothing"))}),
        "a: {}\n",
        ["1: a: declares nothing"],
    ),
]


@pytest.mark.parametrize(("shape", "text", "expected"), WORDING)
def test_a_file_keeps_its_own_words(shape: Fields, text: str, expected: list[str]) -> None:
    assert lines(read_yaml(text, shape.read, empty="empty")) == expected


def test_a_quoted_number_counts_when_allowed() -> None:
    shape = Fields({"a": Field(Number(quoted=True))})

    parsed = read_yaml("a: '0.000002'\n", shape.read, empty="empty")

    assert parsed.value is not None and str(parsed.value["a"]) == "0.000002"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("x: 0.1", Decimal("0.1")),
        ("x: 1_000.25", Decimal("1000.25")),
        ("x: -2.5e+3", Decimal("-2500")),
        (
            "x: -0.123456789012345678901234567890123",
            Decimal("-0.123456789012345678901234567890123"),
        ),
        ("x: 1:30.5", Decimal("90.5")),
        ("x: 12", 12),
        ("x: 0x1F", 31),
    ],
    ids=["plain", "underscores", "exponent", "beyond-28-digits", "sexagesimal", "int", "hex-int"],
)
def test_yaml_numbers_are_read_exactly(yaml_text: str, expected: Decimal | int) -> None:
    parsed = read_yaml(yaml_text, Fields({"x": Field(Raw())}).read, empty="empty")
    assert parsed.value is not None
    value = parsed.value["x"]
    assert value == expected
    assert type(value) is type(expected)


def _short_key(key: object) -> str | None:
    return None if isinstance(key, str) and len(key) <= 2 else f"invalid key '{key}'"


# Where a mapping of chosen names reports a bad key, and whether one bad entry spoils it all.
MAPS = [
    (
        "key problem at its entry",
        MapOf(Text(), key_checks=(_short_key,)),
        "a: {abc: x, ok: y}\n",
        ["1: a.abc: invalid key 'abc'"],
        {"ok": "y"},
    ),
    (
        "key problem at the mapping",
        MapOf(Text(), key_checks=(_short_key,), key_problems_at_entry=False),
        "a:\n  abc: x\n  ok: y\n",
        ["1: a: invalid key 'abc'"],
        {"ok": "y"},
    ),
    (
        "all or nothing",
        MapOf(Text(), all_or_nothing=True),
        "a: {x: 1, ok: y}\n",
        ["1: a.x: must be a string, got a number"],
        INVALID,
    ),
    (
        "all or nothing, all good",
        MapOf(Text(), all_or_nothing=True),
        "a: {ok: y}\n",
        [],
        {"ok": "y"},
    ),
]


@pytest.mark.parametrize(
    ("shape", "text", "expected", "value"), [m[1:] for m in MAPS], ids=[m[0] for m in MAPS]
)
def test_a_mapping_of_names_reports_keys_where_its_file_does(
    shape: MapOf[str], text: str, expected: list[str], value: object
) -> None:
    read: list[object] = []

    def keep(node: Node) -> Record | Invalid:
        record = Fields({"a": Field(shape)}).read(node)
        read.append(record["a"] if isinstance(record, Record) else record)
        return record

    assert lines(read_yaml(text, keep, empty="empty")) == expected
    assert read == [value]


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (False, ["2: <yaml>: expected the node content, but found '<stream end>'"]),
        (
            True,
            ["2: <yaml>: line 2, column 1: expected the node content, but found '<stream end>'"],
        ),
    ],
    ids=["plain", "with-position"],
)
def test_a_syntax_problem_may_name_its_column(position: bool, expected: list[str]) -> None:
    parsed = read_yaml("nodes: [\n", SHAPE.read, empty="empty", position_in_message=position)
    assert lines(parsed) == expected
