"""The authorization matrix: every route × caller × target, as tests/security/authz_expectations.py
says.

One world per database backend (two external orgs, two projects each, a key of every role,
a job per project, an invoice with a credit note, a webhook and a budget per org) serves every
route's test; each test tries its route as every caller against every target it can name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from neocloud.domain.tenancy import Permission, Role, allows
from neocloud.server.app import create_app
from neocloud.server.embedded import local_engine
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import AppContext, ServerSettings
from neocloud.server.seed import operator_key, seed
from neocloud.store.db import Database
from neocloud.store.models import Base
from tests.api.conftest import Api
from tests.api.invoice_flow import draft, finalize
from tests.security.authz_expectations import EXPECTATIONS, WEBHOOK, Rule, Scope

ORGS = ("mx-a", "mx-b")
OWN, OTHER_PROJECT, FOREIGN_ORG = "own", "other-project", "foreign-org"
# (org, project) each target names; project 1 of org A is the project-scoped key's own.
TARGETS = {
    OWN: ("mx-a", "mx-a-p1"),
    OTHER_PROJECT: ("mx-a", "mx-a-p2"),
    FOREIGN_ORG: ("mx-b", "mx-b-p1"),
}
PROJECT_LEVEL_IDS = ("job_id", "key_id")
METER = "mx_tokens"


@dataclass(frozen=True)
class Caller:
    """Who calls: a role, and whether the key is scoped to project 1 of org A."""

    name: str
    role: Role
    project_scoped: bool = False


CALLERS = (
    *(Caller(r.value, r) for r in (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.BILLING, Role.VIEWER)),
    Caller("operator", Role.OPERATOR),
    Caller("project-key", Role.OWNER, project_scoped=True),
)


@dataclass
class World:
    """The app, a client per caller, and the ids of everything each org and project holds."""

    api: Api
    clients: dict[str, TestClient] = field(default_factory=dict)
    # (org, project or None) -> resource name -> id
    ids: dict[tuple[str, str | None], dict[str, str]] = field(default_factory=dict)

    def value(self, name: str, target: str) -> str:
        """A path parameter for a target."""
        org, project = TARGETS[target]
        if name == "org":
            return org
        if name == "name":
            return METER
        if name in PROJECT_LEVEL_IDS:
            return self.ids[(org, project)][name]
        return self.ids[(org, None)][name]

    def fresh(self, name: str, target: str) -> str:
        """A new resource for a call that deletes it, so every caller finds one to delete."""
        org = TARGETS[target][0]
        op = self.api.http
        if name == "webhook_id":
            r = op.post("/v1/webhooks", json={**WEBHOOK, "org": org})
        elif name == "budget_id":
            r = op.post("/v1/budgets", json={"name": "fresh", "amount": "10", "org": org})
        else:
            return self.value(name, target)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def hidden_from(self, caller: Caller) -> set[str]:
        """Ids a caller must never read: org B's, and for a project key org A's other project's
        and org A's org-wide keys."""
        hidden = {i for (org, _), ids in self.ids.items() if org == "mx-b" for i in ids.values()}
        if caller.project_scoped:
            hidden |= set(self.ids[("mx-a", "mx-a-p2")].values())
            hidden |= {
                i
                for k, i in self.ids[("mx-a", None)].items()
                if k.startswith("caller_key:") and k != f"caller_key:{caller.name}"
            }
        return hidden


def _empty(db: Database) -> None:
    with db.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Two external orgs with two projects each and everything the routes' paths name."""
    tmp = tmp_path_factory.mktemp("matrix")
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp / 'matrix.db'}")
        db.migrate()
    else:
        db = request.getfixturevalue("pg_database")
        _empty(db)
    ctx = AppContext(
        settings=ServerSettings(database_url=db.url, data_dir=tmp, run_loops=False),
        db=db,
        engines=EngineRegistry(),
    )
    with db.session() as s:
        seed(s, utcnow(), None)
        key = operator_key(s, utcnow()).secret
    ctx.engines = EngineRegistry({"local": local_engine(ctx)})
    http = TestClient(create_app(ctx))
    http.headers["Authorization"] = f"Bearer {key}"
    w = World(Api(ctx, http, key))
    _build(w)
    yield w
    if request.param == "sqlite":
        db.dispose()


