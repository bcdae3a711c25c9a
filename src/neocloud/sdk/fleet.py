"""The fleet, what it offers for sale, quotas and sellable caps."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from decimal import Decimal

from neocloud.schemas.common import Page
from neocloud.schemas.fleet import (
    FleetCheck,
    FleetSummary,
    FleetUpload,
    FleetValidation,
    NodeOut,
    Offering,
    Quota,
    QuotaSet,
    SellableCapSet,
)
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build


class Fleet(Resource):
    """The fleet (`/v1/fleet`); all but `offerings` need the operator."""

    def validate(self, yaml_text: str) -> FleetValidation:
        """Check a fleet file on the server without loading it."""
        body = build(FleetUpload, yaml=yaml_text)
        return self._t.call("POST", "/v1/fleet/validate", FleetValidation, body=body)

    def load(self, yaml_text: str) -> FleetSummary:
        """Replace the fleet with a fleet file; an invalid file is a 422 listing its problems."""
        body = build(FleetUpload, yaml=yaml_text)
        return self._t.call("PUT", "/v1/fleet", FleetSummary, body=body)

    def get(self) -> FleetSummary:
        """Regions, clusters and capacity per GPU type."""
        return self._t.call("GET", "/v1/fleet", FleetSummary)

    def check(self) -> FleetCheck:
        """Ask every cluster's engine now; what is wrong and how to fix it (operator)."""
        return self._t.call("GET", "/v1/fleet/check", FleetCheck)

    def nodes(self, *, cursor: str | None = None, limit: int | None = None) -> Page[NodeOut]:
        """One page of nodes."""
        return self._t.call(
            "GET", "/v1/fleet/nodes", Page[NodeOut], params={"cursor": cursor, "limit": limit}
        )

    def iter_nodes(self, *, page_size: int | None = None) -> Iterator[NodeOut]:
        """Every node."""
        return follow_pages(lambda c: self.nodes(cursor=c, limit=page_size))

    def offerings(self) -> builtins.list[Offering]:
        """GPU types on sale and their current prices (anyone may ask)."""
        return self._t.call("GET", "/v1/offerings", builtins.list[Offering])


class Quotas(Resource):
    """GPUs of a type an org may hold at once (`/v1/quotas`)."""

    def set(self, org: str, gpu_type: str, gpus: int, *, borrow_limit: int = 0) -> Quota:
        """Set an org's quota of a GPU type and how many more it may borrow (operator)."""
        body = build(QuotaSet, org=org, gpu_type=gpu_type, gpus=gpus, borrow_limit=borrow_limit)
        return self._t.call("PUT", "/v1/quotas", Quota, body=body)

    def list(
        self, *, org: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[Quota]:
        """One page of quotas (of one org, if given)."""
        return self._t.call(
            "GET", "/v1/quotas", Page[Quota], params={"org": org, "cursor": cursor, "limit": limit}
        )

    def iter(self, *, org: str | None = None, page_size: int | None = None) -> Iterator[Quota]:
        """Every quota (of one org, if given)."""
        return follow_pages(lambda c: self.list(org=org, cursor=c, limit=page_size))


class SellableCaps(Resource):
    """The fraction of each GPU type external work may hold (`/v1/sellable-caps`)."""

    def set(self, gpu_type: str, fraction: Decimal | str | int) -> SellableCapSet:
        """Set the sellable cap of a GPU type, a fraction in [0, 1] (operator)."""
        if isinstance(fraction, float):
            raise TypeError("fraction must be a Decimal, str or int, not float")
        body = build(SellableCapSet, gpu_type=gpu_type, fraction=fraction)
        return self._t.call("PUT", "/v1/sellable-caps", SellableCapSet, body=body)
