"""Budgets: a monthly amount per org or project, with alert thresholds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal

from neocloud.schemas.budgets import Budget, BudgetCreate
from neocloud.schemas.common import Page
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment


class Budgets(Resource):
    """Budgets (`/v1/budgets`)."""

    def create(
        self,
        name: str,
        amount: Decimal | str | int,
        *,
        currency: str | None = None,
        thresholds: Sequence[int] | None = None,
        org: str | None = None,
        project: str | None = None,
        idempotency_key: str | None = None,
    ) -> Budget:
        """Set a monthly budget; alerts fire once per threshold (percent) per period."""
        if isinstance(amount, float):
            raise TypeError("amount must be a Decimal, str or int, not float")
        body = build(
            BudgetCreate,
            name=name,
            amount=amount,
            currency=currency,
            thresholds=list(thresholds) if thresholds is not None else None,
            org=org,
            project=project,
        )
        return self._t.call(
            "POST", "/v1/budgets", Budget, body=body, idempotency_key=idempotency_key
        )

    def list(
        self, *, org: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> Page[Budget]:
        """One page of budgets, each with this period's spend and thresholds reached."""
        return self._t.call(
            "GET",
            "/v1/budgets",
            Page[Budget],
            params={"org": org, "cursor": cursor, "limit": limit},
        )

    def iter(self, *, org: str | None = None, page_size: int | None = None) -> Iterator[Budget]:
        """Every budget the caller can see."""
        return follow_pages(lambda c: self.list(org=org, cursor=c, limit=page_size))

    def get(self, budget_id: str) -> Budget:
        """One budget with this period's spend."""
        return self._t.call("GET", f"/v1/budgets/{segment(budget_id)}", Budget)

    def delete(self, budget_id: str) -> None:
        """Remove a budget."""
        self._t.request("DELETE", f"/v1/budgets/{segment(budget_id)}")
