"""Orgs, projects, members and API keys on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from neocloud.domain.tenancy import OrgKind, Role
from neocloud.schemas.common import StrictModel
from neocloud.schemas.strict import Name

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class OrgCreate(StrictModel):
    """Create an org (operator only)."""

    name: str = Field(pattern=NAME_PATTERN, description="lower-case id, e.g. acme")
    kind: OrgKind
    display_name: Name | None = Field(default=None, max_length=200)
    fair_share_weight: int = Field(default=1, ge=1, le=1000)


class Org(BaseModel):
    """An org (tenant)."""

    id: str
    name: str
    kind: OrgKind
    display_name: str | None
    created_at: datetime


class ProjectCreate(StrictModel):
    """Create a project inside an org."""

    name: str = Field(pattern=NAME_PATTERN)


class Project(BaseModel):
    """A budget/quota unit inside an org."""

    id: str
    org_id: str
    name: str
    created_at: datetime


class MemberCreate(StrictModel):
    """Add a member to an org."""

    email: Name = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role


class Member(BaseModel):
    """A user of an org and their role."""

    id: str
    org_id: str
    email: str
    role: Role
    created_at: datetime


class KeyCreate(StrictModel):
    """Create an API key for an org (optionally scoped to one project)."""

    org: Name = Field(max_length=128, description="org id or name")
    name: Name = Field(min_length=1, max_length=100)
    role: Role = Role.MEMBER
    project: Name | None = Field(default=None, max_length=128, description="project id or name")
    expires_at: datetime | None = None


class KeyRotate(StrictModel):
    """Rotate a key: how long the old key keeps working beside its successor (0: revoked now)."""

    grace_seconds: int = Field(default=0, ge=0, le=7 * 86_400)


class ApiKey(BaseModel):
    """An API key's metadata (never the secret)."""

    id: str
    org_id: str
    project_id: str | None
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKey):
    """Returned once at creation: the secret is not stored and cannot be shown again."""

    secret: str


class KeyRotated(ApiKeyCreated):
    """The successor key (its secret shown this once) and the key it replaces, as it now is."""

    replaced: ApiKey


class Whoami(BaseModel):
    """Who the caller's key belongs to."""

    key_id: str
    org_id: str
    org_name: str
    org_kind: OrgKind
    role: Role
    project_id: str | None
