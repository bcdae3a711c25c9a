"""Rules every request body obeys, applied by `StrictModel` to each field of each body.

- JSON types are taken as written: an integer field refuses `true` and `"1"`, a boolean refuses
  `1` and `"true"`, a number refuses strings and booleans. Decimal amounts keep accepting
  decimal strings (the API's money format) and numbers, never booleans.
- No string anywhere (values, keys of maps, list items) holds NUL or a lone surrogate, which one
  database or the other cannot store (neocloud.domain.text).
- Every date and time lies in years 1970..9998 once in UTC.
Identifiers and names are stricter still: see `Name`.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel

from neocloud.billing.periods import month_bounds
from neocloud.domain.text import date_problem, instant_problem, name_problem, text_problem


def _check_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# An identifier, a reference to one (org, project, meter, GPU type) or a display name.
Name = Annotated[str, AfterValidator(_check_name)]

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def period_problem(value: str) -> str | None:
    """Why a value is not a billing period `YYYY-MM` of years 1970..9998, or None."""
    try:
        month_bounds(value)
    except ValueError as exc:
        return str(exc)
    return None


def _check_period(value: str) -> str:
    problem = period_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# A billing period, a calendar month in UTC.
Period = Annotated[str, AfterValidator(_check_period)]


def _members(annotation: Any) -> tuple[Any, ...]:
    """The alternatives of a union (Optional included), or the annotation alone."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def json_type_problem(annotation: Any, value: Any) -> str | None:
    """Why a decoded JSON value does not have the type the field declares, or None.

    Only scalars pydantic would otherwise coerce are checked; the rest pydantic validates.
    """
    if value is None:
        return None
    members = _members(annotation)
    if len(members) == 1:
        origin = get_origin(members[0])
        args = get_args(members[0])
        if origin in (list, tuple, set, frozenset) and args and isinstance(value, list):
            for i, item in enumerate(value):
                problem = json_type_problem(args[0], item)
                if problem is not None:
                    return f"[{i}]: {problem}"
            return None
        if origin is dict and len(args) == 2 and isinstance(value, Mapping):
            for key, item in value.items():
                problem = json_type_problem(args[1], item)
                if problem is not None:
                    return f"[{key!r}]: {problem}"
            return None
    kinds = set(members)
    if kinds == {int} and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be a JSON integer"
    if kinds == {bool} and not isinstance(value, bool):
        return "must be a JSON boolean (true or false)"
    if kinds == {float} and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return "must be a JSON number"
    if kinds == {Decimal} and isinstance(value, bool):
        return "must be a decimal string or a number"
    return None


def storable_problem(value: Any) -> str | None:
    """Why a validated value cannot be kept on every backend, or None (nested models skipped)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, datetime):
        return instant_problem(value)
    if isinstance(value, date):
        return date_problem(value)
    if isinstance(value, BaseModel):
        return None  # validated by its own StrictModel hooks
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = storable_problem(key) if isinstance(key, str) else None
            if problem is not None:
                return f"key {key!r}: {problem}"
            problem = storable_problem(item)
            if problem is not None:
                return f"[{key!r}]: {problem}"
    if isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            problem = storable_problem(item)
            if problem is not None:
                return f"[{i}]: {problem}"
    return None
