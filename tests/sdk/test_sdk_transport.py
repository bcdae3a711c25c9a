"""Auth, idempotency, exact decimals and errors: what every request and response goes through."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from neocloud.sdk.client import Client
from neocloud.sdk.errors import NeocloudError
from tests.sdk import sdk_samples as s
from tests.sdk.api_double import API_KEY, BASE_URL, Api


def test_bearer_key_is_sent(api: Api) -> None:
    api.on("GET", "/v1/me", s.whoami())

    api.client().me()

    assert api.requests[-1].headers["authorization"] == f"Bearer {API_KEY}"


def test_no_authorization_header_without_a_key(api: Api) -> None:
    api.on("GET", "/v1/me", s.whoami())

    api.client(api_key=None).me()

    assert "authorization" not in api.requests[-1].headers


@pytest.mark.parametrize(
    ("key", "expected"),
    [("create-acme-1", "create-acme-1"), (None, None)],
)
def test_idempotency_key_header_only_when_given(
    api: Api, key: str | None, expected: str | None
) -> None:
    api.on("POST", "/v1/jobs", s.job(), status=201)

    api.client().jobs.submit(
        ["true"], gpu_type="h100", gpus_per_node=1, tier="spot", idempotency_key=key
    )

    assert api.requests[-1].headers.get("idempotency-key") == expected


def test_error_envelope_becomes_neocloud_error(api: Api) -> None:
    envelope = {
        "error": {
            "code": "invalid_request",
            "message": "resources.gpus_per_node: too many",
            "details": {"field": "resources.gpus_per_node"},
        }
    }
    api.on("POST", "/v1/jobs", envelope, status=422)

    with pytest.raises(NeocloudError) as caught:
        api.client().jobs.submit(["true"], gpu_type="h100", gpus_per_node=8, tier="spot")

    err = caught.value
    assert (err.status, err.code, err.message) == (
        422,
        "invalid_request",
        "resources.gpus_per_node: too many",
    )
    assert err.details == {"field": "resources.gpus_per_node"}


@pytest.mark.parametrize(
    ("status", "content", "code", "message"),
    [
        (502, b"<html>Bad Gateway</html>", "http_502", "<html>Bad Gateway</html>"),
        (500, b"", "http_500", "Internal Server Error"),
        (404, b'{"detail": "Not Found"}', "http_404", '{"detail": "Not Found"}'),
    ],
)
def test_error_without_envelope_still_raises(
    api: Api, status: int, content: bytes, code: str, message: str
) -> None:
    api.handle("GET", "/v1/me", lambda _: httpx.Response(status, content=content))

    with pytest.raises(NeocloudError) as caught:
        api.client().me()

    assert (caught.value.status, caught.value.code, caught.value.message) == (
        status,
        code,
        message,
    )


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ConnectError("connection refused"), "unreachable"),
        (httpx.ReadTimeout("timed out"), "timeout"),
        (httpx.RemoteProtocolError("server hung up"), "unreachable"),
    ],
)
def test_transport_failures_become_neocloud_errors(
    failure: httpx.TransportError, code: str
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise failure

    client = Client(BASE_URL, API_KEY, http=httpx.Client(transport=httpx.MockTransport(refuse)))

    with pytest.raises(NeocloudError) as caught:
        client.me()

    assert caught.value.status is None
    assert caught.value.code == code
    assert BASE_URL in caught.value.message


def test_a_success_that_is_not_json_is_a_bad_response(api: Api) -> None:
    api.handle("GET", "/v1/me", lambda _: httpx.Response(200, content=b"<html>hi</html>"))

    with pytest.raises(NeocloudError) as caught:
        api.client().me()

    assert caught.value.code == "bad_response"


def test_a_success_of_the_wrong_shape_is_a_bad_response(api: Api) -> None:
    api.on("GET", "/v1/me", {"unexpected": True})

    with pytest.raises(NeocloudError) as caught:
        api.client().me()

    assert caught.value.code == "bad_response"


@pytest.mark.parametrize(
    "wire",
    [
        b'{"node_model": "m", "gpus_per_node": 8, "currency": "USD", "depreciation": '
        b'"1.141552511415525114155251142", "capital": "0", "energy": "0.1326", '
        b'"space": "0.32137", "opex": "0", "total": "1.59552"}',
        # A server that sent JSON numbers must not lose digits to float on the way.
        b'{"node_model": "m", "gpus_per_node": 8, "currency": "USD", "depreciation": '
        b'1.141552511415525114155251142, "capital": 0, "energy": 0.1326, '
        b'"space": 0.32137, "opex": 0, "total": 1.59552}',
    ],
)
def test_decimals_are_parsed_exactly(api: Api, wire: bytes) -> None:
    api.handle("GET", "/v1/economics/cost", lambda _: httpx.Response(200, content=wire))

    cost = api.client().economics.cost("m")

    assert cost.depreciation == Decimal("1.141552511415525114155251142")
    assert isinstance(cost.total, Decimal) and cost.total == Decimal("1.59552")


def test_decimals_are_sent_as_strings(api: Api) -> None:
    api.on("PUT", "/v1/prices", s.price(unit_price="2.4900"))

    price = api.client().prices.set("h100", "spot", Decimal("2.4900"))

    assert json.loads(api.requests[-1].content)["unit_price"] == "2.4900"
    assert price.unit_price == Decimal("2.4900")


def test_float_money_is_refused() -> None:
    client = Client(BASE_URL, API_KEY, http=httpx.Client(transport=httpx.MockTransport(Api())))

    with pytest.raises(TypeError):
        client.prices.set("h100", "spot", 2.49)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.orgs.create("Not A Name", "external"), "name"),
        (lambda c: c.orgs.create("acme", "partner"), "kind"),
        (
            lambda c: c.jobs.submit(["true"], gpu_type="h100", gpus_per_node=0, tier="spot"),
            "resources.gpus_per_node",
        ),
        (lambda c: c.invoices.generate("2026-13"), "period"),
        (lambda c: c.sellable_caps.set("h100", "1.5"), "fraction"),
    ],
)
def test_bad_input_is_refused_before_sending(
    api: Api, call: Callable[[Client], object], field: str
) -> None:
    with pytest.raises(NeocloudError) as caught:
        call(api.client())

    assert caught.value.code == "invalid_request"
    assert caught.value.details["field"] == field
    assert api.requests == []
