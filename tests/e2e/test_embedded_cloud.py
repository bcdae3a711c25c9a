"""The user journey of the embedded cloud, through the real server process.

An external customer runs a spot job; an internal team then needs the same GPUs; the spot job gets
SIGTERM, is preempted and requeued, and later completes. Usage matches the processes' real
lifetimes, the invoice is price × usage, the margin report adds up, and another customer sees none
of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import client, job_file, wait_for
from tests.e2e.server import ServerProcess

pytestmark = pytest.mark.e2e

# The job records its own lifetime; on attempt 1 it waits to be preempted and records SIGTERM.
JOB_SCRIPT = r"""
import json, os, signal, sys, time
out = "attempt-" + os.environ["NEOCLOUD_ATTEMPT"] + ".json"
rec = {"start": time.time(), "cuda": os.environ["CUDA_VISIBLE_DEVICES"],
       "job": os.environ["NEOCLOUD_JOB_ID"]}
def save():
    with open(out + ".tmp", "w") as f: json.dump(rec, f)
    os.replace(out + ".tmp", out)
def on_term(*_):
    rec["sigterm"] = True; rec["end"] = time.time(); save(); sys.exit(143)
signal.signal(signal.SIGTERM, on_term)
save()
print("hello from attempt", os.environ["NEOCLOUD_ATTEMPT"], flush=True)
time.sleep(float(os.environ["HOLD_FIRST"]) if os.environ["NEOCLOUD_ATTEMPT"] == "1" else 1.5)
rec["end"] = time.time(); save()
"""


def _job(gpus: int, tier: str, hold_first: float, **extra: object) -> dict[str, object]:
    return {
        # The job writes its records into its own directory: in its sandbox it sees nothing else.
        "command": ["python3", "-c", JOB_SCRIPT],
        "env": {"HOLD_FIRST": str(hold_first)},
        "resources": {"gpu_type": "h100", "gpus_per_node": gpus},
        "tier": tier,
        "max_runtime_seconds": 300,
        "grace_seconds": 5,
        **extra,
    }


def _to_cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def internal_gpu_seconds(op: httpx.Client, since: datetime) -> Decimal:
    """GPU-seconds of internal work since a time (the operator sees every org)."""
    items = op.get("/v1/usage/records", params={"from": since.isoformat(), "limit": 500}).json()[
        "items"
    ]
    return sum((Decimal(r["gpu_seconds"]) for r in items if r["tier"] == "internal"), Decimal(0))


def test_spot_preempted_for_internal_then_billed(any_server: ServerProcess) -> None:
    server = any_server
    began = datetime.now(UTC) - timedelta(seconds=5)
    op = client(server.url, server.operator_key)
    # A price of our own, in force from a minute ago, so the expected bill is unambiguous.
    price = Decimal("3.60")
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = op.put(
        "/v1/prices",
        json={
            "gpu_type": "h100",
            "tier": "spot",
            "unit_price": str(price),
            "effective_from": since,
        },
    )
    assert r.status_code == 200, r.text

    for name, kind in [("acme", "external"), ("globex", "external"), ("vision", "internal")]:
        assert op.post("/v1/orgs", json={"name": name, "kind": kind}).status_code == 201
    assert (
        op.put("/v1/quotas", json={"org": "vision", "gpu_type": "h100", "gpus": 2}).status_code
        == 200
    )
    keys = {}
    for name in ("acme", "globex", "vision"):
        r = op.post("/v1/keys", json={"org": name, "name": "ci", "role": "owner"})
        assert r.status_code == 201, r.text
        keys[name] = r.json()["secret"]
    acme, globex, vision = (client(server.url, keys[n]) for n in ("acme", "globex", "vision"))

    spot = acme.post("/v1/jobs", json=_job(2, "spot", hold_first=600)).json()
    assert spot["state"] == "pending"
    wait_for(
        lambda: acme.get(f"/v1/jobs/{spot['id']}").json()["state"] == "running",
        what="spot job running",
    )
    record = {n: job_file(server.data_dir, spot["id"], n, f"attempt-{n}.json") for n in (1, 2)}
    wait_for(record[1].exists, what="spot attempt 1 started")

    inner = vision.post(
        "/v1/jobs", json=_job(2, "internal", hold_first=1.5, priority_class="production")
    )
    assert inner.status_code == 201, inner.text
    inner_id = inner.json()["id"]

    # The spot job gets its notice, exits on SIGTERM, is preempted and requeued, and finishes later.
    wait_for(
        lambda: vision.get(f"/v1/jobs/{inner_id}").json()["state"] == "succeeded",
        timeout=90,
        what="internal job succeeded",
    )
    final = wait_for(
        lambda: (j := acme.get(f"/v1/jobs/{spot['id']}").json())["state"] == "succeeded" and j,
        timeout=90,
        what="spot job succeeded after requeue",
    )
    assert final["attempts"] == 2
    first = json.loads(record[1].read_text())
    second = json.loads(record[2].read_text())
    assert first.get("sigterm") is True, "the spot job must receive SIGTERM before it is stopped"
    assert first["cuda"] == "0,1" and second["cuda"] == "0,1"

    events = acme.get(f"/v1/jobs/{spot['id']}/events").json()
    reasons = [e["reason"] for e in events]
    assert reasons[:4] == ["submitted", "scheduled", "started", "preemption_notice"]
    notice = events[3]
    # The customer learns the rule, never the other org's job; the operator sees which job.
    assert "by_job" not in notice["details"] and inner_id not in notice["message"]
    assert notice["details"]["rule"].startswith("spot_reclaim")
    seen_by_operator = op.get(f"/v1/jobs/{spot['id']}/events").json()[3]
    assert seen_by_operator["details"]["by_job"] == inner_id
    assert reasons[4:6] == ["preempted", "requeued"]
    assert reasons[-1] == "exited"
    why = subprocess.run(
        [str(Path(sys.executable).with_name("neocloud")), "--json", "jobs", "why", spot["id"]],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "NEOCLOUD_URL": server.url, "NEOCLOUD_API_KEY": keys["acme"]},
    )  # fmt: skip
    assert why.returncode == 0, why.stderr
    (preemption,) = json.loads(why.stdout)["preemptions"]
    assert preemption["by_job"] is None and preemption["rule"].startswith("spot_reclaim")

    # Usage: one immutable record per attempt, matching the processes' real lifetimes within 1 s.
    records = acme.get("/v1/usage/records", params={"from": "2020-01-01"}).json()["items"]
    mine = sorted((r for r in records if r["job_id"] == spot["id"]), key=lambda r: r["started_at"])
    assert len(mine) == 2
    for rec, life in zip(mine, (first, second), strict=True):
        assert rec["gpus"] == 2
        assert abs(Decimal(rec["gpu_seconds"]) / 2 - Decimal(str(life["end"] - life["start"]))) < 1
    used = sum(Decimal(r["gpu_seconds"]) for r in mine)

    # The invoice is price × usage, to the cent.
    period = datetime.now(UTC).strftime("%Y-%m")
    invs = op.post("/v1/invoices/generate", json={"period": period, "org": "acme"}).json()
    assert len(invs) == 1
    inv = invs[0]
    assert inv["kind"] == "invoice" and inv["status"] == "draft"
    assert Decimal(inv["total"]) == _to_cents(used * price / 3600)
    assert Decimal(inv["total"]) == sum(Decimal(ln["amount"]) for ln in inv["lines"])
    fin = op.post(f"/v1/invoices/{inv['id']}/finalize").json()
    assert fin["status"] == "finalized" and fin["number"]
    assert acme.get(f"/v1/invoices/{inv['id']}").json()["total"] == inv["total"]

    # The margin report adds up, exactly (the report is not rounded; check in a wide context).
    window = {
        "from": began.isoformat(),
        "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    }
    m = {k: v for k, v in op.get("/v1/margin", params=window).json().items()}
    D = Decimal
    with localcontext() as exact:
        exact.prec = 1000
        assert D(m["revenue"]) == D(inv["total"])
        assert D(m["gross_margin"]) == D(m["revenue"]) - D(m["used_cost"])
        assert D(m["margin_after_idle"]) == D(m["gross_margin"]) - D(m["idle_cost"])
        assert sum(D(r["revenue"]) for r in m["by_tier"]) == D(m["revenue"])
        assert sum(D(r["used_cost"]) for r in m["by_gpu_type"]) == D(m["used_cost"])
        assert sum(D(r["used_cost"]) for r in m["by_tier"]) == D(m["used_cost"])
        billed = sum(D(r["gpu_seconds"]) for r in records) + internal_gpu_seconds(op, began)
        assert abs(D(m["used_gpu_hours"]) * 3600 - billed) < D("1e-9")
    assert D(m["used_cost"]) > 0 and D(m["idle_cost"]) > 0
    # Shared by used cost, idle moves onto the slices that used the capacity; after idle the
    # margin is the same, and acme's row carries its revenue.
    w = op.get("/v1/margin", params={**window, "idle": "weighted"}).json()
    with localcontext() as exact:
        exact.prec = 1000
        assert D(w["margin_after_idle"]) == D(m["margin_after_idle"])
        assert D(w["shared_idle_cost"]) == D(w["idle_cost"]) == D(m["idle_cost"])
        orgs = {r["org_name"]: r for r in w["by_org"]}
        assert D(orgs["acme"]["revenue"]) == D(inv["total"])
        assert D(orgs["acme"]["shared_idle_cost"]) > 0
        assert sum(D(r["gross_margin"]) for r in w["by_org"]) == D(w["gross_margin"])

    # Another customer sees none of it: 404, never 403.
    for path in (
        f"/v1/jobs/{spot['id']}",
        f"/v1/jobs/{spot['id']}/logs",
        f"/v1/jobs/{spot['id']}/events",
        f"/v1/invoices/{inv['id']}",
    ):
        r = globex.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    assert globex.get("/v1/usage/records", params={"org": "acme"}).status_code == 404
    assert globex.get("/v1/jobs").json()["items"] == []
    assert globex.get("/v1/usage/records", params={"from": "2020-01-01"}).json()["items"] == []
    assert globex.get("/v1/invoices").json()["items"] == []
    assert globex.post(f"/v1/jobs/{spot['id']}/cancel").status_code == 404

    # The owner reads its logs: both attempts' output reached the log of the latest attempt.
    logs = acme.get(f"/v1/jobs/{spot['id']}/logs").json()
    assert "hello from attempt 2" in logs["data"]
