"""Gross margin and the cost of a GPU-hour (operator)."""

from __future__ import annotations

from decimal import Decimal

from neocloud.schemas.billing import MarginReport
from neocloud.schemas.fleet import CostBreakdownOut
from neocloud.sdk.transport import Resource, When


class Economics(Resource):
    """Margin (`/v1/margin`) and cost model (`/v1/economics`)."""

    def margin(
        self,
        *,
        start: When,
        end: When | None = None,
        idle: str | None = None,
        target_margin_pct: Decimal | None = None,
    ) -> MarginReport:
        """Revenue, cost and gross margin between two moments (end: now), by every slice.

        idle: `line` (default), `even` or `weighted`; target_margin_pct: for the price guide.
        """
        params: dict[str, When | str | Decimal] = {"from": start}
        if end is not None:
            params["to"] = end
        if idle is not None:
            params["idle"] = idle
        if target_margin_pct is not None:
            params["target_margin_pct"] = target_margin_pct
        return self._t.call("GET", "/v1/margin", MarginReport, params=params)

    def cost(self, node_model: str) -> CostBreakdownOut:
        """What one GPU-hour of a node model costs at full allocation, by component."""
        return self._t.call(
            "GET", "/v1/economics/cost", CostBreakdownOut, params={"node_model": node_model}
        )

    def node_models(self) -> list[str]:
        """Names of the node models the fleet declares."""
        return self._t.call("GET", "/v1/economics/node-models", list[str])
