"""Orgs whose share of a loop or report failed, as the health routes and reports show them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OrgFailure(BaseModel):
    """One org failing in one loop or report; the other orgs went on."""

    loop: str = Field(description="credit_guard, budgets, webhooks, invoice_run, margin, ...")
    org_id: str
    org_name: str
    error: str = Field(description="the last error (a refusal's text, or only its kind)")
    since: datetime = Field(description="first failure of this run of failures")
    last: datetime
    count: int = Field(description="failures in a row")


class OrgHealth(BaseModel):
    """The orgs failing now, per loop and report (the caller's own org unless operator)."""

    failing: list[OrgFailure]
