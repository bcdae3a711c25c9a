"""Reserved contracts, borrowing limits, and what the scheduler is told about them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from neocloud.server.jobs.snapshot import build_snapshot
from tests.api.conftest import Api

NOW = datetime.now(UTC)


def _contract(
    gpus: int, start: datetime = NOW - timedelta(days=1), days: int = 30, **extra: Any
) -> dict[str, Any]:
    return {
        "org": "acme",
        "gpu_type": "h100",
        "gpus": gpus,
        "unit_price": "2.10",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=days)).isoformat(),
        **extra,
    }


def test_a_contract_lets_its_org_run_reserved_work(api: Api) -> None:
    acme = api.new_org("acme")
    job = {
        "command": ["true"],
        "tier": "reserved",
        "resources": {"gpu_type": "h100", "gpus_per_node": 4},
    }
    assert acme.post("/v1/jobs", json=job).status_code == 422
    r = api.http.post("/v1/contracts", json=_contract(4))
    assert r.status_code == 201, r.text
    assert Decimal(r.json()["unit_price"]) == Decimal("2.10")
    assert acme.post("/v1/jobs", json=job).status_code == 201
    assert [c["gpus"] for c in acme.get("/v1/contracts").json()] == [4]
    other = api.new_org("globex")
    assert other.get("/v1/contracts").json() == []
    assert other.get("/v1/contracts", params={"org": "acme"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (_contract(9), 409, "gpus"),  # the demo fleet has 8 h100
        (_contract(0), 422, "gpus"),
        (_contract(2, gpu_type="tpu"), 422, "gpu_type"),
        (_contract(2, days=-1), 422, "ends_at"),
        (_contract(2, org="research"), 422, "org"),
        (_contract(2, unit_price="-1"), 422, "unit_price"),
    ],
    ids=[
        "over-capacity",
        "zero",
        "unknown-type",
        "ends-before-start",
        "internal-org",
        "negative-price",
    ],
)
def test_bad_contracts_are_refused(api: Api, body: dict[str, Any], status: int, field: str) -> None:
    api.new_org("acme")
    r = api.http.post("/v1/contracts", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert api.http.get("/v1/contracts").json() == []


def test_contracts_together_never_promise_more_than_the_sellable_cap(api: Api) -> None:
    api.new_org("acme")
    api.http.put("/v1/sellable-caps", json={"gpu_type": "h100", "fraction": "0.5"})
    assert api.http.post("/v1/contracts", json=_contract(3)).status_code == 201
    assert api.http.post("/v1/contracts", json=_contract(2)).status_code == 409
    # A term that does not overlap is free to use the same GPUs.
    later = _contract(4, start=NOW + timedelta(days=60))
    assert api.http.post("/v1/contracts", json=later).status_code == 201


def test_borrow_limits_are_for_internal_orgs(api: Api) -> None:
    api.new_org("acme")
    r = api.http.put(
        "/v1/quotas", json={"org": "research", "gpu_type": "h100", "gpus": 4, "borrow_limit": 4}
    )
    assert r.status_code == 200 and r.json()["borrow_limit"] == 4
    r = api.http.put(
        "/v1/quotas", json={"org": "acme", "gpu_type": "h100", "gpus": 4, "borrow_limit": 2}
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "borrow_limit"


def test_the_scheduler_sees_contracts_limits_weights_and_decayed_usage(api: Api) -> None:
    api.new_org("acme")
    api.http.post("/v1/contracts", json=_contract(4))
    api.http.post("/v1/contracts", json=_contract(2, start=NOW + timedelta(days=5)))  # not yet
    api.http.put(
        "/v1/quotas", json={"org": "research", "gpu_type": "h100", "gpus": 4, "borrow_limit": 2}
    )
    from tests.api.test_invoices import _usage

    half_life = 3600.0
    _usage(
        api, "acme", "spot", "h100", 2, NOW - timedelta(hours=2), 3600
    )  # ended 1 h ago: 7200 → 3600
    with api.ctx.db.session() as s:
        snap = build_snapshot(s, lambda node: node.engine == "local", NOW, half_life)
    assert snap.contracts == {("acme", "h100"): 4}
    assert snap.borrow_limits == {("research", "h100"): 2}
    assert snap.quotas[("research", "h100")] == 4
    assert snap.weights["acme"] == 1
    # 2 GPUs for an hour, ended an hour ago, half-life an hour: each GPU-second halves per hour
    # since it was used, so the hour is worth 2 × h/ln2 × (1 − ½), halved once more.
    assert snap.usage["acme"] == pytest.approx(2 * 3600 / math.log(2) * 0.5 * 0.5, rel=1e-9)
    assert snap.now == pytest.approx(NOW.timestamp())
    # The kind of every org travels, so an internal org's idle quota counts as lendable even when
    # it has no job in the snapshot.
    assert snap.org_kinds["acme"] == "external" and snap.org_kinds["research"] == "internal"
    assert snap.fair_share_half_life_seconds == half_life
