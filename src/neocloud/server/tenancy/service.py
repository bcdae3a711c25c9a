"""Orgs, projects, members and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neocloud.domain.tenancy import OrgKind, Permission, Role, may_grant
from neocloud.schemas import tenancy as api
from neocloud.server.http.auth import Principal, generate_secret, hash_secret
from neocloud.server.http.errors import ApiError, conflict, forbidden, invalid, not_found
from neocloud.server.http.pagination import page_of, paginate
from neocloud.store.ids import new_id
from neocloud.store.models import ApiKeyRow, MemberRow, OrgRow, ProjectRow

PLATFORM_ORG = "platform"


def org_out(row: OrgRow) -> api.Org:
    """Wire form of an org."""
    return api.Org(
        id=row.id,
        name=row.name,
        kind=OrgKind(row.kind),
        display_name=row.display_name,
        created_at=row.created_at,
    )


def resolve_org(s: Session, p: Principal, ident: str) -> OrgRow:
    """The org named by id or name, if the caller may see it; else 404 (never 403)."""
    row = s.scalars(select(OrgRow).where(or_(OrgRow.id == ident, OrgRow.name == ident))).first()
    if row is None or not p.can_see_org(row.id):
        raise not_found("org", ident)
    return row


def org_or_own(s: Session, p: Principal, ident: str | None) -> OrgRow:
    """The org named (if the caller may see it, else 404), or the caller's own org."""
    if ident:
        return resolve_org(s, p, ident)
    own = s.get(OrgRow, p.org_id)
    assert own is not None
    return own


def resolve_project(s: Session, org: OrgRow, ident: str) -> ProjectRow:
    """A project of an org by id or name; 404 otherwise."""
    row = s.scalars(
        select(ProjectRow).where(
            ProjectRow.org_id == org.id, or_(ProjectRow.id == ident, ProjectRow.name == ident)
        )
    ).first()
    if row is None:
        raise not_found("project", ident)
    return row


def project_in_scope(s: Session, p: Principal, org: OrgRow, ident: str | None) -> str | None:
    """The project a request is about: the one named, or a project-scoped key's own.

    A project-scoped key reaches only its project: naming another one is 404, as if it did not
    exist. None means the whole org (an org-wide key that named no project).
    """
    scope = p.project_scope
    if ident is None:
        return scope if org.id == p.org_id else None
    project_id = resolve_project(s, org, ident).id
    if scope is not None and project_id != scope:
        raise not_found("project", ident)
    return project_id


