"""Webhook endpoints: who may register them, what is refused, and other orgs' endpoints are 404."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

HOOK = {"url": "https://hooks.acme.test/neocloud", "event_types": ["invoice.finalized"]}


def _create(client: Any, **over: Any) -> Any:
    return client.post("/v1/webhooks", json={**HOOK, **over})


def test_the_secret_is_shown_once_and_signs_with_whsec(api: Api) -> None:
    acme = api.new_org("acme")
    r = _create(acme, event_types=["invoice.finalized", "budget.threshold_reached"])
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) >= 6 + 43
    assert hook["enabled"] is True and hook["url"] == HOOK["url"]
    assert hook["event_types"] == ["invoice.finalized", "budget.threshold_reached"]
    listed = acme.get("/v1/webhooks").json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]


def test_a_retry_with_the_same_idempotency_key_does_not_show_the_secret_again(api: Api) -> None:
    acme = api.new_org("acme")
    first = acme.post("/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201
    again = acme.post("/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["id"] == first.json()["id"]
    assert len(acme.get("/v1/webhooks").json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.acme.test/x"}, "url"),
        ({"url": "hooks.acme.test/x"}, "url"),
        ({"url": "https:///no-host"}, "url"),
        ({"url": "https://hooks.acme.test:99999/x"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["invoice.paid"]}, "event_types[0]"),
        ({"event_types": ["webhook.test"]}, "event_types[0]"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    acme = api.new_org("acme")
    r = _create(acme, **body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert acme.get("/v1/webhooks").json()["items"] == []


@pytest.mark.parametrize(("role", "allowed"), [
    ("owner", True), ("admin", True), ("billing", True), ("member", False), ("viewer", False),
])  # fmt: skip
def test_only_roles_that_manage_the_org_or_its_billing_may_manage_webhooks(
    api: Api, role: str, allowed: bool
) -> None:
    caller = api.new_org("acme", role=role)
    r = _create(caller)
    assert r.status_code == (201 if allowed else 403), r.text
    assert caller.get("/v1/webhooks").status_code == (200 if allowed else 403)


def test_the_operator_registers_for_any_org_and_others_get_404(api: Api) -> None:
    api.new_org("acme")
    globex = api.new_org("globex")
    r = _create(api.http, org="acme")
    assert r.status_code == 201, r.text
    hook = r.json()
    acme_id = api.http.get("/v1/orgs/acme").json()["id"]
    assert hook["org_id"] == acme_id
    assert _create(globex, org="acme").status_code == 404
    for method, path in [
        ("DELETE", f"/v1/webhooks/{hook['id']}"),
        ("GET", f"/v1/webhooks/{hook['id']}/deliveries"),
        ("POST", f"/v1/webhooks/{hook['id']}/test"),
    ]:
        r = globex.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    assert globex.get("/v1/webhooks").json()["items"] == []
    assert globex.get("/v1/webhooks", params={"org": "acme"}).status_code == 404
    assert [h["id"] for h in api.http.get("/v1/webhooks").json()["items"]] == [hook["id"]]


def test_delete_disables_and_cancels_pending_deliveries(api: Api) -> None:
    acme = api.new_org("acme")
    hook = _create(acme).json()
    ping = acme.post(f"/v1/webhooks/{hook['id']}/test")
    assert ping.status_code == 202, ping.text
    assert ping.json()["status"] == "pending" and ping.json()["event_type"] == "webhook.test"
    r = acme.delete(f"/v1/webhooks/{hook['id']}")
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["disabled_at"]
    (delivery,) = acme.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
    assert delivery["status"] == "cancelled" and delivery["next_attempt_at"] is None
    assert acme.delete(f"/v1/webhooks/{hook['id']}").status_code == 200  # deleting twice is fine
    again = acme.post(f"/v1/webhooks/{hook['id']}/test")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_deliveries_filter_by_status_and_refuse_an_unknown_one(api: Api) -> None:
    acme = api.new_org("acme")
    hook = _create(acme).json()
    acme.post(f"/v1/webhooks/{hook['id']}/test")
    path = f"/v1/webhooks/{hook['id']}/deliveries"
    assert len(acme.get(path, params={"status": "pending"}).json()["items"]) == 1
    assert acme.get(path, params={"status": "delivered"}).json()["items"] == []
    r = acme.get(path, params={"status": "lost"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "status"
