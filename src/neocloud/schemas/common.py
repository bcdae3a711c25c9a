"""Envelopes shared by every resource: errors and cursor pages."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class StrictModel(BaseModel):
    """Request bodies reject unknown fields so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


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