def create_org(s: Session, p: Principal, body: api.OrgCreate, now: datetime) -> api.Org:
    """Create an org (operator only); names are unique."""
    p.require(Permission.OPERATE)
    if s.scalars(select(OrgRow).where(OrgRow.name == body.name)).first() is not None:
        raise conflict(f"org {body.name!r} already exists", {"field": "name"})
    row = OrgRow(
        id=new_id("org"),
        name=body.name,
        kind=body.kind.value,
        display_name=body.display_name,
        fair_share_weight=body.fair_share_weight,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return org_out(row)


def list_orgs(
    s: Session, p: Principal, cursor: str | None, limit: int
) -> tuple[list[api.Org], str | None]:
    """Orgs the caller may see."""
    stmt = select(OrgRow)
    if not p.is_operator:
        stmt = stmt.where(OrgRow.id == p.org_id)
    rows = s.scalars(paginate(stmt, OrgRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [org_out(r) for r in items], nxt


def create_project(
    s: Session, p: Principal, org_ident: str, body: api.ProjectCreate, now: datetime
) -> api.Project:
    """Create a project in an org the caller manages."""
    org = resolve_org(s, p, org_ident)
    p.require(Permission.MANAGE_ORG)
    exists = s.scalars(
        select(ProjectRow).where(ProjectRow.org_id == org.id, ProjectRow.name == body.name)
    ).first()
    if exists is not None:
        raise conflict(f"project {body.name!r} already exists in org {org.name}", {"field": "name"})
    row = ProjectRow(id=new_id("prj"), org_id=org.id, name=body.name, created_at=now)
    s.add(row)
    s.flush()
    return api.Project(id=row.id, org_id=row.org_id, name=row.name, created_at=row.created_at)


def list_projects(
    s: Session, p: Principal, org_ident: str, cursor: str | None, limit: int
) -> tuple[list[api.Project], str | None]:
    """Projects of an org."""
    org = resolve_org(s, p, org_ident)
    stmt = select(ProjectRow).where(ProjectRow.org_id == org.id)
    rows = s.scalars(paginate(stmt, ProjectRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [
        api.Project(id=r.id, org_id=r.org_id, name=r.name, created_at=r.created_at) for r in items
    ], nxt


def add_member(
    s: Session, p: Principal, org_ident: str, body: api.MemberCreate, now: datetime
) -> api.Member:
    """Add a member with a role; only the operator grants the operator role (never to an org)."""
    org = resolve_org(s, p, org_ident)
    p.require(Permission.MANAGE_ORG)
    if body.role is Role.OPERATOR:
        raise invalid("role", "the operator role cannot be given to an org member")
    require_grant(p, body.role)
    exists = s.scalars(
        select(MemberRow).where(MemberRow.org_id == org.id, MemberRow.email == body.email)
    ).first()
    if exists is not None:
        raise conflict(f"{body.email} is already a member of {org.name}", {"field": "email"})
    row = MemberRow(
        id=new_id("mbr"), org_id=org.id, email=body.email, role=body.role.value, created_at=now
    )
    s.add(row)
    s.flush()
    return api.Member(
        id=row.id,
        org_id=row.org_id,
        email=row.email,
        role=Role(row.role),
        created_at=row.created_at,
    )


def list_members(
    s: Session, p: Principal, org_ident: str, cursor: str | None, limit: int
) -> tuple[list[api.Member], str | None]:
    """Members of an org."""
    org = resolve_org(s, p, org_ident)
    stmt = select(MemberRow).where(MemberRow.org_id == org.id)
    rows = s.scalars(paginate(stmt, MemberRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [
        api.Member(
            id=r.id, org_id=r.org_id, email=r.email, role=Role(r.role), created_at=r.created_at
        )
        for r in items
    ], nxt


def key_out(row: ApiKeyRow) -> api.ApiKey:
    """Wire form of a key (never the secret)."""
    return api.ApiKey(
        id=row.id,
        org_id=row.org_id,
        project_id=row.project_id,
        name=row.name,
        role=Role(row.role),
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def require_grant(p: Principal, role: Role) -> None:
    """Raise 403 unless the caller's role may give out `role` (see domain.tenancy.may_grant)."""
    if not may_grant(p.role, role):
        raise forbidden(
            f"a {p.role} key cannot grant the {role} role: "
            f"it has permissions the {p.role} role lacks"
        )


def issue_key(
    s: Session,
    org: OrgRow,
    name: str,
    role: Role,
    now: datetime,
    project_id: str | None = None,
    expires_at: datetime | None = None,
) -> api.ApiKeyCreated:
    """Store a new key's hash and return its secret (the only time it exists in clear)."""
    secret, prefix = generate_secret()
    row = ApiKeyRow(
        id=new_id("key"),
        org_id=org.id,
        project_id=project_id,
        name=name,
        role=role.value,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        created_at=now,
        expires_at=expires_at,
    )
    s.add(row)
    try:
        s.flush()
    except IntegrityError as exc:  # a 48-bit prefix collision: astronomically rare, still safe
        raise ApiError(503, "retry", "key generation collided; retry") from exc
    return api.ApiKeyCreated(**key_out(row).model_dump(), secret=secret)


def create_key(s: Session, p: Principal, body: api.KeyCreate, now: datetime) -> api.ApiKeyCreated:
    """Create a key for an org; a caller cannot mint a key more powerful than its own."""
    org = resolve_org(s, p, body.org)
    p.require(Permission.MANAGE_ORG)
    if body.role is Role.OPERATOR and not (p.is_operator and org.name == PLATFORM_ORG):
        raise invalid("role", "operator keys exist only in the platform org")
    require_grant(p, body.role)
    if body.expires_at is not None:
        if body.expires_at.tzinfo is None:
            raise invalid("expires_at", "must include a timezone")
        if body.expires_at <= now:
            raise invalid("expires_at", "must be in the future")
    project_id = project_in_scope(s, p, org, body.project)
    return issue_key(s, org, body.name, body.role, now, project_id, body.expires_at)


def list_keys(
    s: Session, p: Principal, org_ident: str | None, cursor: str | None, limit: int
) -> tuple[list[api.ApiKey], str | None]:
    """Keys of an org (the caller's own org by default)."""
    p.require(Permission.MANAGE_ORG)
    org_id = resolve_org(s, p, org_ident).id if org_ident else (None if p.is_operator else p.org_id)
    stmt = select(ApiKeyRow)
    if org_id is not None:
        stmt = stmt.where(ApiKeyRow.org_id == org_id)
    if p.project_scope is not None:
        stmt = stmt.where(ApiKeyRow.project_id == p.project_scope)
    rows = s.scalars(paginate(stmt, ApiKeyRow.id, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.id)
    return [key_out(r) for r in items], nxt


def revoke_key(s: Session, p: Principal, key_id: str, now: datetime) -> api.ApiKey:
    """Revoke a key; revoking twice keeps the first revocation time.

    A key may revoke itself, or a key whose role it could grant (an admin cannot revoke an
    owner's key). The last active operator key and an org's last active org-wide owner key are
    never revoked: nobody could then manage the platform or the org.
    """
    p.require(Permission.MANAGE_ORG)
    row = s.get(ApiKeyRow, key_id)
    if row is None or not p.can_see_project(row.org_id, row.project_id):
        raise not_found("key", key_id)
    if row.revoked_at is not None:
        return key_out(row)
    role = Role(row.role)
    if row.id != p.key_id and not may_grant(p.role, role):
        raise forbidden(f"a {p.role} key cannot revoke a {role} key")
    if role in (Role.OPERATOR, Role.OWNER) and row.project_id is None:
        others = _other_active_keys(s, row, now)
        if others == 0:
            whose = "operator key" if role is Role.OPERATOR else "owner key of this org"
            raise conflict(
                f"cannot revoke the last active {whose}: create another {role} key first",
                {"key_id": row.id},
            )
    row.revoked_at = now
    return key_out(row)


def _other_active_keys(s: Session, row: ApiKeyRow, now: datetime) -> int:
    """Active org-wide keys of the same org and role as `row`, besides it (locked)."""
    rows = s.scalars(
        select(ApiKeyRow)
        .where(
            ApiKeyRow.org_id == row.org_id,
            ApiKeyRow.role == row.role,
            ApiKeyRow.project_id.is_(None),
            ApiKeyRow.revoked_at.is_(None),
            ApiKeyRow.id != row.id,
        )
        .with_for_update()
    ).all()
    return sum(1 for r in rows if r.expires_at is None or r.expires_at > now)


def ensure_platform_org(s: Session, now: datetime) -> OrgRow:
    """The provider's own org, home of operator keys."""
    row = s.scalars(select(OrgRow).where(OrgRow.name == PLATFORM_ORG)).first()
    if row is None:
        row = OrgRow(
            id=new_id("org"),
            name=PLATFORM_ORG,
            kind=OrgKind.INTERNAL.value,
            display_name="Platform operator",
            fair_share_weight=1,
            created_at=now,
        )
        s.add(row)
        s.flush()
    return row
