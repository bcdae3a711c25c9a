"""Health, metrics, OpenAPI, and keys scoped to a project."""

from __future__ import annotations

from tests.api.conftest import Api

JOB = {"command": ["true"], "tier": "spot", "resources": {"gpu_type": "h100", "gpus_per_node": 1}}


def test_health_metrics_and_openapi_are_served(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok", "failing_orgs": {}}
    api.http.get("/v1/me")
    metrics = api.http.get("/metrics")
    assert metrics.status_code == 200
    assert 'neocloud_http_requests_total{method="GET",route="/v1/me",status="200"}' in metrics.text
    assert "neocloud_gpus_allocated" in metrics.text
    spec = api.http.get("/openapi.json").json()
    assert "/v1/jobs" in spec["paths"] and "/v1/invoices/{invoice_id}/finalize" in spec["paths"]


def test_unknown_routes_use_the_error_envelope(api: Api) -> None:
    r = api.http.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_project_key_sees_and_submits_only_within_its_project(api: Api) -> None:
    owner = api.new_org("acme")
    for name in ("train", "serve"):
        assert owner.post("/v1/orgs/acme/projects", json={"name": name}).status_code == 201
    scoped = owner.post("/v1/keys", json={"org": "acme", "name": "ci", "project": "train"}).json()
    train = api.as_key(scoped["secret"])
    assert train.get("/v1/me").json()["project_id"] == scoped["project_id"]
    mine = train.post("/v1/jobs", json=JOB).json()
    assert mine["project_id"] == scoped["project_id"]
    other = owner.post("/v1/jobs", json={**JOB, "project": "serve"}).json()
    assert train.get(f"/v1/jobs/{other['id']}").status_code == 404
    assert [j["id"] for j in train.get("/v1/jobs").json()["items"]] == [mine["id"]]
    assert train.post("/v1/jobs", json={**JOB, "project": "serve"}).status_code == 404
    assert {j["id"] for j in owner.get("/v1/jobs").json()["items"]} == {mine["id"], other["id"]}
