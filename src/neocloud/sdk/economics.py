"""Gross margin and the cost of a GPU-hour (operator)."""

from __future__ import annotations

from neocloud.schemas.billing import MarginReport
from neocloud.schemas.fleet import CostBreakdownOut
from neocloud.sdk.transport import Resource, When


class Economics(Resource):
    """Margin (`/v1/margin`) and cost model (`/v1/economics`)."""

    def margin(self, *, start: When, end: When | None = None) -> MarginReport:
        """Revenue, cost and gross margin between two moments (end: now), by GPU type and tier."""
        params = {"from": start} if end is None else {"from": start, "to": end}
        return self._t.call("GET", "/v1/margin", MarginReport, params=params)

    def cost(self, node_model: str) -> CostBreakdownOut:
        """What one GPU-hour of a node model costs at full allocation, by component."""
        return self._t.call(
            "GET", "/v1/economics/cost", CostBreakdownOut, params={"node_model": node_model}
        )

    def node_models(self) -> list[str]:
        """Names of the node models the fleet declares."""
        return self._t.call("GET", "/v1/economics/node-models", list[str])
