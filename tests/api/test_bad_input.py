"""Bad input is a 4xx naming what is wrong, never a 5xx, and the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neocloud.domain import job_limits
from tests.api.conftest import Api

FAR_FUTURE = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
JOB = {"command": ["true"], "resources": {"gpu_type": "a100", "gpus_per_node": 1}, "tier": "spot"}


def job(**changes: Any) -> dict[str, Any]:
    """A valid job submission for an external org, with some fields changed."""
    return {**JOB, **changes}


@pytest.fixture
def owner(api: Api) -> TestClient:
    """An external org's owner, so jobs may be submitted on tier spot."""
    return api.new_org("acme")


def assert_invalid(r: Any, field: str, status: int = 422) -> None:
    """The envelope, the status, and the field named."""
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["details"]["field"] == field, r.text
    assert field in error["message"]


@pytest.mark.parametrize("path", ["/v1/usage/summary", "/v1/usage/records", "/v1/usage/events"])
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("to", FAR_FUTURE),
        ("from", FAR_FUTURE),
        ("to", "0001-01-01T00:00:00Z"),
        ("from", "1969-12-31"),
        ("to", "9999-12-31"),
    ],
)
def test_dates_out_of_range_are_refused_naming_the_parameter(
    api: Api, path: str, param: str, value: str
) -> None:
    assert_invalid(api.http.get(path, params={param: value}), param)


@pytest.mark.parametrize("param", ["from", "to"])
def test_margin_refuses_dates_out_of_range(api: Api, param: str) -> None:
    assert_invalid(api.http.get("/v1/margin", params={param: FAR_FUTURE}), param)


def test_the_margin_window_is_at_most_ten_years(api: Api) -> None:
    long = {"from": "1970-01-01", "to": "9998-12-31"}
    assert_invalid(api.http.get("/v1/margin", params=long), "to")
    decade = {"from": "2020-01-01", "to": "2030-01-01"}
    assert api.http.get("/v1/margin", params=decade).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": 2**62}, "offset"),
        ({"offset": -1}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 2**31}, "limit"),
    ],
)
def test_log_offsets_and_limits_are_bounded(
    api: Api, owner: TestClient, params: dict[str, int], field: str
) -> None:
    r = owner.post("/v1/jobs", json=JOB)
    assert r.status_code == 201, r.text
    assert_invalid(owner.get(f"/v1/jobs/{r.json()['id']}/logs", params=params), field)


def test_a_log_offset_past_the_end_is_an_empty_chunk(api: Api, owner: TestClient) -> None:
    r = owner.post("/v1/jobs", json=JOB)
    r = owner.get(f"/v1/jobs/{r.json()['id']}/logs", params={"offset": 2**40})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == ""


@pytest.mark.parametrize("period", ["0000-01", "1969-12", "9999-01", "2026-13", "2026-1", "x"])
def test_periods_out_of_range_are_refused_everywhere(api: Api, period: str) -> None:
    assert_invalid(api.http.post("/v1/invoices/generate", json={"period": period}), "period")
    assert_invalid(api.http.get("/v1/invoices", params={"period": period}), "period")
    for path in ("/v1/exports/usage.csv", "/v1/exports/focus"):
        assert_invalid(api.http.get(path, params={"period": period}), "period")


@pytest.mark.parametrize(
    "path", ["/v1/orgs", "/v1/jobs", "/v1/keys", "/v1/webhooks", "/v1/budgets", "/v1/events"]
)
@pytest.mark.parametrize("limit", [0, -1, 501, 2**63])
def test_list_limits_are_bounded(api: Api, path: str, limit: int) -> None:
    assert_invalid(api.http.get(path, params={"limit": limit}), "limit")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (job(name="a\x00b"), "name"),
        (job(name="tab\there"), "name"),
        (job(name="bell\x07"), "name"),
        (job(name="\u202eevil"), "name"),
        (job(command=["echo", "a\x00b"]), "command"),
        (job(env={"A": "x\x00y"}), "env"),
        (job(env={"A\x00": "x"}), "env"),
        (job(resources={"gpu_type": "a1\x00", "gpus_per_node": 1}), "resources.gpu_type"),
        (job(project="p\x00"), "project"),
    ],
)
def test_jobs_refuse_nul_everywhere_and_control_characters_in_names(
    owner: TestClient, body: dict[str, Any], field: str
) -> None:
    assert_invalid(owner.post("/v1/jobs", json=body), field)


