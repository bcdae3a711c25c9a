"""The audit log: every state-changing call leaves one entry, secrets never; who may read it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from neocloud.server.http.context import Caller, Ctx
from neocloud.server.seed import demo_fleet_text
from neocloud.store.models import ApiKeyRow, AuditRow, OrgRow
from tests.api.conftest import Api
from tests.api.invoice_flow import draft, finalized

NOW = datetime.now(UTC)
JOB = {
    "command": ["python", "-c", "print(1)"],
    "resources": {"gpu_type": "h100", "gpus_per_node": 1},
    "tier": "spot",
    "env": {"HF_TOKEN": "hf-very-private", "MODE": "fast"},
}
TOKENS = {"aggregation": "sum", "unit": "token", "group_by": ["model"]}
HOOK = {"url": "https://hooks.example.com/neocloud", "event_types": ["invoice.finalized"]}


def _event(i: int) -> dict[str, Any]:
    return {
        "id": f"ev-{i:03d}",
        "org": "acme",
        "meter": "input_tokens",
        "value": "10",
        "time": (NOW - timedelta(minutes=1)).isoformat(),
        "dimensions": {"model": "llama"},
    }


def _ok(r: httpx.Response) -> Any:
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def _entries(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Every entry the operator reads with these filters, following the cursor."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = api.http.get("/v1/audit", params={**params, "limit": 50, "cursor": cursor})
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


def _last(api: Api) -> dict[str, Any]:
    return _entries(api)[-1]


def _change(entry: dict[str, Any], table: str, op: str) -> dict[str, Any]:
    found = [c for c in entry["changes"] if c["table"] == table and c["op"] == op]
    assert found, f"no {op} of {table} in {entry['changes']}"
    return found[0]


# Each case: the call (after its own setup), and what its entry must say it changed.
@dataclass(frozen=True)
class Case:
    call: Callable[[Api, httpx.Client], httpx.Response]
    action: str
    table: str
    op: str
    values: dict[str, Any] = field(
        default_factory=dict
    )  # expected in `after` (`before` if deleted)


def _revoke(api: Api, acme: httpx.Client) -> httpx.Response:
    key = _ok(acme.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "member"}))
    return acme.post(f"/v1/keys/{key['id']}/revoke")


def _rotate(api: Api, acme: httpx.Client) -> httpx.Response:
    key = _ok(acme.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "member"}))
    return acme.post(f"/v1/keys/{key['id']}/rotate", json={})


def _delete_hook(api: Api, acme: httpx.Client) -> httpx.Response:
    hook = _ok(acme.post("/v1/webhooks", json=HOOK))
    return acme.delete(f"/v1/webhooks/{hook['id']}")


def _delete_budget(api: Api, acme: httpx.Client) -> httpx.Response:
    budget = _ok(acme.post("/v1/budgets", json={"name": "monthly", "amount": "100"}))
    return acme.delete(f"/v1/budgets/{budget['id']}")


def _cancel(api: Api, acme: httpx.Client) -> httpx.Response:
    job = _ok(acme.post("/v1/jobs", json=JOB))
    return acme.post(f"/v1/jobs/{job['id']}/cancel")


def _usage(api: Api, acme: httpx.Client) -> httpx.Response:
    _ok(api.http.put("/v1/meters/input_tokens", json=TOKENS))
    return api.http.post("/v1/usage/events", json={"events": [_event(i) for i in range(1, 21)]})


def _pay(api: Api, acme: httpx.Client) -> httpx.Response:
    return api.http.post(f"/v1/invoices/{finalized(api)['id']}/pay")


def _void(api: Api, acme: httpx.Client) -> httpx.Response:
    return api.http.post(f"/v1/invoices/{finalized(api)['id']}/void", json={"reason": "test"})


def _credit_note(api: Api, acme: httpx.Client) -> httpx.Response:
    body = {"reason": "outage", "lines": [{"line": 1, "amount": "1.00", "reason": "GPU down"}]}
    return api.http.post(f"/v1/invoices/{finalized(api)['id']}/credit-notes", json=body)


def _generate(api: Api, acme: httpx.Client) -> httpx.Response:
    draft(api)  # records usage and generates once; generating again rebuilds the draft
    return api.http.post("/v1/invoices/generate", json={"period": "2026-11", "org": "acme"})


CASES: dict[str, Case] = {
    "org": Case(
        lambda api, _: api.http.post("/v1/orgs", json={"name": "globex", "kind": "external"}),
        "POST /v1/orgs",
        "orgs",
        "insert",
        {"name": "globex", "kind": "external"},
    ),
    "project": Case(
        lambda _, acme: acme.post("/v1/orgs/acme/projects", json={"name": "vision"}),
        "POST /v1/orgs/{org}/projects",
        "projects",
        "insert",
        {"name": "vision"},
    ),
    "member": Case(
        lambda _, acme: acme.post(
            "/v1/orgs/acme/members", json={"email": "ada@acme.test", "role": "admin"}
        ),
        "POST /v1/orgs/{org}/members",
        "members",
        "insert",
        {"email": "ada@acme.test", "role": "admin"},
    ),
    "key": Case(
        lambda _, acme: acme.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "member"}),
        "POST /v1/keys",
        "api_keys",
        "insert",
        {"name": "ci", "role": "member", "secret_hash": "[redacted]"},
    ),
    "key revoked": Case(_revoke, "POST /v1/keys/{key_id}/revoke", "api_keys", "update"),
    "key rotated": Case(
        _rotate,
        "POST /v1/keys/{key_id}/rotate",
        "api_keys",
        "insert",
        {"name": "ci", "secret_hash": "[redacted]"},
    ),
    "quota": Case(
        lambda api, _: api.http.put(
            "/v1/quotas", json={"org": "acme", "gpu_type": "h100", "gpus": 4}
        ),
        "PUT /v1/quotas",
        "quotas",
        "insert",
        {"gpu_type": "h100", "gpus": 4, "borrow_limit": 0},
    ),
    "sellable cap": Case(
        lambda api, _: api.http.put(
            "/v1/sellable-caps", json={"gpu_type": "h100", "fraction": "0.25"}
        ),
        "PUT /v1/sellable-caps",
        "sellable_caps",
        "insert",
        {"gpu_type": "h100", "fraction": "0.25"},
    ),
    "contract": Case(
        lambda api, _: api.http.post(
            "/v1/contracts",
            json={
                "org": "acme",
                "gpu_type": "h100",
                "gpus": 1,
                "unit_price": "2.10",
                "starts_at": NOW.isoformat(),
                "ends_at": (NOW + timedelta(days=30)).isoformat(),
            },
        ),
        "POST /v1/contracts",
        "contracts",
        "insert",
        {"gpus": 1, "unit_price": "2.1"},
    ),
    "price": Case(
        lambda api, _: api.http.put(
            "/v1/prices",
            json={
                "gpu_type": "h100",
                "tier": "spot",
                "unit_price": "1.23",
                "effective_from": NOW.isoformat(),
            },
        ),
        "PUT /v1/prices",
        "prices",
        "insert",
        {"gpu_type": "h100", "tier": "spot"},
    ),
    "meter": Case(
        lambda api, _: api.http.put("/v1/meters/input_tokens", json=TOKENS),
        "PUT /v1/meters/{name}",
        "meters",
        "insert",
        {"name": "input_tokens", "aggregation": "sum"},
    ),
    "billing terms": Case(
        lambda api, _: api.http.put(
            "/v1/orgs/acme/billing-terms", json={"discount_percent": "10", "tax_rate": "0.20"}
        ),
        "PUT /v1/orgs/{org}/billing-terms",
        "billing_terms",
        "insert",
        {"discount_percent": "10", "tax_rate": "0.2"},
    ),
    "credit grant": Case(
        lambda api, _: api.http.post(
            "/v1/credits/grants", json={"org": "acme", "kind": "prepaid", "amount": "100"}
        ),
        "POST /v1/credits/grants",
        "credit_grants",
        "insert",
        {"kind": "prepaid", "amount": "100"},
    ),
    "webhook": Case(
        lambda _, acme: acme.post("/v1/webhooks", json=HOOK),
        "POST /v1/webhooks",
        "webhook_endpoints",
        "insert",
        {"url": HOOK["url"], "secret": "[redacted]"},
    ),
    "webhook deleted": Case(
        _delete_hook, "DELETE /v1/webhooks/{webhook_id}", "webhook_endpoints", "update"
    ),
    "budget": Case(
        lambda _, acme: acme.post("/v1/budgets", json={"name": "monthly", "amount": "100"}),
        "POST /v1/budgets",
        "budgets",
        "insert",
        {"name": "monthly", "amount": "100"},
    ),
    "budget deleted": Case(
        _delete_budget, "DELETE /v1/budgets/{budget_id}", "budgets", "delete", {"name": "monthly"}
    ),
    "job": Case(
        lambda _, acme: acme.post("/v1/jobs", json=JOB),
        "POST /v1/jobs",
        "jobs",
        "insert",
        {"tier": "spot", "env": {"HF_TOKEN": "[redacted]", "MODE": "[redacted]"}},
    ),
    "job cancelled": Case(_cancel, "POST /v1/jobs/{job_id}/cancel", "jobs", "update"),
    "usage batch": Case(_usage, "POST /v1/usage/events", "usage_events", "insert"),
    "fleet": Case(
        lambda api, _: api.http.put("/v1/fleet", json={"yaml": demo_fleet_text()}),
        "PUT /v1/fleet",
        "fleet_files",
        "insert",
    ),
    "invoice generated": Case(_generate, "POST /v1/invoices/generate", "invoice_lines", "insert"),
    "invoice finalized": Case(
        lambda api, _: api.http.post(f"/v1/invoices/{draft(api)['id']}/finalize"),
        "POST /v1/invoices/{invoice_id}/finalize",
        "invoices",
        "update",
        {"status": "finalized"},
    ),
    "invoice paid": Case(
        _pay, "POST /v1/invoices/{invoice_id}/pay", "invoices", "update", {"status": "paid"}
    ),
    "invoice voided": Case(
        _void, "POST /v1/invoices/{invoice_id}/void", "invoices", "update", {"status": "void"}
    ),
    "credit note": Case(
        _credit_note,
        "POST /v1/invoices/{invoice_id}/credit-notes",
        "credit_notes",
        "insert",
        {"reason": "outage"},
    ),
}


def _secrets(api: Api) -> list[str]:
    """What must never reach the log: key secrets and hashes, webhook secrets."""
    with api.ctx.db.session() as s:
        hashes = list(s.scalars(select(ApiKeyRow.secret_hash)))
    return [api.operator_key, *hashes]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_change_leaves_an_entry_with_before_and_after_and_no_secret(
    api: Api, case: Case
) -> None:
    acme = api.new_org("acme")
    r = case.call(api, acme)
    assert r.status_code < 300, r.text
    entry = _last(api)
    assert (entry["action"], entry["outcome"], entry["status"]) == (
        case.action,
        "success",
        r.status_code,
    )
    assert entry["client"] == "testclient" and entry["key_id"] and entry["role"]
    change = _change(entry, case.table, case.op)
    if "count" not in change:
        shown = change["before"] if case.op == "delete" else change["after"]
        assert {k: shown[k] for k in case.values} == case.values
        if case.op == "update":
            assert change["before"].keys() == change["after"].keys()
            assert change["before"] != change["after"]
    logged = json.dumps(_entries(api))
    for secret in [*_secrets(api), acme.headers["Authorization"].split()[1]]:
        assert secret not in logged
    assert "whsec_" not in logged and "hf-very-private" not in logged


def test_high_volume_rows_are_counted_not_copied(api: Api) -> None:
    api.new_org("acme")
    _usage(api, api.http)
    entry = _last(api)
    assert _change(entry, "usage_events", "insert") == {
        "table": "usage_events",
        "op": "insert",
        "count": 20,
        "first_id": "ev-001",
        "last_id": "ev-020",
        "orgs": [entry["org_id"]],
    }
    assert "llama" not in json.dumps(entry)


def test_the_entry_belongs_to_the_org_whose_rows_changed(api: Api) -> None:
    acme = api.new_org("acme")
    me = acme.get("/v1/me").json()
    api.http.put("/v1/quotas", json={"org": "acme", "gpu_type": "h100", "gpus": 4})
    entry = _last(api)
    operator = api.http.get("/v1/me").json()
    assert (entry["org_id"], entry["actor_org_id"], entry["key_id"], entry["role"]) == (
        me["org_id"],
        operator["org_id"],
        operator["key_id"],
        "operator",
    )
    api.http.put("/v1/sellable-caps", json={"gpu_type": "h100", "fraction": "0.5"})
    assert _last(api)["org_id"] is None  # platform-wide: the operator's to read


def test_an_update_records_only_what_changed(api: Api) -> None:
    api.new_org("acme")
    quota = {"org": "acme", "gpu_type": "h100", "gpus": 4}
    _ok(api.http.put("/v1/quotas", json=quota))
    _ok(api.http.put("/v1/quotas", json={**quota, "gpus": 6}))
    change = _change(_last(api), "quotas", "update")
    assert (change["before"], change["after"]) == ({"gpus": 4}, {"gpus": 6})


@pytest.mark.parametrize(
    ("call", "status", "code"),
    [
        (
            lambda c: c.post("/v1/orgs", json={"name": "globex", "kind": "external"}),
            403,
            "forbidden",
        ),
        (
            lambda c: c.post("/v1/keys", json={"org": "acme", "name": "x", "role": "nope"}),
            422,
            "invalid_request",
        ),
        (lambda c: c.post("/v1/jobs/job_missing/cancel"), 404, "not_found"),
        (lambda c: c.delete("/v1/budgets/bud_missing"), 404, "not_found"),
    ],
    ids=["forbidden", "invalid", "missing-job", "missing-budget"],
)
def test_a_refused_call_is_recorded_with_its_status_and_code(
    api: Api, call: Callable[[httpx.Client], httpx.Response], status: int, code: str
) -> None:
    acme = api.new_org("acme")
    me = acme.get("/v1/me").json()
    r = call(acme)
    assert r.status_code == status, r.text
    entry = _last(api)
    assert (entry["outcome"], entry["status"], entry["error_code"], entry["changes"]) == (
        "refused",
        status,
        code,
        [],
    )
    assert (entry["key_id"], entry["org_id"]) == (me["key_id"], me["org_id"])


def test_a_call_without_a_valid_key_is_recorded_for_the_operator(api: Api) -> None:
    r = api.as_key("nck_000000000000_wrong").post("/v1/orgs", json={"name": "x"})
    assert r.status_code == 401
    entry = _last(api)
    assert (entry["outcome"], entry["status"], entry["key_id"], entry["org_id"]) == (
        "refused",
        401,
        None,
        None,
    )
    assert "wrong" not in json.dumps(entry)


def test_reads_and_refused_reads_leave_no_entry(api: Api) -> None:
    acme = api.new_org("acme")
    before = len(_entries(api))
    acme.get("/v1/jobs")
    acme.get("/v1/jobs/job_missing")
    api.http.get("/v1/audit")
    assert len(_entries(api)) == before


def test_a_replayed_creation_changes_nothing_and_adds_nothing(api: Api) -> None:
    acme = api.new_org("acme")
    headers = {"Idempotency-Key": "once"}
    _ok(acme.post("/v1/orgs/acme/projects", json={"name": "vision"}, headers=headers))
    before = len(_entries(api))
    _ok(acme.post("/v1/orgs/acme/projects", json={"name": "vision"}, headers=headers))
    assert len(_entries(api)) == before


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("admin", 200), ("member", 403), ("billing", 403), ("viewer", 403)],
)
def test_owners_and_admins_read_their_own_org_only(api: Api, role: str, status: int) -> None:
    api.new_org("acme")
    globex = api.new_org("globex")
    _ok(globex.post("/v1/orgs/globex/projects", json={"name": "secret-plans"}))
    key = _ok(api.http.post("/v1/keys", json={"org": "acme", "name": "r", "role": role}))
    reader = api.as_key(key["secret"])
    _ok(api.http.post("/v1/orgs/acme/projects", json={"name": "vision"}))
    r = reader.get("/v1/audit")
    assert r.status_code == status, r.text
    if status != 200:
        return
    acme_id = reader.get("/v1/me").json()["org_id"]
    items = r.json()["items"]
    assert items and {e["org_id"] for e in items} == {acme_id}
    assert "secret-plans" not in r.text
    assert reader.get("/v1/audit", params={"org": "globex"}).status_code == 404
    assert reader.get("/v1/audit/export", params={"org": "globex"}).status_code == 404


def test_a_project_scoped_key_cannot_read_the_log(api: Api) -> None:
    acme = api.new_org("acme")
    project = _ok(acme.post("/v1/orgs/acme/projects", json={"name": "vision"}))
    key = _ok(
        acme.post(
            "/v1/keys", json={"org": "acme", "name": "p", "role": "admin", "project": project["id"]}
        )
    )
    assert api.as_key(key["secret"]).get("/v1/audit").status_code == 403


def test_the_operator_reads_every_org(api: Api) -> None:
    for name in ("acme", "globex"):
        client = api.new_org(name)
        _ok(client.post(f"/v1/orgs/{name}/projects", json={"name": "p"}))
    orgs = {e["org_id"] for e in _entries(api, action="POST /v1/orgs/{org}/projects")}
    assert len(orgs) == 2


def test_filters_narrow_the_entries(api: Api) -> None:
    acme = api.new_org("acme")
    globex = api.new_org("globex")
    hook = _ok(acme.post("/v1/webhooks", json=HOOK))
    _ok(globex.post("/v1/orgs/globex/projects", json={"name": "p"}))
    acme.post("/v1/jobs/job_missing/cancel")
    key_id = acme.get("/v1/me").json()["key_id"]
    everything = _entries(api)

    def ids(**params: Any) -> set[str]:
        return {e["id"] for e in _entries(api, **params)}

    acme_id = acme.get("/v1/me").json()["org_id"]
    assert ids(org="acme") == {e["id"] for e in everything if e["org_id"] == acme_id}
    assert ids(key=key_id) == {e["id"] for e in everything if e["key_id"] == key_id}
    assert len(ids(action="POST /v1/webhooks")) == 1
    assert ids(action="POST") == {e["id"] for e in everything if e["action"].startswith("POST ")}
    assert len(ids(target=f"webhook_endpoints:{hook['id']}")) == 1
    assert len(ids(target="webhook_endpoints")) == 1
    assert [e["status"] for e in _entries(api, outcome="refused")] == [404]
    first, last = everything[0]["at"], everything[-1]["at"]
    assert ids(**{"from": first, "to": last}) == {e["id"] for e in everything[:-1]}
    assert ids(**{"from": (NOW + timedelta(days=1)).isoformat()}) == set()
    r = api.http.get("/v1/audit", params={"outcome": "maybe"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "outcome"


def test_pages_follow_the_cursor_without_gaps_or_repeats(api: Api) -> None:
    acme = api.new_org("acme")
    for i in range(7):
        _ok(acme.post("/v1/orgs/acme/projects", json={"name": f"p{i}"}))
    everything = _entries(api)
    pages, cursor = [], None
    while True:
        body = api.http.get("/v1/audit", params={"limit": 3, "cursor": cursor}).json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert all(len(p) <= 3 for p in pages)
    assert [e["id"] for p in pages for e in p] == [e["id"] for e in everything]
    assert len({e["id"] for e in everything}) == len(everything) >= 9


def test_the_export_is_json_lines_of_the_selected_entries(api: Api) -> None:
    acme = api.new_org("acme")
    for i in range(3):
        _ok(acme.post("/v1/orgs/acme/projects", json={"name": f"p{i}"}))
    r = api.http.get("/v1/audit/export", params={"action": "POST /v1/orgs/{org}/projects"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines == _entries(api, action="POST /v1/orgs/{org}/projects")
    assert len(lines) == 3


def test_no_code_path_can_update_or_delete_an_entry(api: Api) -> None:
    api.new_org("acme")
    for change in (update(AuditRow).values(outcome="success"), delete(AuditRow)):
        with pytest.raises(DBAPIError, match="append-only"), api.ctx.db.session() as s:
            s.execute(change)
    with pytest.raises(DBAPIError, match="append-only"), api.ctx.db.session() as s:
        s.execute(text("DELETE FROM audit_log"))
    assert len(_entries(api)) >= 2


def test_a_change_that_rolls_back_leaves_no_success_entry(api: Api) -> None:
    acme = api.new_org("acme")
    _ok(acme.post("/v1/orgs/acme/projects", json={"name": "vision"}))
    before = len(_entries(api, outcome="success"))
    r = acme.post("/v1/orgs/acme/projects", json={"name": "vision"})  # the name is taken
    assert r.status_code == 409, r.text
    assert len(_entries(api, outcome="success")) == before
    assert _last(api)["outcome"] == "refused"


def test_a_route_that_knows_nothing_of_the_audit_log_is_audited(api: Api) -> None:
    """The listener, not the route, writes the entry: ORM changes and core statements alike."""
    app = api.http.app

    @app.post("/v1/test-only/rename")
    def rename(ctx: Ctx, p: Caller) -> dict[str, str]:
        with ctx.db.session() as s:
            org = s.get(OrgRow, p.org_id)
            assert org is not None
            org.display_name = "Acme Corp"
            s.flush()
            s.execute(update(OrgRow).where(OrgRow.id == p.org_id).values(fair_share_weight=3))
        return {}

    acme = api.new_org("acme")
    _ok(acme.post("/v1/test-only/rename"))
    entry = _last(api)
    assert entry["action"] == "POST /v1/test-only/rename"
    assert entry["org_id"] == acme.get("/v1/me").json()["org_id"]
    row = _change(entry, "orgs", "update")
    assert (row["before"], row["after"]) == ({"display_name": None}, {"display_name": "Acme Corp"})
    statement = [c for c in entry["changes"] if "count" in c]
    assert statement == [
        {"table": "orgs", "op": "update", "count": 1, "first_id": None, "last_id": None, "orgs": []}
    ]
