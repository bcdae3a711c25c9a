"""The credit guard's pass: pending work cancelled, running work noticed, stopped or restored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from neocloud.server.jobs.credit_guard import enforce
from neocloud.store.models import JobEventRow, JobRow
from tests.api.billing_rows import record_usage
from tests.api.conftest import Api

NOW = datetime.now(UTC)
START = max(NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0), NOW - timedelta(hours=3))


def _reasons(api: Api, job_id: str) -> list[str]:
    with api.ctx.db.session() as s:
        return list(
            s.scalars(
                select(JobEventRow.reason)
                .where(JobEventRow.job_id == job_id)
                .order_by(JobEventRow.seq)
            )
        )


def _job(api: Api, job_id: str) -> JobRow:
    with api.ctx.db.session() as s:
        job = s.get(JobRow, job_id)
        assert job is not None
        return job


def test_out_of_credit_cancels_pending_notices_running_and_stops_after_grace(api: Api) -> None:
    acme = api.new_org("acme")
    spot = {
        "command": ["true"],
        "tier": "spot",
        "resources": {"gpu_type": "h100", "gpus_per_node": 1},
    }
    pending = acme.post("/v1/jobs", json=spot).json()["id"]
    running = record_usage(api, "acme", "on_demand", "h100", 1, START, None)
    reserved = record_usage(api, "acme", "reserved", "h100", 1, START, None)
    terms = {"credit_limit": "0.00", "stop_grace_seconds": 60}
    assert api.http.put("/v1/orgs/acme/billing-terms", json=terms).status_code == 200

    with api.ctx.db.session() as s:
        first = enforce(s, NOW)
    assert first.exhausted_orgs == ["acme"]
    assert first.cancelled_pending == [pending]
    assert first.noticed == [running]  # reserved work is paid by its contract: untouched
    assert _job(api, pending).reason == "credit_limit"

    with api.ctx.db.session() as s:
        assert enforce(s, NOW + timedelta(seconds=30)).stopped == []  # still within the grace
    with api.ctx.db.session() as s:
        assert enforce(s, NOW + timedelta(seconds=61)).stopped == [running]
    assert _job(api, running).cancel_requested is True
    assert _reasons(api, running)[-2:] == ["credit_limit_notice", "credit_limit_stop"]
    assert "credit_limit_notice" not in _reasons(api, reserved)
    events = [e["type"] for e in api.http.get("/v1/events", params={"org": "acme"}).json()["items"]]
    assert events == ["credit.exhausted"]  # once per episode, not on every pass


def test_credit_added_within_the_grace_withdraws_the_notice(api: Api) -> None:
    api.new_org("acme")
    running = record_usage(api, "acme", "spot", "h100", 2, START, None)
    api.http.put(
        "/v1/orgs/acme/billing-terms", json={"credit_limit": "0", "stop_grace_seconds": 60}
    )
    with api.ctx.db.session() as s:
        assert enforce(s, NOW).noticed == [running]
    grant = {"org": "acme", "kind": "prepaid", "amount": "1000"}
    assert api.http.post("/v1/credits/grants", json=grant).status_code == 201
    later = datetime.now(UTC)  # the grant is in force from the moment it was given
    with api.ctx.db.session() as s:
        assert enforce(s, later + timedelta(seconds=5)).restored == [running]
    with api.ctx.db.session() as s:
        assert enforce(s, later + timedelta(seconds=120)).stopped == []
    assert _job(api, running).cancel_requested is False


def test_postpaid_orgs_are_never_stopped(api: Api) -> None:
    api.new_org("acme")
    record_usage(api, "acme", "spot", "h100", 2, START, None)
    with api.ctx.db.session() as s:
        report = enforce(s, NOW)
    assert report.exhausted_orgs == [] and report.noticed == []
