"""Webhook delivery to a real local HTTP receiver: signed, retried with backoff, at least once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import func, select

from neocloud.schemas.events import BillingEventType
from neocloud.server.events.service import emit
from neocloud.server.webhooks.delivery_loop import Outcome, WebhookLoop
from neocloud.store.models import BillingEventRow, OrgRow, WebhookDeliveryRow
from tests.api.conftest import Api
from tests.e2e.server import free_port
from tests.webhook_receiver import receiver, wait_until

FAST = (0.1, 0.2)


@pytest.fixture
def port(api: Api) -> int:
    """The receivers' port, which the operator allows explicitly: 127.0.0.1 is refused otherwise."""
    chosen = free_port()
    api.ctx.settings.outbound_allow = (f"127.0.0.1:{chosen}",)
    return chosen


def _loop(api: Api, **options: Any) -> WebhookLoop:
    """A delivery loop configured as the app configures its own."""
    return WebhookLoop(api.ctx.db, guard=api.ctx.outbound(), secrets=api.ctx.secrets, **options)


@pytest.fixture
def loop(api: Api, port: int) -> Iterator[WebhookLoop]:
    """The delivery loop with a fast schedule, running in its thread."""
    running = _loop(api, interval_seconds=0.02, retry_schedule=FAST, jitter=0.0, timeout_seconds=2)
    running.start()
    yield running
    running.stop()


