"""API keys: random secrets shown once, kept as SHA-256 hashes, checked on every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import OrgKind, Permission, Role, allows
from neocloud.server.http.errors import ApiError, forbidden
from neocloud.store.models import ApiKeyRow, OrgRow

KEY_PREFIX = "nck"
# Writing last_used_at on every request would turn every read into a write; a minute is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its org and role, and its optional project scope."""

    key_id: str
    org_id: str
    org_name: str
    org_kind: OrgKind
    role: Role
    project_id: str | None

    @property
    def is_operator(self) -> bool:
        """True for the platform operator, who sees every org."""
        return self.role is Role.OPERATOR

    def require(self, permission: Permission) -> None:
        """Raise 403 unless this principal's role grants the permission."""
        if not allows(self.role, permission):
            raise forbidden(f"role {self.role} may not {permission.value.replace('_', ' ')}")

    def can_see_org(self, org_id: str) -> bool:
        """Operators see every org; everyone else only their own."""
        return self.is_operator or org_id == self.org_id

    @property
    def project_scope(self) -> str | None:
        """The project this key is confined to; None for org-wide keys and the operator."""
        return None if self.is_operator else self.project_id

    def can_see_project(self, org_id: str, project_id: str | None) -> bool:
        """True if a resource of this org and project is within the caller's reach."""
        scope = self.project_scope
        return self.can_see_org(org_id) and (scope is None or project_id == scope)

    def require_org_wide(self) -> None:
        """Raise 403 for a project-scoped key: the route reaches data of the whole org."""
        if self.project_scope is not None:
            raise forbidden(
                "a project-scoped key may not use this route: it reaches beyond its project"
            )


def hash_secret(secret: str) -> str:
    """SHA-256 of the whole secret (keys are high-entropy, so no slow KDF is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret() -> tuple[str, str]:
    """A new secret `nck_<prefix>_<random>` and its lookup prefix."""
    prefix = secrets.token_hex(6)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message)


def authenticate(session: Session, authorization: str | None, now: datetime) -> Principal:
    """Resolve a bearer key to a principal, or raise 401 with the reason."""
    if not authorization:
        raise _unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise _unauthenticated("malformed Authorization header: expected 'Bearer <key>'")
    parts = secret.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise _unauthenticated("invalid API key")
    key = session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == parts[1])).one_or_none()
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret.strip())):
        raise _unauthenticated("invalid API key")
    if key.revoked_at is not None:
        raise _unauthenticated("API key revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise _unauthenticated("API key expired")
    org = session.get(OrgRow, key.org_id)
    assert org is not None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
    return Principal(
        key_id=key.id,
        org_id=org.id,
        org_name=org.name,
        org_kind=OrgKind(org.kind),
        role=Role(key.role),
        project_id=key.project_id,
    )
