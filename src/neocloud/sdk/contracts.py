"""Reserved contracts: N GPUs of a type for a term at a rate."""

from __future__ import annotations

import builtins
from datetime import datetime
from decimal import Decimal

from neocloud.schemas.fleet import Contract, ContractCreate
from neocloud.sdk.transport import Resource, build


class Contracts(Resource):
    """Reserved contracts (`/v1/contracts`)."""

    def create(
        self,
        org: str,
        gpu_type: str,
        gpus: int,
        *,
        starts_at: datetime,
        ends_at: datetime,
        unit_price: Decimal | str | int,
        currency: str | None = None,
        idempotency_key: str | None = None,
    ) -> Contract:
        """Sign a contract (operator); refused if contracts would exceed the sellable cap."""
        if isinstance(unit_price, float):
            raise TypeError("unit_price must be a Decimal, str or int, not float")
        body = build(
            ContractCreate,
            org=org,
            gpu_type=gpu_type,
            gpus=gpus,
            starts_at=starts_at,
            ends_at=ends_at,
            unit_price=unit_price,
            currency=currency,
        )
        return self._t.call(
            "POST", "/v1/contracts", Contract, body=body, idempotency_key=idempotency_key
        )

    def list(self, *, org: str | None = None) -> builtins.list[Contract]:
        """Contracts the caller may see."""
        return self._t.call("GET", "/v1/contracts", builtins.list[Contract], params={"org": org})