def _hook(client: Any, url: str, types: list[str] | None = None) -> dict[str, Any]:
    r = client.post(
        "/v1/webhooks", json={"url": url, "event_types": types or ["invoice.finalized"]}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _delivery(client: Any, hook_id: str) -> dict[str, Any]:
    (d,) = client.get(f"/v1/webhooks/{hook_id}/deliveries").json()["items"]
    return dict(d)


def _settled(client: Any, hook_id: str) -> dict[str, Any] | None:
    d = _delivery(client, hook_id)
    return d if d["status"] != "pending" else None


def test_a_failing_receiver_gets_retries_with_backoff_until_it_answers_2xx(
    api: Api, loop: WebhookLoop, port: int
) -> None:
    acme = api.new_org("acme")
    with receiver([500, 503], port=port) as rx:
        hook = _hook(acme, rx.url)
        acme.post(f"/v1/webhooks/{hook['id']}/test")
        done = wait_until(lambda: _settled(acme, hook["id"]), what="delivery settled")
    assert isinstance(done, dict)
    assert done["status"] == "delivered" and done["attempts"] == 3
    assert done["last_error"] is None and done["delivered_at"]
    assert [r.status for r in rx.received] == [500, 503, 200]
    # Every attempt is the same delivery, the same bytes, each signed with the endpoint's secret.
    assert len(rx.verified(hook["secret"])) == 3
    assert {r.delivery_id for r in rx.received} == {done["id"]}
    assert len({r.body for r in rx.received}) == 1
    body = json.loads(rx.received[0].body)
    assert body["type"] == "webhook.test" and body["data"] == {"webhook_id": hook["id"]}
    assert rx.received[0].headers["content-type"] == "application/json"
    # The waits follow the schedule (jitter off): at least 0.1 s, then at least 0.2 s.
    gaps = [b.at - a.at for a, b in pairwise(rx.received)]
    assert gaps[0] >= FAST[0] * 0.95 and gaps[1] >= FAST[1] * 0.95


def test_a_receiver_that_never_succeeds_ends_failed_with_a_fixed_error_not_its_answer(
    api: Api, loop: WebhookLoop, port: int
) -> None:
    acme = api.new_org("acme")
    with receiver([500] * 10, port=port) as rx:
        hook = _hook(acme, rx.url)
        acme.post(f"/v1/webhooks/{hook['id']}/test")
        done = wait_until(lambda: _settled(acme, hook["id"]), what="delivery failed")
    assert isinstance(done, dict)
    assert done["status"] == "failed" and done["attempts"] == len(FAST) + 1
    # The receiver's answer ("receiver says no") is never shown: it may not be the org's server.
    assert done["last_error"] == "HTTP 500: the receiver did not answer 2xx"
    assert len(rx.received) == len(FAST) + 1


def test_an_unreachable_endpoint_records_the_connection_error(api: Api, port: int) -> None:
    acme = api.new_org("acme")
    with receiver(port=port) as rx:
        closed = rx.url
    hook = _hook(acme, closed)  # nobody listens there any more
    acme.post(f"/v1/webhooks/{hook['id']}/test")
    once = _loop(api, retry_schedule=(), timeout_seconds=2)
    try:
        assert once.deliver_due() == 1
    finally:
        once.stop()
    d = _delivery(acme, hook["id"])
    assert d["status"] == "failed" and d["attempts"] == 1
    assert d["last_error"] == "ConnectError: could not connect to the receiver"


def test_a_crash_between_send_and_record_duplicates_the_delivery_never_loses_it(
    api: Api, port: int
) -> None:
    acme = api.new_org("acme")
    now = [datetime.now(UTC)]
    replica = _loop(api, clock=lambda: now[0], retry_schedule=FAST)
    try:
        with receiver(port=port) as rx:
            hook = _hook(acme, rx.url)
            acme.post(f"/v1/webhooks/{hook['id']}/test")
            now[0] = datetime.now(UTC)
            (first,) = replica.claim()
            assert replica.send(first) == Outcome(True)
            # ... the process dies here: the send happened, its result was never recorded.
            assert replica.claim() == []  # the lease still holds it
            assert _delivery(acme, hook["id"])["status"] == "pending"
            now[0] += replica.lease + timedelta(seconds=1)
            (second,) = replica.claim()
            assert second.delivery_id == first.delivery_id and second.attempt == 2
            replica.record(second, replica.send(second))
            # A late record of the lost claim changes nothing.
            replica.record(first, Outcome(False, "late"))
        d = _delivery(acme, hook["id"])
        assert d["status"] == "delivered" and d["attempts"] == 2 and d["last_error"] is None
        assert [r.delivery_id for r in rx.received] == [d["id"], d["id"]]
    finally:
        replica.stop()


def test_two_replicas_never_claim_the_same_delivery(api: Api) -> None:
    acme = api.new_org("acme")
    hook = _hook(acme, "https://hooks.acme.test/unused")
    for _ in range(12):
        acme.post(f"/v1/webhooks/{hook['id']}/test")
    replicas = [_loop(api, batch=8) for _ in range(2)]
    start = threading.Barrier(2)
    claimed: list[list[str]] = [[], []]

    def claim(i: int) -> None:
        start.wait()
        claimed[i] = [c.delivery_id for c in replicas[i].claim()]

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for r in replicas:
        r.stop()
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 12


def test_deliveries_of_a_deleted_endpoint_are_not_sent(api: Api, port: int) -> None:
    acme = api.new_org("acme")
    with receiver(port=port) as rx:
        hook = _hook(acme, rx.url)
        acme.post(f"/v1/webhooks/{hook['id']}/test")
        acme.delete(f"/v1/webhooks/{hook['id']}")
        once = _loop(api)
        try:
            assert once.deliver_due() == 0
        finally:
            once.stop()
    assert rx.received == []


def _counts(api: Api) -> tuple[int, int]:
    with api.ctx.db.session() as s:
        events = s.scalar(select(func.count()).select_from(BillingEventRow))
        deliveries = s.scalar(select(func.count()).select_from(WebhookDeliveryRow))
    return int(events or 0), int(deliveries or 0)


def test_an_event_of_a_rolled_back_change_is_never_delivered(api: Api) -> None:
    acme = api.new_org("acme")
    _hook(acme, "https://hooks.acme.test/a", ["credit.exhausted"])
    with api.ctx.db.session() as s:
        org_id = s.scalars(select(OrgRow.id).where(OrgRow.name == "acme")).one()
    data = {"grant_ids": ["crg_1"], "org_id": org_id, "at": datetime.now(UTC)}

    class Boom(Exception):
        pass

    with pytest.raises(Boom), api.ctx.db.session() as s:
        emit(s, org_id, BillingEventType.CREDIT_EXHAUSTED, data, datetime.now(UTC))
        raise Boom  # the change that caused the event fails after it was emitted
    assert _counts(api) == (0, 0)
    with api.ctx.db.session() as s:
        emit(s, org_id, BillingEventType.CREDIT_EXHAUSTED, data, datetime.now(UTC))
    assert _counts(api) == (1, 1)


def test_emit_queues_one_delivery_per_enabled_subscribed_endpoint_of_the_org(api: Api) -> None:
    acme = api.new_org("acme")
    globex = api.new_org("globex")
    both = _hook(acme, "https://a.test/1", ["invoice.finalized", "credit.exhausted"])
    _hook(acme, "https://a.test/2", ["budget.threshold_reached"])  # not subscribed
    gone = _hook(acme, "https://a.test/3", ["credit.exhausted"])
    acme.delete(f"/v1/webhooks/{gone['id']}")
    _hook(globex, "https://g.test/1", ["credit.exhausted"])  # another org
    with api.ctx.db.session() as s:
        org_id = s.scalars(select(OrgRow.id).where(OrgRow.name == "acme")).one()
        event = emit(
            s,
            org_id,
            "credit.exhausted",
            {"grant_ids": ["crg_1"], "org_id": org_id, "at": datetime.now(UTC)},
            datetime.now(UTC),
        )
        rows = s.scalars(
            select(WebhookDeliveryRow).where(WebhookDeliveryRow.event_id == event.id)
        ).all()
        assert [(r.endpoint_id, r.status, r.attempts) for r in rows] == [(both["id"], "pending", 0)]
        body = json.loads(rows[0].payload)
    assert body["id"] == event.id and body["type"] == "credit.exhausted"
    assert body["data"]["grant_ids"] == ["crg_1"] and body["data"]["at"].endswith("Z")
    events = acme.get("/v1/events").json()["items"]
    assert [e["id"] for e in events] == [event.id]
    assert globex.get("/v1/events").json()["items"] == []


def test_the_loop_stops_promptly(api: Api) -> None:
    running = WebhookLoop(api.ctx.db, interval_seconds=0.05)
    running.start()
    began = time.monotonic()
    running.stop()
    assert time.monotonic() - began < 10
