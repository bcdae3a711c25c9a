"""Envelopes shared by every resource: errors and cursor pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from neocloud.schemas.strict import json_type_problem, storable_problem

T = TypeVar("T")


class StrictModel(BaseModel):
    """Request bodies reject unknown fields so a typo is an error, not a silent default.

    Every field also obeys the rules of neocloud.schemas.strict: JSON types as written, no NUL
    or lone surrogate in any string, instants in years 1970..9998.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types_as_written(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is not None:
            problem = json_type_problem(cls.model_fields[info.field_name].annotation, value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable_everywhere(cls, value: Any) -> Any:
        problem = storable_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class ErrorBody(BaseModel):
    """The one error shape: a stable code, a sentence, and details (e.g. the offending field)."""

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(BaseModel):
    """`{"error": {...}}` returned with every 4xx/5xx."""

    error: ErrorBody


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` to get the next."""

    items: list[T]
    next_cursor: str | None = None


def rule_message(error: Mapping[str, Any]) -> str:
    """A validation error's sentence as people read it: a rule's own words, without pydantic's
    'Value error, ' prefix (the API, the SDK and the CLI all show the same sentence)."""
    return str(error.get("msg", "")).removeprefix("Value error, ")
