"""Keys and tenancy: who may call what, and another org's resources are 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing API key"),
        ("Basic abc", "malformed Authorization header"),
        ("Bearer nope", "invalid API key"),
        ("Bearer nck_000000000000_wrongsecret", "invalid API key"),
    ],
    ids=["missing", "not-bearer", "garbage", "unknown-prefix"],
)
def test_bad_credentials_are_401_with_a_reason(api: Api, header: str | None, message: str) -> None:
    c = api.as_key("x")
    if header is None:
        del c.headers["Authorization"]
    else:
        c.headers["Authorization"] = header
    r = c.get("/v1/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert message in r.json()["error"]["message"]


def test_a_key_is_shown_once_stored_hashed_and_revocable(api: Api) -> None:
    api.http.post("/v1/orgs", json={"name": "acme", "kind": "external"})
    created = api.http.post("/v1/keys", json={"org": "acme", "name": "ci"}).json()
    secret = created["secret"]
    listed = api.http.get("/v1/keys", params={"org": "acme"}).json()["items"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "secret" not in listed[0]
    acme = api.as_key(secret)
    assert acme.get("/v1/me").json()["org_name"] == "acme"
    assert api.http.get("/v1/keys", params={"org": "acme"}).json()["items"][0]["last_used_at"]
    assert api.http.post(f"/v1/keys/{created['id']}/revoke").status_code == 200
    r = acme.get("/v1/me")
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    with api.ctx.db.session() as s:
        from neocloud.store.models import ApiKeyRow

        row = s.get(ApiKeyRow, created["id"])
        assert row is not None and secret not in row.secret_hash and len(row.secret_hash) == 64


def test_an_expired_key_is_refused(api: Api) -> None:
    api.http.post("/v1/orgs", json={"name": "acme", "kind": "external"})
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    secret = api.http.post(
        "/v1/keys", json={"org": "acme", "name": "t", "expires_at": soon}
    ).json()["secret"]
    from neocloud.store.models import ApiKeyRow

    with api.ctx.db.session() as s:
        for row in s.query(ApiKeyRow).filter(ApiKeyRow.name == "t"):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    r = api.as_key(secret).get("/v1/me")
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]


def test_past_expiry_is_rejected_at_creation(api: Api) -> None:
    api.http.post("/v1/orgs", json={"name": "acme", "kind": "external"})
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = api.http.post("/v1/keys", json={"org": "acme", "name": "t", "expires_at": past})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "expires_at"


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("member", "post", "/v1/orgs", {"name": "x", "kind": "external"}),
        (
            "viewer",
            "post",
            "/v1/jobs",
            {
                "command": ["true"],
                "tier": "spot",
                "resources": {"gpu_type": "h100", "gpus_per_node": 1},
            },
        ),
        ("member", "get", "/v1/invoices", None),
        ("owner", "get", "/v1/fleet/nodes", None),
        ("owner", "get", "/v1/margin", None),
        (
            "admin",
            "put",
            "/v1/prices",
            {
                "gpu_type": "h100",
                "tier": "spot",
                "unit_price": "0.01",
                "effective_from": "2026-01-01T00:00:00Z",
            },
        ),
    ],
    ids=[
        "member-creates-org",
        "viewer-submits",
        "member-reads-invoices",
        "owner-lists-nodes",
        "owner-reads-margin",
        "admin-sets-price",
    ],
)
def test_roles_limit_what_a_key_may_do(
    api: Api, role: str, method: str, path: str, body: object
) -> None:
    c = api.new_org("acme", role=role) if role != "owner" else api.new_org("acme")
    r = getattr(c, method)(path, json=body) if body is not None else getattr(c, method)(path)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "forbidden"


def test_orgs_are_invisible_to_each_other(api: Api) -> None:
    acme = api.new_org("acme")
    api.new_org("globex")
    assert acme.get("/v1/orgs/globex").status_code == 404
    assert acme.get("/v1/orgs/research").status_code == 404
    assert [o["name"] for o in acme.get("/v1/orgs").json()["items"]] == ["acme"]
    assert acme.get("/v1/keys", params={"org": "globex"}).status_code == 404
    assert acme.get("/v1/quotas", params={"org": "research"}).status_code == 404


def test_a_key_cannot_mint_a_stronger_key(api: Api) -> None:
    admin = api.new_org("acme", role="admin")
    r = admin.post("/v1/keys", json={"org": "acme", "name": "x", "role": "owner"})
    assert r.status_code == 403
    r = admin.post("/v1/keys", json={"org": "acme", "name": "x", "role": "operator"})
    assert r.status_code == 422


def test_external_orgs_see_offerings_not_nodes_or_internal_prices(api: Api) -> None:
    acme = api.new_org("acme")
    offers = acme.get("/v1/offerings").json()
    assert {o["gpu_type"] for o in offers} == {"h100", "a100"}
    for o in offers:
        assert "internal" not in o["prices"]
        assert set(o) == {"gpu_type", "max_gpus_per_node", "prices", "currency"}
    assert acme.get("/v1/fleet").status_code == 403
    assert all(p["tier"] != "internal" for p in acme.get("/v1/prices").json())


def test_pagination_walks_every_org_once(api: Api) -> None:
    for i in range(7):
        api.http.post("/v1/orgs", json={"name": f"org-{i}", "kind": "external"})
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.http.get("/v1/orgs", params=params).json()
        seen += [o["name"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted([f"org-{i}" for i in range(7)] + ["platform", "research"])
    assert len(seen) == len(set(seen))


def test_idempotency_key_replays_the_first_response(api: Api) -> None:
    body = {"name": "acme", "kind": "external"}
    h = {"Idempotency-Key": "create-acme-1"}
    first = api.http.post("/v1/orgs", json=body, headers=h)
    again = api.http.post("/v1/orgs", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = api.http.post("/v1/orgs", json={"name": "other", "kind": "external"}, headers=h)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert api.http.get("/v1/orgs/other").status_code == 404


# -- roles form a lattice -----------------------------------------------------------------------

ORG_ROLES = ("owner", "admin", "member", "billing", "viewer")
# Who may give out which role: exactly the roles whose permissions are all the granter's own.
# An admin may not grant billing (billing manages budgets, admins do not); members, billing and
# viewers manage no keys at all.
GRANTABLE = {
    "operator": {"owner", "admin", "member", "billing", "viewer"},
    "owner": {"owner", "admin", "member", "billing", "viewer"},
    "admin": {"admin", "member", "viewer"},
    "member": set(),
    "billing": set(),
    "viewer": set(),
}


def _org_with_keys(api: Api, roles: tuple[str, ...] = ORG_ROLES) -> dict[str, dict[str, str]]:
    """Org acme with one org-wide key per role (created by the operator): role -> key."""
    assert api.http.post("/v1/orgs", json={"name": "acme", "kind": "external"}).status_code == 201
    keys = {}
    for role in roles:
        r = api.http.post("/v1/keys", json={"org": "acme", "name": role, "role": role})
        assert r.status_code == 201, r.text
        keys[role] = r.json()
    return keys


@pytest.mark.parametrize("granted", [*ORG_ROLES, "operator"])
@pytest.mark.parametrize("granter", ["operator", *ORG_ROLES])
def test_a_key_grants_only_roles_within_its_own_permissions(
    api: Api, granter: str, granted: str
) -> None:
    keys = _org_with_keys(api)
    c = api.http if granter == "operator" else api.as_key(keys[granter]["secret"])
    r = c.post("/v1/keys", json={"org": "acme", "name": "new", "role": granted})
    if granted == "operator":  # never in a customer org, whoever asks
        assert r.status_code in (403, 422), r.text
        return
    if granted in GRANTABLE[granter]:
        assert r.status_code == 201, r.text
        assert r.json()["role"] == granted
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
    # Members follow the same lattice as keys.
    m = c.post("/v1/orgs/acme/members", json={"email": f"{granted}@acme.test", "role": granted})
    assert m.status_code == (201 if granted in GRANTABLE[granter] else 403), m.text


@pytest.mark.parametrize("target", ORG_ROLES)
@pytest.mark.parametrize("revoker", ["operator", *ORG_ROLES])
def test_a_key_revokes_only_keys_whose_role_it_could_grant(
    api: Api, revoker: str, target: str
) -> None:
    keys = _org_with_keys(api)
    victim = api.http.post("/v1/keys", json={"org": "acme", "name": "victim", "role": target})
    c = api.http if revoker == "operator" else api.as_key(keys[revoker]["secret"])
    r = c.post(f"/v1/keys/{victim.json()['id']}/revoke")
    assert r.status_code == (200 if target in GRANTABLE[revoker] else 403), r.text


def test_any_key_may_revoke_itself(api: Api) -> None:
    keys = _org_with_keys(api, ("owner", "viewer"))
    viewer = api.as_key(keys["viewer"]["secret"])
    # A viewer holds no MANAGE_ORG, so even its own key goes through an admin or owner.
    assert viewer.post(f"/v1/keys/{keys['viewer']['id']}/revoke").status_code == 403
    admin = api.http.post("/v1/keys", json={"org": "acme", "name": "a", "role": "admin"}).json()
    r = api.as_key(admin["secret"]).post(f"/v1/keys/{admin['id']}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"]


def test_the_last_owner_key_of_an_org_cannot_be_revoked(api: Api) -> None:
    keys = _org_with_keys(api, ("owner",))
    first = keys["owner"]
    owner = api.as_key(first["secret"])
    assert owner.post("/v1/orgs/acme/projects", json={"name": "train"}).status_code == 201
    # A project-scoped owner key does not manage the org, so it does not count as another owner.
    scoped = owner.post("/v1/keys", json={"org": "acme", "name": "p", "project": "train"})
    assert scoped.status_code == 201
    for c in (owner, api.http):
        r = c.post(f"/v1/keys/{first['id']}/revoke")
        assert r.status_code == 409, r.text
        assert "last active owner key" in r.json()["error"]["message"]
    second = owner.post("/v1/keys", json={"org": "acme", "name": "o2", "role": "owner"}).json()
    assert owner.post(f"/v1/keys/{first['id']}/revoke").status_code == 200
    assert api.http.post(f"/v1/keys/{second['id']}/revoke").status_code == 409
    assert api.as_key(second["secret"]).get("/v1/me").status_code == 200


def test_the_last_operator_key_cannot_be_revoked(api: Api) -> None:
    me = api.http.get("/v1/me").json()
    r = api.http.post(f"/v1/keys/{me['key_id']}/revoke")
    assert r.status_code == 409 and "last active operator key" in r.json()["error"]["message"]
    spare = api.http.post(
        "/v1/keys", json={"org": "platform", "name": "spare", "role": "operator"}
    ).json()
    assert api.http.post(f"/v1/keys/{me['key_id']}/revoke").status_code == 200
    assert api.as_key(spare["secret"]).post(f"/v1/keys/{spare['id']}/revoke").status_code == 409


# -- project-scoped keys stay in their project -------------------------------------------------


def _project_key(api: Api) -> tuple[TestClient, TestClient, dict[str, str]]:
    """acme with projects train and serve; its owner, and an owner-role key scoped to train."""
    owner = api.new_org("acme")
    for name in ("train", "serve"):
        assert owner.post("/v1/orgs/acme/projects", json={"name": name}).status_code == 201
    body = {"org": "acme", "name": "ci", "project": "train", "role": "owner"}
    scoped = owner.post("/v1/keys", json=body).json()
    return owner, api.as_key(scoped["secret"]), scoped


def test_a_project_key_mints_keys_only_for_its_project(api: Api) -> None:
    owner, train, scoped = _project_key(api)
    r = train.post("/v1/keys", json={"org": "acme", "name": "x", "project": "serve"})
    assert r.status_code == 404
    own = train.post("/v1/keys", json={"org": "acme", "name": "x", "role": "member"}).json()
    assert own["project_id"] == scoped["project_id"]
    named = train.post("/v1/keys", json={"org": "acme", "name": "y", "project": "train"})
    assert named.json()["project_id"] == scoped["project_id"]
    listed = {k["id"] for k in train.get("/v1/keys").json()["items"]}
    assert listed == {scoped["id"], own["id"], named.json()["id"]}
    org_key = owner.get("/v1/me").json()["key_id"]
    assert train.post(f"/v1/keys/{org_key}/revoke").status_code == 404
    assert owner.get("/v1/me").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/v1/invoices",
        "/v1/events",
        "/v1/credits",
        "/v1/budgets",
        "/v1/webhooks",
        "/v1/orgs/acme/members",
        "/v1/orgs/acme/billing-terms",
        "/v1/usage/events",
        "/v1/exports/usage.csv",
    ],
)
def test_a_project_key_is_refused_org_wide_data(api: Api, path: str) -> None:
    _, train, _ = _project_key(api)
    r = train.get(path)
    assert r.status_code == 403, r.text
    assert "project-scoped key" in r.json()["error"]["message"]


def test_a_project_key_reads_the_spend_of_its_project_only(api: Api) -> None:
    owner, train, scoped = _project_key(api)
    assert train.get("/v1/spend").json()["project_id"] == scoped["project_id"]
    assert train.get("/v1/spend", params={"project": "serve"}).status_code == 404
    assert owner.get("/v1/spend").json()["project_id"] is None


# -- Idempotency-Key: authorized first, bound to the key ---------------------------------------

JOB = {"command": ["true"], "tier": "spot", "resources": {"gpu_type": "h100", "gpus_per_node": 1}}


def test_a_replay_is_authorized_first_and_bound_to_the_key(api: Api) -> None:
    keys = _org_with_keys(api, ("owner", "member", "viewer"))
    owner, member, viewer = (api.as_key(keys[r]["secret"]) for r in ("owner", "member", "viewer"))
    h = {"Idempotency-Key": "submit-1"}
    first = owner.post("/v1/jobs", json=JOB, headers=h)
    assert first.status_code == 201
    replay = owner.post("/v1/jobs", json=JOB, headers=h)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    denied = viewer.post("/v1/jobs", json=JOB, headers=h)
    assert denied.status_code == 403 and "Idempotent-Replayed" not in denied.headers
    own = member.post("/v1/jobs", json=JOB, headers=h)
    assert own.status_code == 201 and "Idempotent-Replayed" not in own.headers
    assert own.json()["id"] != first.json()["id"]
    assert len(owner.get("/v1/jobs").json()["items"]) == 2


# -- what a customer sees of others -------------------------------------------------------------


def test_a_pending_reason_names_no_other_org_job_or_usage(api: Api) -> None:
    from neocloud.server.jobs.control_loop import ControlLoop

    acme = api.new_org("acme")
    other = api.http.post(
        "/v1/jobs",
        json={**JOB, "org": "research", "tier": "internal", "max_runtime_seconds": 3600},
    ).json()
    ControlLoop(api.ctx.db, api.ctx.engines).schedule_pass()
    gang = {**JOB, "tier": "on_demand", "resources": {"gpu_type": "h100", "gpus_per_node": 4}}
    gang["resources"]["nodes"] = 2
    waiting = acme.post("/v1/jobs", json=gang).json()
    ControlLoop(api.ctx.db, api.ctx.engines).schedule_pass()
    full = api.http.get(f"/v1/jobs/{waiting['id']}").json()
    shown = acme.get(f"/v1/jobs/{waiting['id']}").json()
    assert shown["reason"] == full["reason"] == "planned_start"
    assert other["id"] in full["message"]
    assert other["id"] not in shown["message"] and "research" not in shown["message"]
    assert "2 nodes × 4 h100" in shown["message"]
    for event in acme.get(f"/v1/jobs/{waiting['id']}/events").json():
        assert other["id"] not in (event["message"] or "")


@pytest.mark.parametrize(
    ("reason", "message", "details", "shown", "kept"),
    [
        ("sellable_cap", "sellable cap: external work holds 4/4 a100", {}, "capacity offered", {}),
        ("fair_share", "the free a100 went first to org globex (3.0 GPU-h)", {}, "fair share", {}),
        (
            "preemption_notice",
            "preempted for job job_9 under rule spot_reclaim",
            {"by_job": "job_9", "rule": "spot_reclaim"},
            "work of a higher priority",
            {"rule": "spot_reclaim"},
        ),
        ("some_new_reason", "org globex holds job_9", {"job": "job_9"}, "some new reason", {}),
        (
            "exited",
            "exited with code 0",
            {"exit_code": "0"},
            "exited with code 0",
            {"exit_code": "0"},
        ),
    ],
    ids=["cap", "fair-share", "preempted", "unknown-code", "own-lifecycle"],
)
def test_disclose_gives_customers_sentences_about_their_own_job(
    reason: str, message: str, details: dict[str, str], shown: str, kept: dict[str, str]
) -> None:
    from neocloud.domain.tenancy import OrgKind, Role
    from neocloud.server.http.auth import Principal
    from neocloud.server.http.disclosure import disclose

    def who(role: Role) -> Principal:
        return Principal("key_1", "org_1", "acme", OrgKind.EXTERNAL, role, None)

    sizes = {"gpu_type": "a100", "gpus_per_node": 4, "nodes": 1}
    assert disclose(who(Role.OPERATOR), reason, message, details, **sizes) == (message, details)
    text, rest = disclose(who(Role.OWNER), reason, message, details, **sizes)
    assert text is not None and shown in text
    assert "globex" not in text and "job_9" not in text and "4/4" not in text
    assert rest == kept
