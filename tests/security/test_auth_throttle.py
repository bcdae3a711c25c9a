"""Failed authentication is throttled per client address and per key prefix; good keys are not."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from neocloud.server.http.auth_throttle import AuthThrottle, key_prefix
from tests.api.conftest import Api

LIMIT = 20
WINDOW = 60.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(api: Api) -> Clock:
    """The API's throttle, on a clock the test controls (20 failures a minute)."""
    fake = Clock()
    api.ctx.auth_throttle = AuthThrottle(LIMIT, WINDOW, clock=fake)
    return fake


def _from(api: Api, address: str, key: str | None = None) -> TestClient:
    client = TestClient(api.http.app, client=(address, 50000))
    if key is not None:
        client.headers["Authorization"] = f"Bearer {key}"
    return client


def _wrong_key(i: int, prefix: str | None = None) -> str:
    return f"nck_{prefix or f'{i:012x}'}_{'x' * 43}"


def test_700_wrong_keys_get_429_after_the_allowance_and_a_good_key_elsewhere_still_works(
    api: Api, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    attacker = _from(api, "203.0.113.7")
    with caplog.at_level(logging.WARNING, logger="neocloud.auth"):
        statuses = [
            attacker.get("/v1/me", headers={"Authorization": f"Bearer {_wrong_key(i)}"})
            for i in range(700)
        ]
    codes = [r.status_code for r in statuses]
    assert codes == [401] * LIMIT + [429] * (700 - LIMIT)
    throttled = statuses[-1]
    assert throttled.headers["Retry-After"] == "3"  # 60 s / 20: one failure back every 3 s
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert throttled.json()["error"]["details"] == {"retry_after_seconds": 3}
    # Each counted failure is logged with the address and prefix; the flood behind it is not.
    failures = [r for r in caplog.records if "authentication failed from 203.0.113.7" in r.message]
    assert LIMIT <= len(failures) <= LIMIT + 1
    # The throttled address is refused even with a good key; another address is not slowed.
    assert _from(api, "203.0.113.7", api.operator_key).get("/v1/me").status_code == 429
    assert _from(api, "198.51.100.1", api.operator_key).get("/v1/me").status_code == 200


def test_retry_after_is_honest(api: Api, clock: Clock) -> None:
    attacker = _from(api, "203.0.113.8", _wrong_key(1))
    for _ in range(LIMIT):
        assert attacker.get("/v1/me").status_code == 401
    refused = attacker.get("/v1/me")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    clock.now += wait - 0.01
    assert attacker.get("/v1/me").status_code == 429
    clock.now += 0.01
    # After Retry-After seconds one more try is allowed (and answered for what it is).
    assert attacker.get("/v1/me").status_code == 401
    assert attacker.get("/v1/me").status_code == 429
    # The good key from that address works again once it has waited.
    clock.now += wait
    assert _from(api, "203.0.113.8", api.operator_key).get("/v1/me").status_code == 200


def test_guessing_at_one_key_prefix_from_many_addresses_is_throttled_but_its_owner_is_not(
    api: Api, clock: Clock
) -> None:
    prefix = api.operator_key.split("_")[1]
    codes = [
        _from(api, f"10.1.{i // 250}.{i % 250}", _wrong_key(i, prefix)).get("/v1/me").status_code
        for i in range(LIMIT + 5)
    ]
    assert codes == [401] * LIMIT + [429] * 5
    # The key's own secret still works, from a fresh address: guessing does not lock out its owner.
    assert _from(api, "10.9.9.9", api.operator_key).get("/v1/me").status_code == 200


def test_successful_requests_take_nothing_from_the_allowance(api: Api, clock: Clock) -> None:
    client = _from(api, "192.0.2.10", api.operator_key)
    for _ in range(3 * LIMIT):
        assert client.get("/v1/me").status_code == 200
    wrong = _from(api, "192.0.2.10", _wrong_key(7))
    assert [wrong.get("/v1/me").status_code for _ in range(LIMIT)] == [401] * LIMIT


def test_the_limit_comes_from_the_settings(api: Api) -> None:
    from neocloud.server.http.context import AppContext

    api.ctx.settings.auth_failure_limit = 3
    ctx = AppContext(settings=api.ctx.settings, db=api.ctx.db, engines=api.ctx.engines)
    assert ctx.auth_throttle.limit == 3
    assert ctx.auth_throttle.rate == pytest.approx(3 / WINDOW)


@pytest.mark.parametrize(
    ("header", "prefix"),
    [
        ("Bearer nck_abc123_secret", "abc123"),
        ("bearer nck_abc123_se_cret", "abc123"),
        ("Bearer nck__x", None),
        ("Bearer sk_abc_def", None),
        ("Basic dXNlcjpwYXNz", None),
        (None, None),
        ("Bearer nck_" + "p" * 100 + "_x", "p" * 32),  # bounded, so a long one costs nothing
    ],
)
def test_the_prefix_is_read_from_the_presented_key(header: str | None, prefix: str | None) -> None:
    assert key_prefix(header) == prefix


def test_buckets_refill_at_the_configured_rate() -> None:
    clock = Clock()
    throttle = AuthThrottle(limit=4, window_seconds=8, clock=clock)
    assert [throttle.failed("a", None) for _ in range(5)] == [0, 0, 0, 0, 2]
    assert throttle.blocked("a") == 2
    clock.now += 1
    assert throttle.blocked("a") == 1
    clock.now += 1
    assert throttle.blocked("a") == 0
    assert throttle.blocked("never-failed") == 0
