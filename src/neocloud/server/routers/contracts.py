"""Reserved contracts."""

from __future__ import annotations

from fastapi import APIRouter, Header, Response

from neocloud.domain.tenancy import Permission
from neocloud.schemas import fleet as api
from neocloud.server.clock import utcnow
from neocloud.server.context import Caller, Ctx
from neocloud.server.idempotency import idempotent
from neocloud.server.services import contracts as svc

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.post("", status_code=201, response_model=api.Contract)
def create_contract(
    body: api.ContractCreate,
    ctx: Ctx,
    p: Caller,
    response: Response,
    key: str | None = Header(default=None, alias="Idempotency-Key"),
) -> object:
    """Sign a reserved contract (operator)."""
    return idempotent(
        ctx,
        p,
        key,
        "POST /v1/contracts",
        body,
        response,
        201,
        lambda s: svc.create(s, p, body, utcnow()),
        permission=Permission.OPERATE,
    )


@router.get("", response_model=list[api.Contract])
def list_contracts(ctx: Ctx, p: Caller, org: str | None = None) -> list[api.Contract]:
    """Contracts the caller may see."""
    with ctx.db.session() as s:
        return svc.list_contracts(s, p, org)
