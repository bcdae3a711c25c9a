"""Meters: how reported usage events aggregate into a billable quantity."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from neocloud.schemas.metering import Aggregation, Meter, MeterSet
from neocloud.sdk.transport import Resource, build, segment


class Meters(Resource):
    """Meters (`/v1/meters`): the built-in `gpu_seconds` and the ones the operator declares."""

    def list(self) -> builtins.list[Meter]:
        """Every meter, the platform's GPU meter first."""
        return self._t.call("GET", "/v1/meters", builtins.list[Meter])

    def get(self, name: str) -> Meter:
        """One meter by name."""
        return self._t.call("GET", f"/v1/meters/{segment(name)}", Meter)

    def set(
        self,
        name: str,
        aggregation: Aggregation,
        unit: str,
        *,
        unique_by: str | None = None,
        group_by: Sequence[str] = (),
        description: str = "",
    ) -> Meter:
        """Declare a meter or change it (operator); repeating the same declaration is harmless."""
        body = build(
            MeterSet,
            aggregation=aggregation,
            unit=unit,
            unique_by=unique_by,
            group_by=list(group_by),
            description=description,
        )
        return self._t.call("PUT", f"/v1/meters/{segment(name)}", Meter, body=body)
