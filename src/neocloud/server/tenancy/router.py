"""Orgs, projects, members, keys and whoami."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.domain.tenancy import Permission
from neocloud.schemas import tenancy as api
from neocloud.schemas.common import Page
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx, ProjectCaller
from neocloud.server.http.idempotency import Create, ProjectCreate
from neocloud.server.http.pagination import Limit
from neocloud.server.tenancy import key_rotation as rotation
from neocloud.server.tenancy import service as svc

router = APIRouter(prefix="/v1", tags=["tenancy"])


@router.get("/me", response_model=api.Whoami)
def whoami(p: ProjectCaller) -> api.Whoami:
    """Who the calling key belongs to."""
    return api.Whoami(
        key_id=p.key_id,
        org_id=p.org_id,
        org_name=p.org_name,
        org_kind=p.org_kind,
        role=p.role,
        project_id=p.project_id,
    )


@router.post("/orgs", status_code=201, response_model=api.Org)
def create_org(
    body: api.OrgCreate,
    op: Create,
) -> object:
    """Create an org (operator)."""
    return op.run(
        body,
        lambda s: svc.create_org(s, op.caller, body, op.now),
        permission=Permission.OPERATE,
    )


@router.get("/orgs", response_model=Page[api.Org])
def list_orgs(ctx: Ctx, p: Caller, cursor: str | None = None, limit: Limit = 100) -> Page[api.Org]:
    """Orgs the caller may see."""
    with ctx.db.session() as s:
        items, nxt = svc.list_orgs(s, p, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/orgs/{org}", response_model=api.Org)
def get_org(org: str, ctx: Ctx, p: Caller) -> api.Org:
    """One org (by id or name)."""
    with ctx.db.session() as s:
        return svc.org_out(svc.resolve_org(s, p, org))


@router.post("/orgs/{org}/projects", status_code=201, response_model=api.Project)
def create_project(
    org: str,
    body: api.ProjectCreate,
    op: Create,
) -> object:
    """Create a project."""
    return op.run(
        body,
        lambda s: svc.create_project(s, op.caller, org, body, op.now),
        permission=Permission.MANAGE_ORG,
    )


@router.get("/orgs/{org}/projects", response_model=Page[api.Project])
def list_projects(
    org: str, ctx: Ctx, p: Caller, cursor: str | None = None, limit: Limit = 100
) -> Page[api.Project]:
    """Projects of an org."""
    with ctx.db.session() as s:
        items, nxt = svc.list_projects(s, p, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.post("/orgs/{org}/members", status_code=201, response_model=api.Member)
def add_member(
    org: str,
    body: api.MemberCreate,
    op: Create,
) -> object:
    """Add a member."""
    return op.run(
        body,
        lambda s: svc.add_member(s, op.caller, org, body, op.now),
        permission=Permission.MANAGE_ORG,
    )


@router.get("/orgs/{org}/members", response_model=Page[api.Member])
def list_members(
    org: str, ctx: Ctx, p: Caller, cursor: str | None = None, limit: Limit = 100
) -> Page[api.Member]:
    """Members of an org."""
    with ctx.db.session() as s:
        items, nxt = svc.list_members(s, p, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.post("/keys", status_code=201, response_model=api.ApiKeyCreated)
def create_key(
    body: api.KeyCreate,
    op: ProjectCreate,
) -> object:
    """Create an API key; the secret is in this response only."""
    return op.run(
        body,
        lambda s: svc.create_key(s, op.caller, body, op.now),
        replay_body=False,
        permission=Permission.MANAGE_ORG,
    )


@router.get("/keys", response_model=Page[api.ApiKey])
def list_keys(
    ctx: Ctx,
    p: ProjectCaller,
    org: str | None = None,
    cursor: str | None = None,
    limit: Limit = 100,
) -> Page[api.ApiKey]:
    """Keys of an org (never their secrets)."""
    with ctx.db.session() as s:
        items, nxt = svc.list_keys(s, p, org, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.post("/keys/{key_id}/rotate", status_code=201, response_model=api.KeyRotated)
def rotate_key(
    key_id: str,
    op: ProjectCreate,
    body: api.KeyRotate | None = None,
) -> object:
    """Mint a key like this one and retire it (now, or after `grace_seconds`); secret shown once."""
    wanted = body or api.KeyRotate()
    return op.run(
        wanted,
        lambda s: rotation.rotate_key(s, op.caller, key_id, wanted, op.now),
        replay_body=False,
        permission=Permission.MANAGE_ORG,
    )


@router.post("/keys/{key_id}/revoke", response_model=api.ApiKey)
def revoke_key(key_id: str, ctx: Ctx, p: ProjectCaller) -> api.ApiKey:
    """Revoke a key at once."""
    with ctx.db.session() as s:
        return svc.revoke_key(s, p, key_id, utcnow())
