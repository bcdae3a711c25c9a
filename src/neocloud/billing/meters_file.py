"""The meters file: YAML text → the reported meters it declares, or every problem, by line.

A file declares meters under one key, each by name, with the fields the API takes and judged
by the same limits (billing.meters), so a file that reads cleanly is one the server accepts:

    meters:
      input_tokens: {aggregation: sum, unit: token, group_by: [model]}

The format: docs/metering.md and docs/examples/meters.yaml.
"""

from __future__ import annotations

from typing import Any

from neocloud.billing.document import GPU_METER
from neocloud.billing.meters import (
    DIMENSION_KEY,
    MAX_DESCRIPTION,
    MAX_GROUP_BY,
    MAX_UNIT,
    METER_NAME,
    Aggregation,
    Meter,
)
from neocloud.domain.text import text_problem
from neocloud.domain.yaml_reader import INVALID, Invalid, Node, Parsed, read_yaml
from neocloud.domain.yaml_shapes import (
    Choice,
    Field,
    Fields,
    ListOf,
    MapOf,
    Raw,
    Record,
    Shape,
    Text,
    Then,
    at_most,
    non_empty,
)

AGGREGATIONS = tuple(a.value for a in Aggregation)
METER_KEYS = ("aggregation", "unit", "unique_by", "group_by", "description")
NAME_RULE = "a lower-case letter, then up to 62 lower-case letters, digits or _"
KEY_RULE = "a letter or _, then up to 62 letters, digits, _ . or -"
_TEXT = "a string (quote numbers)"


def read_meters(text: str) -> Parsed[dict[str, Meter]]:
    """The meters a file declares, in file order, or every problem found in it."""
    return read_yaml(text, _FILE.read, empty="the file is empty (expected a 'meters' mapping)")


def _meter_name(name: object) -> str | None:
    """Check a declared meter's name: the API's rule, and never the built-in GPU meter."""
    if not isinstance(name, str) or not METER_NAME.match(name):
        return f"a meter name must be {NAME_RULE}"
    if name == GPU_METER:
        return f"{GPU_METER} is measured by the platform and cannot be declared"
    return None


def _dimension_keys(keys: list[Any], node: Node) -> list[str]:
    """Distinct dimension keys, each bad or repeated one reported at its index."""
    out: list[str] = []
    for item, key in zip(node.items(), keys, strict=True):
        if not isinstance(key, str) or not DIMENSION_KEY.match(key):
            item.problem(f"a dimension name must be {KEY_RULE}")
        elif key in out:
            item.problem(f"repeats the dimension '{key}'")
        else:
            out.append(key)
    return out


def _unique_by(record: Record) -> str | Invalid | None:
    """The counted dimension: required by unique_count, refused by every other aggregation."""
    value, aggregation, group_by = record["unique_by"], record["aggregation"], record["group_by"]
    where = record.place("unique_by")
    if value is None:
        if aggregation == Aggregation.UNIQUE_COUNT:
            record.node.reading.add(where, "a unique_count meter names the dimension it counts")
            return INVALID
        return None
    if aggregation is not INVALID and aggregation != Aggregation.UNIQUE_COUNT:
        message = f"only unique_count meters count a dimension, not {aggregation}"
        record.node.reading.add(where, message)
        return INVALID
    if not isinstance(value, str) or not DIMENSION_KEY.match(value):
        record.node.reading.add(where, f"a dimension name must be {KEY_RULE}")
        return INVALID
    if group_by is not INVALID and value in group_by:
        # Every group would hold one distinct value: a count of 1 per group.
        record.node.reading.add(where, f"'{value}' cannot also be in group_by")
        return INVALID
    return str(value)


def _meter(name: str) -> Shape[Meter]:
    """How the meter called `name` is read."""

    def build(record: Record, node: Node) -> Meter | Invalid:
        unique_by = _unique_by(record)
        if not record.ok or unique_by is INVALID or _meter_name(name) is not None:
            return INVALID
        try:
            return Meter(
                name,
                Aggregation(record["aggregation"]),
                record["unit"],
                unique_by,
                tuple(record["group_by"]),
                record["description"],
            )
        except ValueError as exc:  # pragma: no cover - every rule of Meter is checked above
            node.problem(str(exc))
            return INVALID

    return Then(_METER, build)


_METER = Fields(
    {
        "aggregation": Field(Choice(AGGREGATIONS), required=True),
        "unit": Field(
            Text(expected=_TEXT, checks=(non_empty, at_most(MAX_UNIT), text_problem)), required=True
        ),
        "description": Field(
            Text(expected=_TEXT, checks=(at_most(MAX_DESCRIPTION), text_problem)), default=""
        ),
        "group_by": Field(
            Then(
                ListOf(
                    Raw(),
                    expected="a list of dimension names",
                    most=MAX_GROUP_BY,
                    too_many="takes at most {most} dimensions, got {count}",
                ),
                _dimension_keys,
            ),
            default=[],
        ),
        "unique_by": Field(Raw()),
    },
    unknown=f"unknown key (expected {', '.join(METER_KEYS)})",
)
_FILE = Then(
    Fields(
        {
            "meters": Field(
                MapOf(
                    _meter,
                    key_checks=(_meter_name,),
                    read_bad_keys=True,
                    expected="a mapping of names to meters",
                    empty="declares no meters",
                ),
                required=True,
            )
        },
        expected="a mapping with a 'meters' key",
        unknown="unknown key (expected 'meters')",
    ),
    lambda record, _: record["meters"] if record.ok else INVALID,
)

__all__ = ["AGGREGATIONS", "METER_KEYS", "read_meters"]
