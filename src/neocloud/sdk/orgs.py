"""Orgs, their projects and their members."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from neocloud.domain.tenancy import OrgKind, Role
from neocloud.schemas.common import Page
from neocloud.schemas.credits import BillingTerms, BillingTermsSet
from neocloud.schemas.tenancy import (
    Member,
    MemberCreate,
    Org,
    OrgCreate,
    Project,
    ProjectCreate,
)
from neocloud.sdk.pagination import follow_pages
from neocloud.sdk.transport import Resource, build, segment


class Orgs(Resource):
    """Tenants (`/v1/orgs`); creating one needs the operator."""

    def create(
        self,
        name: str,
        kind: OrgKind | str,
        *,
        display_name: str | None = None,
        fair_share_weight: int | None = None,
        idempotency_key: str | None = None,
    ) -> Org:
        """Create an org."""
        body = build(
            OrgCreate,
            name=name,
            kind=kind,
            display_name=display_name,
            fair_share_weight=fair_share_weight,
        )
        return self._t.call("POST", "/v1/orgs", Org, body=body, idempotency_key=idempotency_key)

    def get(self, org: str) -> Org:
        """One org by id or name."""
        return self._t.call("GET", f"/v1/orgs/{segment(org)}", Org)

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> Page[Org]:
        """One page of orgs."""
        return self._t.call("GET", "/v1/orgs", Page[Org], params={"cursor": cursor, "limit": limit})

    def iter(self, *, page_size: int | None = None) -> Iterator[Org]:
        """Every org the caller can see."""
        return follow_pages(lambda c: self.list(cursor=c, limit=page_size))

    def billing_terms(self, org: str) -> BillingTerms:
        """An org's commercial terms (an org that never had any shows the defaults)."""
        return self._t.call("GET", f"/v1/orgs/{segment(org)}/billing-terms", BillingTerms)

    def set_billing_terms(
        self,
        org: str,
        *,
        currency: str | None = None,
        discount_percent: Decimal | str | int | None = None,
        minimum_spend: Decimal | str | int | None = None,
        tax_rate: Decimal | str | int | None = None,
        credit_limit: Decimal | str | int | None = None,
        stop_grace_seconds: int | None = None,
    ) -> BillingTerms:
        """Replace an external org's terms (operator); what is left out takes its default.

        The API stores terms whole, so this is not a partial update: leaving out
        `credit_limit` makes the org postpaid, leaving out `tax_rate` sets it to 0. To change
        one field, read `billing_terms(org)` first and pass every field back.
        """
        money = {
            "discount_percent": discount_percent,
            "minimum_spend": minimum_spend,
            "tax_rate": tax_rate,
            "credit_limit": credit_limit,
        }
        for name, value in money.items():
            if isinstance(value, float):
                raise TypeError(f"{name} must be a Decimal, str or int, not float")
        body = build(
            BillingTermsSet, currency=currency, stop_grace_seconds=stop_grace_seconds, **money
        )
        return self._t.call(
            "PUT", f"/v1/orgs/{segment(org)}/billing-terms", BillingTerms, body=body
        )


class Projects(Resource):
    """Projects inside an org (`/v1/orgs/{org}/projects`)."""

    def create(self, org: str, name: str, *, idempotency_key: str | None = None) -> Project:
        """Create a project in an org (id or name)."""
        body = build(ProjectCreate, name=name)
        return self._t.call(
            "POST",
            f"/v1/orgs/{segment(org)}/projects",
            Project,
            body=body,
            idempotency_key=idempotency_key,
        )

    def list(
        self, org: str, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[Project]:
        """One page of an org's projects."""
        return self._t.call(
            "GET",
            f"/v1/orgs/{segment(org)}/projects",
            Page[Project],
            params={"cursor": cursor, "limit": limit},
        )

    def iter(self, org: str, *, page_size: int | None = None) -> Iterator[Project]:
        """Every project of an org."""
        return follow_pages(lambda c: self.list(org, cursor=c, limit=page_size))


class Members(Resource):
    """Members of an org (`/v1/orgs/{org}/members`)."""

    def add(
        self, org: str, email: str, role: Role | str, *, idempotency_key: str | None = None
    ) -> Member:
        """Add a member with a role to an org."""
        body = build(MemberCreate, email=email, role=role)
        return self._t.call(
            "POST",
            f"/v1/orgs/{segment(org)}/members",
            Member,
            body=body,
            idempotency_key=idempotency_key,
        )

    def list(
        self, org: str, *, cursor: str | None = None, limit: int | None = None
    ) -> Page[Member]:
        """One page of an org's members."""
        return self._t.call(
            "GET",
            f"/v1/orgs/{segment(org)}/members",
            Page[Member],
            params={"cursor": cursor, "limit": limit},
        )

    def iter(self, org: str, *, page_size: int | None = None) -> Iterator[Member]:
        """Every member of an org."""
        return follow_pages(lambda c: self.list(org, cursor=c, limit=page_size))
