"""Reading CSV text row by row, with every bad value reported as file:line: field: message."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from neocloud.sim.problems import InputProblem

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_HINT = "a name (letters, digits, '.', '_', '-')"
# Plain decimal text only: Python's int() and float() would also take "1_000" and "infinity".
_INTEGER = re.compile(r"^[0-9]+$")
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$|^\.[0-9]+([eE][+-]?[0-9]+)?$")

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its 1-based line in the file and its values by column."""

    line: int
    values: dict[str, str]


def read_rows(
    text: str,
    file: str,
    required: Sequence[str],
    optional: Sequence[str],
    problems: list[InputProblem],
) -> Iterator[Row]:
    """The data rows of a CSV with a header; header and shape problems go to `problems`."""
    # Spreadsheets often save UTF-8 with a byte-order mark; it is not part of the first column.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        problems.append(InputProblem(file, 1, None, "the file is empty (a header row is needed)"))
        return
    columns = [c.strip() for c in header]
    known = set(required) | set(optional)
    bad_header = False
    for name in columns:
        if name not in known:
            expected = ", ".join([*required, *optional])
            problems.append(
                InputProblem(file, 1, name, f"unknown column (columns are: {expected})")
            )
            bad_header = True
    for name in required:
        if name not in columns:
            problems.append(InputProblem(file, 1, name, "missing required column"))
            bad_header = True
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            problems.append(InputProblem(file, 1, name, "column appears twice"))
            bad_header = True
        seen.add(name)
    if bad_header:
        return
    for values in reader:
        # Blank lines are layout, not rows.
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        line = reader.line_num
        if len(values) != len(columns):
            problems.append(
                InputProblem(
                    file, line, None, f"has {len(values)} fields, the header has {len(columns)}"
                )
            )
            continue
        yield Row(line, {c: v.strip() for c, v in zip(columns, values, strict=True)})


class RowReader:
    """Typed values of one row; each bad value adds a problem and reads as None."""

    def __init__(self, file: str, row: Row, problems: list[InputProblem]) -> None:
        self.file = file
        self.row = row
        self.problems = problems

    def add(self, field: str, message: str) -> None:
        """Record a problem with one field of this row."""
        self.problems.append(InputProblem(self.file, self.row.line, field, message))

    def raw(self, field: str) -> str:
        """The text of a column ('' when the column is absent or empty)."""
        return self.row.values.get(field, "")

    def positive_int(self, field: str, *, allow_zero: bool = False) -> int | None:
        """A whole number > 0 (or >= 0)."""
        text = self.raw(field)
        kind = "a non-negative integer" if allow_zero else "a positive integer"
        if not _INTEGER.match(text):
            self.add(field, f"must be {kind}, got {text!r}")
            return None
        value = int(text)
        if value == 0 and not allow_zero:
            self.add(field, f"must be {kind}, got {text!r}")
            return None
        return value

    def flag(self, field: str, *, default: bool) -> bool | None:
        """`true` or `false`; the default when empty."""
        text = self.raw(field)
        if not text:
            return default
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        self.add(field, f"must be true or false, got {text!r}")
        return None

    def seconds(
        self, field: str, *, allow_zero: bool, default: float | None = None
    ) -> float | None:
        """A finite number of seconds, > 0 (or >= 0); the default when empty, if there is one."""
        text = self.raw(field)
        if not text and default is not None:
            return default
        kind = "a number of seconds >= 0" if allow_zero else "a number of seconds > 0"
        if not _NUMBER.match(text):
            self.add(field, f"must be {kind}, got {text!r}")
            return None
        value = float(text)
        if not math.isfinite(value) or (value == 0 and not allow_zero):
            self.add(field, f"must be {kind}, got {text!r}")
            return None
        return value

    def name(self, field: str, default: str | None = None) -> str | None:
        """A name (letters, digits, '.', '_', '-'); the default when empty, if there is one."""
        text = self.raw(field)
        if not text and default is not None:
            return default
        if not NAME.match(text) or len(text) > 128:
            self.add(field, f"must be {NAME_HINT}, got {text!r}")
            return None
        return text

    def choice(self, field: str, enum: type[E], default: E | None) -> E | None:
        """One of an enum's values; the default when empty (None: no value)."""
        text = self.raw(field)
        if not text:
            return default
        try:
            return enum(text)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            self.add(field, f"must be one of {allowed}, got {text!r}")
            return None