def test_free_text_keeps_newlines_and_tabs(owner: TestClient) -> None:
    body = job(command=["sh", "-c", "echo a\n\techo b"], env={"A": "line1\nline2\t"})
    r = owner.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["env"] == {"A": "line1\nline2\t"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/orgs", {"name": "beta", "kind": "external", "display_name": "B\x00"}, "display_name"),
        (
            "/v1/orgs",
            {"name": "beta", "kind": "external", "display_name": "B\x1b[31m"},
            "display_name",
        ),
        ("/v1/keys", {"org": "platform", "name": "k\x00"}, "name"),
        ("/v1/keys", {"org": "platform", "name": "k\n"}, "name"),
        ("/v1/keys", {"org": "plat\x00form", "name": "k"}, "org"),
        ("/v1/invoices/generate", {"period": "2026-01", "org": "x\x00"}, "org"),
        ("/v1/credits/grants", {"org": "x\x00", "kind": "prepaid", "amount": "1"}, "org"),
        ("/v1/budgets", {"name": "b\x00", "amount": "10"}, "name"),
        (
            "/v1/usage/events",
            {
                "events": [
                    {
                        "id": "e1",
                        "org": "platform",
                        "meter": "gpu_seconds",
                        "value": "1",
                        "time": FAR_FUTURE,
                    }
                ]
            },
            "events[0].time",
        ),
        (
            "/v1/prices",
            {"tier": "spot", "gpu_type": "a100", "unit_price": "1", "effective_from": FAR_FUTURE},
            "effective_from",
        ),
    ],
)
def test_bodies_refuse_nul_control_characters_and_far_dates(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    send = api.http.put if path == "/v1/prices" else api.http.post
    assert_invalid(send(path, json=body), field)


@pytest.mark.parametrize(
    "path", ["/v1/jobs/job%00x", "/v1/orgs/a%00b", "/v1/orgs/a%01b/projects", "/v1/invoices/%7F"]
)
def test_path_parameters_refuse_control_characters(api: Api, path: str) -> None:
    r = api.http.get(path)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("param", ["org", "cursor", "state"])
def test_query_parameters_refuse_nul(api: Api, param: str) -> None:
    assert_invalid(api.http.get("/v1/jobs", params={param: "a\x00b"}), param)


@pytest.mark.parametrize(
    ("resources", "field"),
    [
        ({"gpu_type": "a100", "gpus_per_node": True}, "resources.gpus_per_node"),
        ({"gpu_type": "a100", "gpus_per_node": "1"}, "resources.gpus_per_node"),
        ({"gpu_type": "a100", "gpus_per_node": 1.0}, "resources.gpus_per_node"),
        ({"gpu_type": "a100", "gpus_per_node": 1, "nodes": False}, "resources.nodes"),
    ],
)
def test_integers_are_json_integers(
    owner: TestClient, resources: dict[str, Any], field: str
) -> None:
    assert_invalid(owner.post("/v1/jobs", json=job(resources=resources)), field)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"requeue_on_preemption": 1}, "requeue_on_preemption"),
        ({"requeue_on_preemption": "true"}, "requeue_on_preemption"),
        ({"max_runtime_seconds": "60"}, "max_runtime_seconds"),
        ({"max_attempts": True}, "max_attempts"),
    ],
)
def test_booleans_and_integers_are_taken_as_written(
    owner: TestClient, changes: dict[str, Any], field: str
) -> None:
    assert_invalid(owner.post("/v1/jobs", json=job(**changes)), field)


def test_money_still_comes_as_decimal_strings_but_never_as_booleans(api: Api) -> None:
    ok = api.http.post("/v1/budgets", json={"name": "b", "amount": "10.50"})
    assert ok.status_code == 201, ok.text
    assert_invalid(api.http.post("/v1/budgets", json={"name": "c", "amount": True}), "amount")


