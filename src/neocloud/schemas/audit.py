"""Audit log entries on the wire (`GET /v1/audit`, `neocloud audit`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class AuditOutcome(StrEnum):
    """How a call ended: its changes committed, it was refused (4xx), or it failed (5xx)."""

    SUCCESS = "success"
    REFUSED = "refused"
    FAILED = "failed"


class AuditEntry(BaseModel):
    """One state-changing call.

    `changes` lists each changed row as `{table, id, op, before, after}` (only the changed
    fields for an update; secrets appear as "[redacted]"), and each high-volume table (usage
    events and records, job events, ledger entries, invoice lines …) as
    `{table, op, count, first_id, last_id, orgs}`.
    """

    id: str
    at: datetime
    org_id: str | None
    key_id: str | None
    actor_org_id: str | None
    role: str | None
    client: str | None
    action: str
    path: str
    target: str | None
    outcome: AuditOutcome
    status: int
    error_code: str | None
    changes: list[dict[str, Any]]
