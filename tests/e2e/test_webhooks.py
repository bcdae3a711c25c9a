"""Through the real server: a finalized invoice reaches a registered webhook, signed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.e2e.conftest import client, wait_for
from tests.e2e.server import ServerProcess, free_port
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.e2e
NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))


@pytest.fixture
def receiver_port() -> int:
    """Where the test's receiver listens."""
    return free_port()


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, fleet_file: Path, receiver_port: int
) -> Iterator[ServerProcess]:
    """The control plane on each backend, allowing the test's receiver on 127.0.0.1 by name.

    Without the allow entry the receiver is refused: it is a loopback address.
    """
    env = {"NEOCLOUD_OUTBOUND_ALLOW": f"127.0.0.1:{receiver_port}"}
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_server")
        if pg is None:
            skip_or_fail("PostgreSQL is not available")
        env["NEOCLOUD_DATABASE_URL"] = pg.fresh_database()
    srv = ServerProcess(tmp_path / "data", fleet_file, env=env).start()
    yield srv
    srv.stop()


def test_a_finalized_invoice_arrives_signed_at_the_webhook(
    server: ServerProcess, receiver_port: int
) -> None:
    op = client(server.url, server.operator_key)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    price = {"gpu_type": "h100", "tier": "spot", "unit_price": "3.60", "effective_from": since}
    assert op.put("/v1/prices", json=price).status_code == 200
    assert op.post("/v1/orgs", json={"name": "acme", "kind": "external"}).status_code == 201
    key = op.post("/v1/keys", json={"org": "acme", "name": "ci", "role": "owner"}).json()["secret"]
    acme = client(server.url, key)

    # The allow entry names 127.0.0.1 and that port: `localhost` on the same port is refused.
    refused = acme.post(
        "/v1/webhooks",
        json={"url": f"http://localhost:{receiver_port}/x", "event_types": ["invoice.finalized"]},
    )
    assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "url"
    with receiver([503], port=receiver_port) as rx:  # the first attempt fails; the retry lands
        r = acme.post("/v1/webhooks", json={"url": rx.url, "event_types": ["invoice.finalized"]})
        assert r.status_code == 201, r.text
        hook = r.json()
        job = acme.post(
            "/v1/jobs",
            json={
                "command": ["python3", "-c", "import time; time.sleep(1)"],
                "resources": {"gpu_type": "h100", "gpus_per_node": 1},
                "tier": "spot",
            },
        ).json()
        wait_for(
            lambda: acme.get(f"/v1/jobs/{job['id']}").json()["state"] == "succeeded",
            what="job succeeded",
        )
        period = datetime.now(UTC).strftime("%Y-%m")
        (draft,) = op.post("/v1/invoices/generate", json={"period": period, "org": "acme"}).json()
        invoice = op.post(f"/v1/invoices/{draft['id']}/finalize").json()
        assert invoice["status"] == "finalized"

        delivered = wait_for(
            lambda: [r for r in rx.verified(hook["secret"]) if r.status == 200],
            timeout=30,
            what="a signed delivery answered 200",
        )

    (landed,) = delivered
    body = json.loads(landed.body)
    assert body["type"] == "invoice.finalized" and body["org_id"] == invoice["org_id"]
    assert body["data"]["invoice_id"] == invoice["id"]
    assert body["data"]["number"] == invoice["number"]
    assert body["data"]["total"] == invoice["total"] and body["data"]["currency"] == "USD"
    # The failed first attempt was the same delivery: receivers deduplicate on its id.
    assert [r.status for r in rx.received] == [503, 200]
    assert {r.delivery_id for r in rx.received} == {landed.delivery_id}

    env = {**os.environ, "NEOCLOUD_URL": server.url, "NEOCLOUD_API_KEY": key}
    shown = subprocess.run(
        [NEOCLOUD, "--json", "webhooks", "deliveries", hook["id"]],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    (d,) = json.loads(shown.stdout)
    assert d["id"] == landed.delivery_id and d["status"] == "delivered" and d["attempts"] == 2
    events = subprocess.run(
        [NEOCLOUD, "--json", "events", "list", "--type", "invoice.finalized"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert [e["id"] for e in json.loads(events.stdout)] == [body["id"]]
