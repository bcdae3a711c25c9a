"""Reserved contracts."""

from __future__ import annotations

from fastapi import APIRouter

from neocloud.domain.tenancy import Permission
from neocloud.schemas import fleet as api
from neocloud.server.fleet import contracts as svc
from neocloud.server.http.context import Caller, Ctx
from neocloud.server.http.idempotency import Create

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


@router.post("", status_code=201, response_model=api.Contract)
def create_contract(
    body: api.ContractCreate,
    op: Create,
) -> object:
    """Sign a reserved contract (operator)."""
    return op.run(
        body,
        lambda s: svc.create(s, op.caller, body, op.now),
        permission=Permission.OPERATE,
    )


@router.get("", response_model=list[api.Contract])
def list_contracts(ctx: Ctx, p: Caller, org: str | None = None) -> list[api.Contract]:
    """Contracts the caller may see."""
    with ctx.db.session() as s:
        return svc.list_contracts(s, p, org)