def _env(n: int, value: str = "v") -> dict[str, str]:
    return {f"K{i}": value for i in range(n)}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"env": _env(job_limits.MAX_ENV_ENTRIES + 1)}, "env"),
        ({"env": {"NOT A NAME": "x"}}, "env.NOT A NAME"),
        ({"env": {"1X": "x"}}, "env.1X"),
        ({"env": {"A" * 256: "x"}}, "env." + "A" * 80),
        ({"env": {"A": "x" * (job_limits.MAX_ENV_VALUE_BYTES + 1)}}, "env.A"),
        ({"command": ["x", "x" * (job_limits.MAX_ARG_BYTES + 1)]}, "command[1]"),
        ({"command": ["", "x"]}, "command[0]"),
        ({"command": ["x"] * (job_limits.MAX_ARGS + 1)}, "command"),
        ({"env": _env(100, "x" * 6000)}, "env"),
    ],
)
def test_specs_that_could_not_launch_are_refused(
    owner: TestClient, changes: dict[str, Any], field: str
) -> None:
    assert_invalid(owner.post("/v1/jobs", json=job(**changes)), field)


def test_the_largest_env_that_is_accepted_is_stored(owner: TestClient) -> None:
    env = _env(job_limits.MAX_ENV_ENTRIES, "x" * 100)
    r = owner.post("/v1/jobs", json=job(env=env))
    assert r.status_code == 201, r.text
    assert owner.get(f"/v1/jobs/{r.json()['id']}").json()["env"] == env


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b" " * size


@pytest.mark.parametrize("chunked", [False, True])
def test_bodies_over_the_limit_are_413_before_parsing(api: Api, chunked: bool) -> None:
    limit = api.ctx.settings.max_body_bytes
    content: Any = _chunks(limit + 128 * 1024) if chunked else b" " * (limit + 1)
    r = api.http.post("/v1/jobs", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"] == {
        "code": "payload_too_large",
        "message": f"request body larger than {limit} bytes",
        "details": {"limit_bytes": limit},
    }


def test_a_declared_length_over_the_limit_is_refused_without_reading(api: Api) -> None:
    limit = api.ctx.settings.max_body_bytes
    r = api.http.post(
        "/v1/jobs",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(50 * 2**20)},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"]["details"] == {"limit_bytes": limit}


def test_usage_batches_have_their_own_larger_limit(api: Api) -> None:
    settings = api.ctx.settings
    assert settings.max_usage_events_body_bytes > settings.max_body_bytes
    api.new_org("acme")
    meter = {"aggregation": "sum", "unit": "token"}
    assert api.http.put("/v1/meters/tokens", json=meter).status_code == 200
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    events = [
        {"id": f"e{i}-" + "x" * 200, "org": "acme", "meter": "tokens", "value": "1", "time": at}
        for i in range(6000)
    ]
    r = api.http.post("/v1/usage/events", json={"events": events})
    assert len(r.request.content) > settings.max_body_bytes
    assert r.status_code == 200, r.text
    settings.max_usage_events_body_bytes = settings.max_body_bytes
    r = api.http.post("/v1/usage/events", json={"events": events})
    assert r.status_code == 413, r.text


def test_a_body_that_is_not_json_text_is_a_400_envelope(api: Api) -> None:
    r = api.http.post(
        "/v1/orgs", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] in ("bad_request", "invalid_request")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/jobs", "GET, POST"),
        ("DELETE", "/v1/orgs", "GET, POST"),
        ("POST", "/v1/fleet", "GET, PUT"),
        ("PATCH", "/healthz", "GET"),
    ],
)
def test_405_names_every_allowed_method(api: Api, method: str, path: str, allowed: str) -> None:
    r = api.http.request(method, path)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allowed
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_openapi_declares_error_statuses_with_the_envelope(api: Api) -> None:
    doc = api.http.get("/openapi.json").json()
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            for status in ("413", "422"):
                assert responses[status]["content"]["application/json"]["schema"] == envelope, (
                    method,
                    path,
                )
            if path.startswith("/v1/"):
                assert {"401", "403", "404", "429"} <= set(responses), (method, path)
            if "requestBody" in op:
                assert "400" in responses, (method, path)
            if method in ("post", "put", "delete") and path.startswith("/v1/"):
                assert "409" in responses, (method, path)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
