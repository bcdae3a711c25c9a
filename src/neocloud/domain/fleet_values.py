"""The fleet file's value readers: mappings of known keys, lists, text, numbers within bounds and
labels, each problem recorded with its path (`regions[0].clusters[1].name`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from neocloud.domain.exact_yaml import FileProblem, describe

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NAME_HINT = "a name (letters, digits, '.', '_', '-')"
# As long as the store's label columns.
LABEL_LEN = 128


@dataclass(frozen=True, slots=True)
class Bound:
    """A numeric range check: the value must satisfy every bound given."""

    gt: Decimal | None = None
    ge: Decimal | None = None
    le: Decimal | None = None

    def violation(self, value: Decimal) -> str | None:
        """The message for a value out of range, or None when it is in range."""
        if self.ge is not None and self.le is not None and not self.ge <= value <= self.le:
            return f"must be between {self.ge} and {self.le}"
        if self.gt is not None and not value > self.gt:
            return f"must be > {self.gt}"
        if self.ge is not None and not value >= self.ge:
            return f"must be >= {self.ge}"
        if self.le is not None and not value <= self.le:
            return f"must be <= {self.le}"
        return None


NON_NEGATIVE = Bound(ge=Decimal(0))
POSITIVE = Bound(gt=Decimal(0))
FRACTION = Bound(ge=Decimal(0), le=Decimal(1))


class ValueReader:
    """Reads values out of a parsed document, collecting every problem rather than the first."""

    def __init__(self) -> None:
        self.problems: list[FileProblem] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(FileProblem(path, message))

    def mapping(self, value: object, path: str, allowed: tuple[str, ...]) -> dict[Any, Any] | None:
        """The value as a mapping with only allowed keys reported; None if it is not one."""
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping, got {describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.add(path, f"unknown key '{key}'")
        return value

    def items(self, m: Mapping[Any, Any], key: str, path: str) -> list[Any] | None:
        """A required, non-empty list under key."""
        where = join(path, key)
        if key not in m:
            self.add(where, "missing required key")
            return None
        value = m[key]
        if not isinstance(value, list):
            self.add(where, f"must be a list, got {describe(value)}")
            return None
        if not value:
            self.add(where, "must not be empty")
            return None
        return value

    def text(
        self,
        m: Mapping[Any, Any],
        key: str,
        path: str,
        *,
        pattern: re.Pattern[str],
        max_len: int,
        hint: str,
        default: str | None = None,
    ) -> str | None:
        """A string matching pattern; the default when absent, or a problem if required."""
        where = join(path, key)
        if key not in m:
            if default is None:
                self.add(where, "missing required key")
            return default
        value = m[key]
        if not isinstance(value, str):
            self.add(where, f"must be a string, got {describe(value)}")
            return None
        if len(value) > max_len:
            self.add(where, f"must be at most {max_len} characters")
            return None
        if not pattern.match(value):
            self.add(where, f"must be {hint}, got '{value}'")
            return None
        return value

    def integer(
        self, m: Mapping[Any, Any], key: str, path: str, bound: Bound, *, required: bool = True
    ) -> int | None:
        """A whole number within bound."""
        where = join(path, key)
        if key not in m:
            if required:
                self.add(where, "missing required key")
            return None
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, f"must be a whole number, got {describe(value)}")
            return None
        problem = bound.violation(Decimal(value))
        if problem:
            self.add(where, problem)
            return None
        return value

    def number(
        self,
        m: Mapping[Any, Any],
        key: str,
        path: str,
        bound: Bound,
        *,
        default: Decimal | None = None,
    ) -> Decimal | None:
        """An exact Decimal within bound; the default when absent, or a problem if required."""
        where = join(path, key)
        if key not in m:
            if default is None:
                self.add(where, "missing required key")
            return default
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.add(where, f"must be a number, got {describe(value)}")
            return None
        number = Decimal(value)
        if not number.is_finite():
            self.add(where, "must be a finite number")
            return None
        problem = bound.violation(number)
        if problem:
            self.add(where, problem)
            return None
        return number

    def unique(self, seen: dict[str, str], kind: str, name: str, path: str) -> bool:
        """Record name as used at path; report a duplicate and return False if it was."""
        if name in seen:
            self.add(path, f"duplicate {kind} '{name}' (first at {seen[name]})")
            return False
        seen[name] = path
        return True

    def name(self, m: Mapping[Any, Any], key: str, path: str, max_len: int) -> str | None:
        """A required name (letters, digits, '.', '_', '-')."""
        return self.text(m, key, path, pattern=NAME, max_len=max_len, hint=NAME_HINT)

    def labels(
        self, m: Mapping[Any, Any], key: str, path: str, *, key_pattern: re.Pattern[str]
    ) -> dict[str, str] | None:
        """An optional mapping of string keys to non-empty string values."""
        where = join(path, key)
        value = m.get(key, {})
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.add(where, f"must be a mapping, got {describe(value)}")
            return None
        labels: dict[str, str] = {}
        before = len(self.problems)
        for k, v in value.items():
            if not isinstance(k, str) or not key_pattern.match(k) or len(k) > LABEL_LEN:
                self.add(where, f"invalid key '{k}'")
            elif not isinstance(v, str):
                self.add(f"{where}.{k}", f"must be a string (quote numbers), got {describe(v)}")
            elif not v or len(v) > LABEL_LEN:
                self.add(f"{where}.{k}", f"must be 1 to {LABEL_LEN} characters")
            else:
                labels[k] = v
        return labels if len(self.problems) == before else None


def join(path: str, key: str) -> str:
    """The path of key under path (just key at the top)."""
    return f"{path}.{key}" if path else key
