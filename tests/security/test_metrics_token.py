"""/metrics can be put behind a bearer token by configuration."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api


def test_metrics_are_open_when_no_token_is_configured(api: Api) -> None:
    r = TestClient(api.http.app).get("/metrics")
    assert r.status_code == 200 and "neocloud_jobs" in r.text


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong-token", 401),
        ("Basic bWV0cmljcy10b2tlbi0x", 401),
        ("Bearer é".encode("latin-1"), 401),  # not ASCII: still a plain 401
        ("Bearer metrics-token-1", 200),
        ("bearer metrics-token-1", 200),
    ],
)
def test_with_a_token_configured_metrics_want_it(
    api: Api, authorization: str | bytes | None, status: int
) -> None:
    api.ctx.settings.metrics_token = "metrics-token-1"
    headers = {"Authorization": authorization} if authorization else {}
    r = TestClient(api.http.app).get("/metrics", headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.json()["error"]["code"] == "unauthenticated"
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert "neocloud_jobs" not in r.text


def test_an_api_key_is_not_the_metrics_token(api: Api) -> None:
    api.ctx.settings.metrics_token = "metrics-token-1"
    assert api.http.get("/metrics").status_code == 401  # the operator's key is not enough
