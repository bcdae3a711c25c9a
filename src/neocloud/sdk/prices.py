"""The price book: prices per meter × GPU type × tier (× region), effective from a moment on."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from neocloud.domain.jobs import Tier
from neocloud.schemas.billing import ChargeIn, Price, PriceSet
from neocloud.sdk.transport import Resource, build


def _refuse_floats(value: object, where: str) -> None:
    # A float has already lost the price it was written as (0.1 is not 0.1); refuse it anywhere.
    if isinstance(value, float):
        raise TypeError(f"{where} must be a Decimal, str or int, not float")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_floats(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _refuse_floats(item, f"{where}[{i}]")


class Prices(Resource):
    """Prices (`/v1/prices`)."""

    def set(
        self,
        gpu_type: str,
        tier: Tier | str,
        unit_price: Decimal | str | int,
        *,
        meter: str | None = None,
        charge: ChargeIn | Mapping[str, Any] | None = None,
        effective_from: datetime | None = None,
        currency: str | None = None,
        region: str | None = None,
    ) -> Price:
        """Set a price from `effective_from` (default: now) on (operator).

        GPU time (`meter` gpu_seconds, the default) is priced per GPU-hour of `gpu_type`;
        another meter per unit, with `gpu_type` "" for a price whatever the hardware. `charge`
        (a ChargeIn or a mapping such as `{"model": "graduated", "tiers": [...]}`) makes the
        price tiered or packaged; `unit_price` is then what a price list shows.
        """
        _refuse_floats(unit_price, "unit_price")
        if charge is not None and not isinstance(charge, ChargeIn):
            _refuse_floats(charge, "charge")
        body = build(
            PriceSet,
            meter=meter,
            gpu_type=gpu_type,
            tier=tier,
            unit_price=unit_price,
            charge=charge,
            effective_from=effective_from or datetime.now(UTC),
            currency=currency,
            region=region,
        )
        return self._t.call("PUT", "/v1/prices", Price, body=body)

    def list(self) -> builtins.list[Price]:
        """Every price-book entry."""
        return self._t.call("GET", "/v1/prices", builtins.list[Price])
