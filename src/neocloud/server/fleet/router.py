"""Fleet, offerings, quotas, sellable caps and the cost model."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.domain.tenancy import Permission
from neocloud.schemas import fleet as api
from neocloud.schemas.common import Page
from neocloud.server.fleet import engine_status
from neocloud.server.fleet import service as svc
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import Caller, Ctx, ProjectCaller
from neocloud.server.http.pagination import Limit

router = APIRouter(prefix="/v1", tags=["fleet"])


@router.post("/fleet/validate", response_model=api.FleetValidation)
def validate_fleet(body: api.FleetUpload, p: Caller) -> api.FleetValidation:
    """Check a fleet file and list every problem with its path."""
    p.require(Permission.OPERATE)
    return svc.validate(body.yaml)


@router.put("/fleet", response_model=api.FleetSummary)
def load_fleet(body: api.FleetUpload, ctx: Ctx, p: Caller) -> api.FleetSummary:
    """Load a fleet file (422 listing every problem if it is invalid; nothing changes then)."""
    with ctx.db.session() as s:
        return svc.load(s, p, body.yaml, utcnow())


@router.get("/fleet", response_model=api.FleetSummary)
def show_fleet(ctx: Ctx, p: Caller) -> api.FleetSummary:
    """Capacity per GPU type, and each cluster's engine as last seen."""
    return engine_status.summary_with_engines(ctx.db, ctx.engines, p)


@router.get("/fleet/check", response_model=api.FleetCheck)
def check_fleet(ctx: Ctx, p: Caller) -> api.FleetCheck:
    """Ask every cluster's engine now and compare what it reports with the fleet file."""
    return engine_status.check_now(ctx.db, ctx.engines, p, utcnow())


@router.get("/fleet/nodes", response_model=Page[api.NodeOut])
def list_nodes(
    ctx: Ctx, p: Caller, cursor: str | None = None, limit: Limit = 100
) -> Page[api.NodeOut]:
    """Nodes (operators only)."""
    with ctx.db.session() as s:
        items, nxt = svc.list_nodes(s, p, cursor, limit)
    return Page(items=items, next_cursor=nxt)


@router.get("/offerings", response_model=list[api.Offering])
def offerings(ctx: Ctx, p: ProjectCaller) -> list[api.Offering]:
    """GPU types on sale and their prices now."""
    with ctx.db.session() as s:
        return svc.offerings(s, p, utcnow())


@router.put("/quotas", response_model=api.Quota)
def set_quota(body: api.QuotaSet, ctx: Ctx, p: Caller) -> api.Quota:
    """Set an org's quota of a GPU type."""
    with ctx.db.session() as s:
        return svc.set_quota(s, p, body)


@router.get("/quotas", response_model=Page[api.Quota])
def list_quotas(ctx: Ctx, p: Caller, org: str | None = None) -> Page[api.Quota]:
    """Quotas the caller may see."""
    with ctx.db.session() as s:
        return Page(items=svc.list_quotas(s, p, org))


@router.put("/sellable-caps", response_model=api.SellableCapSet)
def set_cap(body: api.SellableCapSet, ctx: Ctx, p: Caller) -> api.SellableCapSet:
    """Set the share of a GPU type that external work may hold."""
    with ctx.db.session() as s:
        return svc.set_cap(s, p, body)


@router.get("/economics/cost", response_model=api.CostBreakdownOut)
def cost(ctx: Ctx, p: Caller, node_model: str) -> api.CostBreakdownOut:
    """Cost per GPU-hour of a node model at 100 % allocation."""
    with ctx.db.session() as s:
        return svc.cost(s, p, node_model)


@router.get("/economics/node-models", response_model=list[str])
def node_models(ctx: Ctx, p: Caller) -> list[str]:
    """Node models in the fleet."""
    with ctx.db.session() as s:
        return svc.node_models(s, p)
