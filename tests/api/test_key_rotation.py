"""Key rotation: one call mints a like successor (org, project, role, name), retires the old."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import Api


def _key(api: Api, **body: object) -> dict[str, object]:
    r = api.http.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "admin", **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.fixture
def acme(api: Api) -> Api:
    """The org acme with a project, and its owner key as the API's default."""
    api.new_org("acme")
    assert api.http.post("/v1/orgs/acme/projects", json={"name": "p1"}).status_code == 201
    return api


def test_rotation_replaces_the_key_at_once(acme: Api) -> None:
    api = acme
    old = _key(api, project="p1", expires_at=(datetime.now(UTC) + timedelta(days=30)).isoformat())
    r = api.http.post(f"/v1/keys/{old['id']}/rotate")
    assert r.status_code == 201, r.text
    new = r.json()
    same = ("org_id", "project_id", "name", "role")
    assert {k: new[k] for k in same} == {k: old[k] for k in same}
    assert new["id"] != old["id"] and new["secret"] != old["secret"]
    # The successor lives as long as the old one was meant to (30 days), from now.
    lifetime = datetime.fromisoformat(new["expires_at"]) - datetime.fromisoformat(new["created_at"])
    assert abs(lifetime - timedelta(days=30)) < timedelta(seconds=5)
    assert new["replaced"]["id"] == old["id"] and new["replaced"]["revoked_at"] is not None
    assert api.as_key(str(old["secret"])).get("/v1/me").status_code == 401
    assert api.as_key(new["secret"]).get("/v1/me").status_code == 200
    assert "secret" not in api.http.get("/v1/keys", params={"org": "acme"}).text


def test_with_a_grace_period_the_old_key_works_until_it_ends(acme: Api) -> None:
    api = acme
    old = _key(api)
    r = api.http.post(f"/v1/keys/{old['id']}/rotate", json={"grace_seconds": 2})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["expires_at"] is None  # the old one never expired, nor does its successor
    assert new["replaced"]["revoked_at"] is None and new["replaced"]["expires_at"] is not None
    assert api.as_key(str(old["secret"])).get("/v1/me").status_code == 200
    time.sleep(2.2)
    assert api.as_key(str(old["secret"])).get("/v1/me").status_code == 401
    assert api.as_key(new["secret"]).get("/v1/me").status_code == 200


@pytest.mark.parametrize("grace", [-1, 7 * 86_400 + 1, "soon", True])
def test_a_bad_grace_period_is_refused(acme: Api, grace: object) -> None:
    old = _key(acme)
    r = acme.http.post(f"/v1/keys/{old['id']}/rotate", json={"grace_seconds": grace})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "grace_seconds"


def test_a_revoked_key_is_not_rotated(acme: Api) -> None:
    old = _key(acme)
    assert acme.http.post(f"/v1/keys/{old['id']}/revoke").status_code == 200
    r = acme.http.post(f"/v1/keys/{old['id']}/rotate")
    assert r.status_code == 409


def test_the_operator_key_can_rotate_itself(api: Api) -> None:
    me = api.http.get("/v1/me").json()
    r = api.http.post(f"/v1/keys/{me['key_id']}/rotate")
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "operator"
    assert api.http.get("/v1/me").status_code == 401
    assert api.as_key(r.json()["secret"]).get("/v1/me").status_code == 200


def test_who_may_not_revoke_a_key_may_not_rotate_it(acme: Api) -> None:
    api = acme
    owner = _key(api, name="boss", role="owner")
    admin = api.as_key(str(_key(api, name="admin", role="admin")["secret"]))
    assert admin.post(f"/v1/keys/{owner['id']}/rotate").status_code == 403
    globex = api.new_org("globex")
    assert globex.post(f"/v1/keys/{owner['id']}/rotate").status_code == 404
    member = api.as_key(str(_key(api, name="m", role="member")["secret"]))
    assert member.post(f"/v1/keys/{owner['id']}/rotate").status_code == 403
    # Nothing was minted by the refused calls.
    names = [k["name"] for k in api.http.get("/v1/keys", params={"org": "acme"}).json()["items"]]
    assert sorted(names) == ["admin", "boss", "m", "test"]
