"""YAML with exact numbers: floats become Decimals built from their text, duplicate keys are errors.

Every neocloud input file is read with this loader, so `0.08` is exactly 0.08 and a key written
twice is reported instead of silently lost. domain.yaml_reader walks the node tree it composes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml


class _ExactLoader(yaml.SafeLoader):
    """A SafeLoader that builds floats as exact Decimals and refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, raising on a key written twice (YAML would silently keep the last)."""
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key '{key_node.value}'",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    """Build a YAML float as an exact Decimal from the scalar's text."""
    assert isinstance(node, yaml.ScalarNode)
    text = str(loader.construct_scalar(node))
    try:
        return _decimal_from_yaml_float(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{text}' is not a number", node.start_mark
        ) from None


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    """Build a YAML int, turning a malformed explicit !!int into a YAML error with a position."""
    try:
        value: int = yaml.SafeLoader.construct_yaml_int(loader, node)  # type: ignore[arg-type]
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{node.value}' is not an integer", node.start_mark
        ) from None
    return value


def _decimal_from_yaml_float(raw: str) -> Decimal:
    """The YAML 1.1 float forms PyYAML accepts, read exactly."""
    text = raw.replace("_", "").lower()
    negative = text.startswith("-")
    if text[:1] in "+-":
        text = text[1:]
    if text == ".nan":
        return Decimal("NaN")
    if text == ".inf":
        value = Decimal("Infinity")
    elif ":" in text:
        # Sexagesimal (base 60) floats such as 1:30.5 are legal YAML 1.1.
        value = Decimal(0)
        for part in text.split(":"):
            value = value * 60 + Decimal(part)
    else:
        value = Decimal(text)
    # copy_negate is exact; multiplying by -1 would round to the context's precision.
    return value.copy_negate() if negative else value


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_ExactLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_tree(text: str) -> tuple[yaml.Node | None, Callable[[yaml.Node], Any]]:
    """The root node of YAML text (None when empty) and how to build any node's value exactly.

    The whole document is built once first, so a duplicate key or a bad number is a
    yaml.YAMLError here, before any node is read; merge keys (<<) are flattened into the nodes.
    """
    loader = _ExactLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            loader.construct_document(root)
    finally:
        loader.dispose()

    def value(node: yaml.Node) -> Any:
        """The node's value as the loader builds it (deeply), never shared between calls."""
        built = loader.construct_object(node, deep=True)
        loader.constructed_objects = {}
        return built

    return root, value


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One error in an input file: where (`tiers[1].up_to`), what, and on which line."""

    path: str
    message: str
    # 1-based line of the entry the path points at (None when it cannot be located).
    line: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def yaml_problem(exc: yaml.YAMLError, with_position: bool = False) -> FileProblem:
    """A file that is not YAML at all, as one problem at `<yaml>` with its line.

    with_position: the message starts with `line L, column C:`, as the fleet file's always has.
    """
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    if not with_position:
        message = str(getattr(exc, "problem", None) or exc)
    elif mark is not None:
        message = f"line {line}, column {mark.column + 1}: {getattr(exc, 'problem', None)}"
    else:
        message = str(exc)
    return FileProblem("<yaml>", message, line)


def describe(value: object, show_strings: bool = False) -> str:
    """What kind of value a file holds where another was expected: "a list", "a number" …"""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return repr(value) if show_strings else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
