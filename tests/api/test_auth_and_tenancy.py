"""Keys and tenancy: who may call what, and another org's resources are 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
