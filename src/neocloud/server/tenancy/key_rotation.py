"""Key rotation: a new key like the old one (org, project, role, name), the old one retired."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neocloud.domain.tenancy import Permission, Role, may_grant
from neocloud.schemas import tenancy as api
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import conflict, forbidden, not_found
from neocloud.server.tenancy.service import issue_key, key_out
from neocloud.store.models import ApiKeyRow, OrgRow


def rotate_key(
    s: Session, p: Principal, key_id: str, body: api.KeyRotate, now: datetime
) -> api.KeyRotated:
    """Mint the successor of a key and retire the old one: at once, or after a grace period.

    Who may revoke a key may rotate it (itself, or a key whose role it could grant). The
    successor keeps the old key's lifetime: no expiry if it had none, else as long again from
    now. With a grace period the old key expires then instead of being revoked now, so clients
    can move over without a gap.
    """
    p.require(Permission.MANAGE_ORG)
    row = s.get(ApiKeyRow, key_id, with_for_update=True)
    if row is None or not p.can_see_project(row.org_id, row.project_id):
        raise not_found("key", key_id)
    role = Role(row.role)
    if row.id != p.key_id and not may_grant(p.role, role):
        raise forbidden(f"a {p.role} key cannot rotate a {role} key")
    if row.revoked_at is not None:
        raise conflict(f"key {row.id} is revoked; create a new key instead", {"key_id": row.id})
    if row.expires_at is not None and row.expires_at <= now:
        raise conflict(f"key {row.id} has expired; create a new key instead", {"key_id": row.id})
    org = s.get(OrgRow, row.org_id)
    assert org is not None
    expires_at = None if row.expires_at is None else now + (row.expires_at - row.created_at)
    new = issue_key(s, org, row.name, role, now, row.project_id, expires_at)
    if body.grace_seconds:
        retire_at = now + timedelta(seconds=body.grace_seconds)
        row.expires_at = retire_at if row.expires_at is None else min(row.expires_at, retire_at)
    else:
        row.revoked_at = now
    s.flush()
    return api.KeyRotated(**new.model_dump(), replaced=key_out(row))
