"""Every SDK method sends the route, query and body of the HTTP contract and returns its model."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from neocloud.schemas.billing import Invoice, MarginReport, Price, UsageRecord, UsageSummaryRow
from neocloud.schemas.common import Page
from neocloud.schemas.fleet import (
    Contract,
    CostBreakdownOut,
    FleetSummary,
    FleetValidation,
    NodeOut,
    Offering,
    Quota,
    SellableCapSet,
)
from neocloud.schemas.jobs import Job, JobEvent, JobLogs
from neocloud.schemas.tenancy import ApiKey, ApiKeyCreated, Member, Org, Project, Whoami
from neocloud.sdk.client import Client
from tests.sdk import sdk_samples as s
from tests.sdk.api_double import Api


@dataclass
class Route:
    """One SDK call and the request it must make."""

    call: Callable[[Client], Any]
    method: str
    path: str
    answer: Any
    returns: type | tuple[type, ...]
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


ROUTES: dict[str, Route] = {
    "me": Route(lambda c: c.me(), "GET", "/v1/me", s.whoami(), Whoami),
    "orgs.create": Route(
        lambda c: c.orgs.create("acme", "external", display_name="Acme"),
        "POST",
        "/v1/orgs",
        s.org(),
        Org,
        body={"name": "acme", "kind": "external", "display_name": "Acme", "fair_share_weight": 1},
    ),
    "orgs.list": Route(
        lambda c: c.orgs.list(limit=10),
        "GET",
        "/v1/orgs",
        s.page([s.org()]),
        Page,
        query={"limit": "10"},
    ),
    "orgs.get": Route(lambda c: c.orgs.get("acme"), "GET", "/v1/orgs/acme", s.org(), Org),
    "projects.create": Route(
        lambda c: c.projects.create("acme", "vision"),
        "POST",
        "/v1/orgs/acme/projects",
        s.project(),
        Project,
        body={"name": "vision"},
    ),
    "projects.list": Route(
        lambda c: c.projects.list("acme"),
        "GET",
        "/v1/orgs/acme/projects",
        s.page([s.project()]),
        Page,
    ),
    "members.add": Route(
        lambda c: c.members.add("acme", "ada@acme.test", "admin"),
        "POST",
        "/v1/orgs/acme/members",
        s.member(),
        Member,
        body={"email": "ada@acme.test", "role": "admin"},
    ),
    "members.list": Route(
        lambda c: c.members.list("acme"),
        "GET",
        "/v1/orgs/acme/members",
        s.page([s.member()]),
        Page,
    ),
    "keys.create": Route(
        lambda c: c.keys.create(
            "acme", "ci", expires_at=datetime(2026, 12, 1, tzinfo=UTC), project="vision"
        ),
        "POST",
        "/v1/keys",
        s.api_key(secret="nc_secret"),
        ApiKeyCreated,
        body={
            "org": "acme",
            "name": "ci",
            "role": "member",
            "project": "vision",
            "expires_at": "2026-12-01T00:00:00Z",
        },
    ),
    "keys.list": Route(
        lambda c: c.keys.list(org="acme"),
        "GET",
        "/v1/keys",
        s.page([s.api_key()]),
        Page,
        query={"org": "acme"},
    ),
    "keys.revoke": Route(
        lambda c: c.keys.revoke("key_1"), "POST", "/v1/keys/key_1/revoke", s.api_key(), ApiKey
    ),
    "fleet.validate": Route(
        lambda c: c.fleet.validate("regions: []"),
        "POST",
        "/v1/fleet/validate",
        {"valid": True, "problems": [], "nodes": 0, "gpus": 0},
        FleetValidation,
        body={"yaml": "regions: []"},
    ),
    "fleet.load": Route(
        lambda c: c.fleet.load("regions: []"),
        "PUT",
        "/v1/fleet",
        s.fleet_summary(),
        FleetSummary,
        body={"yaml": "regions: []"},
    ),
    "fleet.get": Route(
        lambda c: c.fleet.get(), "GET", "/v1/fleet", s.fleet_summary(), FleetSummary
    ),
    "fleet.nodes": Route(
        lambda c: c.fleet.nodes(), "GET", "/v1/fleet/nodes", s.page([s.node()]), Page
    ),
    "fleet.offerings": Route(
        lambda c: c.fleet.offerings(), "GET", "/v1/offerings", [s.offering()], list
    ),
    "quotas.set": Route(
        lambda c: c.quotas.set("acme", "h100", 16),
        "PUT",
        "/v1/quotas",
        s.quota(),
        Quota,
        body={"org": "acme", "gpu_type": "h100", "gpus": 16, "borrow_limit": 0},
    ),
    "contracts.create": Route(
        lambda c: c.contracts.create(
            "acme",
            "h100",
            16,
            starts_at=datetime(2026, 11, 1, tzinfo=UTC),
            ends_at=datetime(2027, 11, 1, tzinfo=UTC),
            unit_price="2.10",
        ),
        "POST",
        "/v1/contracts",
        s.contract(),
        Contract,
        body={
            "org": "acme",
            "gpu_type": "h100",
            "gpus": 16,
            "starts_at": "2026-11-01T00:00:00Z",
            "ends_at": "2027-11-01T00:00:00Z",
            "unit_price": "2.10",
            "currency": "USD",
        },
    ),
    "quotas.list": Route(
        lambda c: c.quotas.list(org="acme"),
        "GET",
        "/v1/quotas",
        s.page([s.quota()]),
        Page,
        query={"org": "acme"},
    ),
    "sellable_caps.set": Route(
        lambda c: c.sellable_caps.set("h100", Decimal("0.3")),
        "PUT",
        "/v1/sellable-caps",
        {"gpu_type": "h100", "fraction": "0.3"},
        SellableCapSet,
        body={"gpu_type": "h100", "fraction": "0.3"},
    ),
    "jobs.list": Route(
        lambda c: c.jobs.list(state="running", org="acme"),
        "GET",
        "/v1/jobs",
        s.page([s.job()]),
        Page,
        query={"state": "running", "org": "acme"},
    ),
    "jobs.get": Route(lambda c: c.jobs.get("job_1"), "GET", "/v1/jobs/job_1", s.job(), Job),
    "jobs.events": Route(
        lambda c: c.jobs.events("job_1"), "GET", "/v1/jobs/job_1/events", [s.job_event()], list
    ),
    "jobs.cancel": Route(
        lambda c: c.jobs.cancel("job_1"), "POST", "/v1/jobs/job_1/cancel", s.job(), Job
    ),
    "jobs.logs": Route(
        lambda c: c.jobs.logs("job_1", offset=10),
        "GET",
        "/v1/jobs/job_1/logs",
        s.job_logs(offset=10, next_offset=10),
        JobLogs,
        query={"offset": "10", "limit": "65536"},
    ),
    "usage.records": Route(
        lambda c: c.usage.records(start=date(2026, 11, 1), end="2026-12-01", org="acme"),
        "GET",
        "/v1/usage/records",
        s.page([s.usage_record()]),
        Page,
        query={"from": "2026-11-01", "to": "2026-12-01", "org": "acme"},
    ),
    "usage.summary": Route(
        lambda c: c.usage.summary(
            start=datetime(2026, 11, 1, 1, tzinfo=UTC), group_by=["gpu_type", "tier"]
        ),
        "GET",
        "/v1/usage/summary",
        [s.usage_row()],
        list,
        query={"from": "2026-11-01T01:00:00Z", "group_by": "gpu_type,tier"},
    ),
    "prices.set": Route(
        lambda c: c.prices.set(
            "h100", "spot", "1.10", effective_from=datetime(2026, 11, 1, tzinfo=UTC)
        ),
        "PUT",
        "/v1/prices",
        s.price(),
        Price,
        body={
            "meter": "gpu_seconds",
            "gpu_type": "h100",
            "tier": "spot",
            "unit_price": "1.10",
            "currency": "USD",
            "effective_from": "2026-11-01T00:00:00Z",
        },
    ),
    "prices.list": Route(lambda c: c.prices.list(), "GET", "/v1/prices", [s.price()], list),
    "invoices.generate": Route(
        lambda c: c.invoices.generate("2026-11", org="acme"),
        "POST",
        "/v1/invoices/generate",
        [s.invoice()],
        list,
        body={"period": "2026-11", "org": "acme"},
    ),
    "invoices.list": Route(
        lambda c: c.invoices.list(period="2026-11"),
        "GET",
        "/v1/invoices",
        s.page([s.invoice()]),
        Page,
        query={"period": "2026-11"},
    ),
    "invoices.get": Route(
        lambda c: c.invoices.get("inv_1"), "GET", "/v1/invoices/inv_1", s.invoice(), Invoice
    ),
    "invoices.finalize": Route(
        lambda c: c.invoices.finalize("inv_1"),
        "POST",
        "/v1/invoices/inv_1/finalize",
        s.invoice(status="finalized", number="INV-0001"),
        Invoice,
    ),
    "economics.margin": Route(
        lambda c: c.economics.margin(start="2026-11-01", end="2026-12-01"),
        "GET",
        "/v1/margin",
        s.margin_report(),
        MarginReport,
        query={"from": "2026-11-01", "to": "2026-12-01"},
    ),
    "economics.cost": Route(
        lambda c: c.economics.cost("dgx-h100"),
        "GET",
        "/v1/economics/cost",
        s.cost(),
        CostBreakdownOut,
        query={"node_model": "dgx-h100"},
    ),
    "economics.node_models": Route(
        lambda c: c.economics.node_models(),
        "GET",
        "/v1/economics/node-models",
        ["dgx-h100"],
        list,
    ),
}

# Element types of list answers, so a list of the wrong model cannot pass.
ITEM_TYPES: dict[str, type] = {
    "orgs.list": Org,
    "projects.list": Project,
    "members.list": Member,
    "keys.list": ApiKey,
    "fleet.nodes": NodeOut,
    "fleet.offerings": Offering,
    "quotas.list": Quota,
    "jobs.list": Job,
    "jobs.events": JobEvent,
    "usage.records": UsageRecord,
    "usage.summary": UsageSummaryRow,
    "prices.list": Price,
    "invoices.generate": Invoice,
    "invoices.list": Invoice,
    "economics.node_models": str,
}


@pytest.mark.parametrize("name", list(ROUTES))
def test_method_follows_the_http_contract(api: Api, name: str) -> None:
    route = ROUTES[name]
    api.on(route.method, route.path, route.answer)

    result = route.call(api.client())

    sent = api.requests[-1]
    assert (sent.method, sent.url.path) == (route.method, route.path)
    assert dict(sent.url.params) == route.query
    if route.body is None:
        assert sent.content == b""
    else:
        assert json.loads(sent.content) == route.body
    assert isinstance(result, route.returns)
    items: Any = result.items if isinstance(result, Page) else result
    if name in ITEM_TYPES:
        assert items and all(isinstance(i, ITEM_TYPES[name]) for i in items)


def test_ids_are_quoted_as_one_path_segment(api: Api) -> None:
    api.on("GET", "/v1/jobs/a/b", s.job())

    api.client().jobs.get("a/b")

    assert api.requests[-1].url.raw_path == b"/v1/jobs/a%2Fb"


def test_health_needs_no_key(api: Api) -> None:
    api.on("GET", "/healthz", {"status": "ok"})

    assert api.client(api_key=None).health() == "ok"
    assert "authorization" not in api.requests[-1].headers
