"""The price book: $/GPU-hour per GPU type × tier, effective from a moment on."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from decimal import Decimal

from neocloud.domain.jobs import Tier
from neocloud.schemas.billing import Price, PriceSet
from neocloud.sdk.transport import Resource, build


class Prices(Resource):
    """Prices (`/v1/prices`)."""

    def set(
        self,
        gpu_type: str,
        tier: Tier | str,
        unit_price: Decimal | str | int,
        *,
        effective_from: datetime | None = None,
        currency: str | None = None,
        region: str | None = None,
    ) -> Price:
        """Set a price from `effective_from` (default: now) on (operator)."""
        if isinstance(unit_price, float):
            raise TypeError("unit_price must be a Decimal, str or int, not float")
        body = build(
            PriceSet,
            gpu_type=gpu_type,
            tier=tier,
            unit_price=unit_price,
            effective_from=effective_from or datetime.now(UTC),
            currency=currency,
            region=region,
        )
        return self._t.call("PUT", "/v1/prices", Price, body=body)

    def list(self) -> builtins.list[Price]:
        """Every price-book entry."""
        return self._t.call("GET", "/v1/prices", builtins.list[Price])