def _ok(r: Any, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return dict(r.json())


def _build(w: World) -> None:
    op = w.api.http
    _ok(op.put(f"/v1/meters/{METER}", json={"aggregation": "sum", "unit": "tokens"}), 200)
    for org in ORGS:
        org_ids = w.ids.setdefault((org, None), {})
        org_ids["org_id"] = _ok(op.post("/v1/orgs", json={"name": org, "kind": "external"}))["id"]
        for n in (1, 2):
            project = f"{org}-p{n}"
            ids = w.ids.setdefault((org, project), {})
            ids["project_id"] = _ok(op.post(f"/v1/orgs/{org}/projects", json={"name": project}))[
                "id"
            ]
            job = {
                "org": org,
                "project": project,
                "command": ["true"],
                "tier": "spot",
                "resources": {"gpu_type": "h100", "gpus_per_node": 1},
            }
            ids["job_id"] = _ok(op.post("/v1/jobs", json=job))["id"]
            victim = {"org": org, "name": "victim", "role": "member", "project": project}
            ids["key_id"] = _ok(op.post("/v1/keys", json=victim))["id"]
        invoice = finalize(w.api, draft(w.api, org)["id"])
        org_ids["invoice_id"] = invoice["id"]
        note = {"reason": "setup", "lines": [{"line": 1, "amount": "0.01", "reason": "setup"}]}
        org_ids["note_id"] = _ok(op.post(f"/v1/invoices/{invoice['id']}/credit-notes", json=note))[
            "id"
        ]
        events = _ok(op.get("/v1/events", params={"org": org}), 200)["items"]
        org_ids["event_id"] = events[0]["id"]
        org_ids["webhook_id"] = _ok(op.post("/v1/webhooks", json={**WEBHOOK, "org": org}))["id"]
        budget = {"name": "setup", "amount": "100", "org": org}
        org_ids["budget_id"] = _ok(op.post("/v1/budgets", json=budget))["id"]
    w.clients["operator"] = op
    for caller in CALLERS:
        if caller.role is Role.OPERATOR:
            continue
        body: dict[str, Any] = {"org": "mx-a", "name": caller.name, "role": caller.role.value}
        if caller.project_scoped:
            body["project"] = "mx-a-p1"
        created = _ok(op.post("/v1/keys", json=body))
        w.ids[("mx-a", None)][f"caller_key:{caller.name}"] = created["id"]
        w.clients[caller.name] = w.api.as_key(created["secret"])


def _fill(template: Any, target: str, caller: Caller) -> Any:
    """A params or body template with the target's names in place of its placeholders."""
    org, project = TARGETS[target]
    if isinstance(template, dict):
        out = {}
        for k, v in template.items():
            if v == "{operator_org}":
                if caller.role is Role.OPERATOR:
                    out[k] = org
                continue
            out[k] = _fill(v, target, caller)
        return out
    if isinstance(template, list):
        return [_fill(v, target, caller) for v in template]
    if isinstance(template, str):
        return (
            template.replace("{org}", org)
            .replace("{project}", project)
            .replace("{now}", utcnow().isoformat())
        )
    return template


def _targets(path: str, rule: Rule) -> list[str]:
    """The targets a route can be pointed at: org B when it names anything of the target's,
    org A's other project too when it names a project-level thing."""
    if rule.scope not in (Scope.ORG, Scope.PROJECT):
        return [OWN]
    named = json.dumps([rule.params, rule.body])
    addressable = "{" in path or "{org}" in named or "{project}" in named
    project_level = "{project}" in named or any(f"{{{n}}}" in path for n in PROJECT_LEVEL_IDS)
    targets = [OWN]
    if addressable:
        targets.append(FOREIGN_ORG)
    if rule.scope is Scope.PROJECT and project_level:
        targets.append(OTHER_PROJECT)
    return targets


ALLOWED, FORBIDDEN, HIDDEN, REFUSED = "allowed", "403", "404", "403 or 404"


def expected(rule: Rule, caller: Caller, target: str) -> str:
    """What the matrix expects for a caller against a target under a rule."""
    if rule.scope is Scope.PUBLIC:
        return ALLOWED
    if caller.project_scoped and rule.scope in (Scope.ORG, Scope.PLATFORM):
        return FORBIDDEN
    needs = rule.needs
    wanted: tuple[Permission, ...] = (
        () if needs is None else (needs,) if isinstance(needs, Permission) else needs
    )
    has = not wanted or any(allows(caller.role, w) for w in wanted)
    if caller.role is Role.OPERATOR:
        return ALLOWED if has else FORBIDDEN
    outside = target == FOREIGN_ORG or (target == OTHER_PROJECT and caller.project_scoped)
    if not has:
        return REFUSED if outside else FORBIDDEN
    return HIDDEN if outside else ALLOWED


def _meets(status: int, outcome: str) -> bool:
    if outcome == ALLOWED:
        return status < 500 and status not in (401, 403, 404)
    if outcome == REFUSED:
        return status in (403, 404)
    return str(status) == outcome


def _url(world: World, method: str, path: str, target: str) -> str:
    """The path with the target's ids; a DELETE gets a resource of its own to delete."""
    make = world.fresh if method == "DELETE" else world.value
    return re.sub(r"\{(\w+)\}", lambda m: make(m.group(1), target), path)


def test_every_route_in_the_openapi_document_has_an_expectation(world: World) -> None:
    spec = world.api.http.get("/openapi.json").json()
    routes = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    missing = sorted(routes - EXPECTATIONS.keys())
    stale = sorted(EXPECTATIONS.keys() - routes)
    assert not missing, (
        f"routes without an authorization expectation: {missing}; add an entry for each to "
        "tests/security/authz_expectations.py (its docstring says how)"
    )
    assert not stale, f"expectations for routes that no longer exist: {stale}"


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTATIONS), ids=lambda v: str(v))
def test_route_authorization(world: World, method: str, path: str) -> None:
    rule = EXPECTATIONS[(method, path)]
    failures = []
    for caller in CALLERS:
        client = world.clients[caller.name]
        if rule.scope is Scope.PUBLIC:
            client = TestClient(world.api.http.app)  # no key at all
        for target in _targets(path, rule):
            url = _url(world, method, path, target)
            r = client.request(
                method,
                url,
                params=_fill(rule.params, target, caller),
                json=_fill(rule.body, target, caller) if rule.body is not None else None,
            )
            outcome = expected(rule, caller, target)
            if not _meets(r.status_code, outcome):
                failures.append(
                    f"{caller.name} → {target}: {r.status_code}, expected {outcome}: {r.text[:200]}"
                )
            elif outcome == ALLOWED and caller.role is not Role.OPERATOR:
                leaked = sorted(i for i in world.hidden_from(caller) if i in r.text)
                if leaked:
                    failures.append(f"{caller.name} → {target}: the answer names {leaked}")
    assert not failures, f"{method} {path}:\n" + "\n".join(failures)
