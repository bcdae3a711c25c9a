"""Wire payloads as the server sends them (Decimals as strings, datetimes in ISO 8601 UTC)."""

from __future__ import annotations

from typing import Any

T0 = "2026-11-01T00:00:00Z"


def org(**over: Any) -> dict[str, Any]:
    """An org."""
    return {
        "id": "org_1",
        "name": "acme",
        "kind": "external",
        "display_name": "Acme",
        "created_at": T0,
    } | over


def project(**over: Any) -> dict[str, Any]:
    """A project."""
    return {"id": "prj_1", "org_id": "org_1", "name": "vision", "created_at": T0} | over


def member(**over: Any) -> dict[str, Any]:
    """A member."""
    return {
        "id": "mem_1",
        "org_id": "org_1",
        "email": "ada@acme.test",
        "role": "admin",
        "created_at": T0,
    } | over


def api_key(**over: Any) -> dict[str, Any]:
    """An API key's metadata."""
    return {
        "id": "key_1",
        "org_id": "org_1",
        "project_id": None,
        "name": "ci",
        "role": "member",
        "prefix": "nc_ab12",
        "created_at": T0,
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": None,
    } | over


def whoami(**over: Any) -> dict[str, Any]:
    """A whoami answer."""
    return {
        "key_id": "key_1",
        "org_id": "org_1",
        "org_name": "acme",
        "org_kind": "external",
        "role": "member",
        "project_id": None,
    } | over


def fleet_summary(**over: Any) -> dict[str, Any]:
    """A fleet summary."""
    return {
        "regions": ["eu-west"],
        "clusters": ["c1"],
        "gpu_types": [
            {"gpu_type": "h100", "gpus": 16, "gpus_allocated": 4, "sellable_cap": "0.3"},
        ],
        "nodes": 2,
        "gpus": 16,
    } | over


def node(**over: Any) -> dict[str, Any]:
    """A node."""
    return {
        "name": "n1",
        "region": "eu-west",
        "cluster": "c1",
        "gpu_type": "h100",
        "gpus": 8,
        "cpus": 96,
        "memory_gb": 1024,
        "node_model": "dgx-h100",
        "topology": {"nvlink_domain": "d1"},
        "schedulable": True,
        "gpus_allocated": 2,
    } | over


def offering(**over: Any) -> dict[str, Any]:
    """An offering."""
    return {
        "gpu_type": "h100",
        "max_gpus_per_node": 8,
        "prices": {"on_demand": "2.49", "spot": "1.10"},
        "currency": "USD",
    } | over


def quota(**over: Any) -> dict[str, Any]:
    """A quota."""
    return {
        "org_id": "org_1",
        "org_name": "acme",
        "gpu_type": "h100",
        "gpus": 16,
        "borrow_limit": 0,
    } | over


def job(**over: Any) -> dict[str, Any]:
    """A job."""
    return {
        "id": "job_1",
        "org_id": "org_1",
        "project_id": None,
        "name": "train",
        "command": ["python", "train.py"],
        "env": {},
        "working_dir": None,
        "gpu_type": "h100",
        "gpus_per_node": 2,
        "nodes": 1,
        "tier": "spot",
        "priority_class": None,
        "max_runtime_seconds": 3600,
        "grace_seconds": 30,
        "requeue_on_preemption": True,
        "max_attempts": None,
        "state": "pending",
        "reason": "quota",
        "message": "quota: org acme holds 16/16 h100",
        "exit_code": None,
        "attempts": 0,
        "created_at": T0,
        "started_at": None,
        "ended_at": None,
        "allocations": [],
    } | over


def job_event(**over: Any) -> dict[str, Any]:
    """A job event."""
    return {
        "seq": 1,
        "at": T0,
        "from_state": None,
        "to_state": "pending",
        "reason": "submitted",
        "message": None,
        "details": {},
    } | over


def job_logs(**over: Any) -> dict[str, Any]:
    """A chunk of logs."""
    return {"job_id": "job_1", "offset": 0, "next_offset": 0, "data": "", "complete": False} | over


def usage_record(**over: Any) -> dict[str, Any]:
    """A usage record."""
    return {
        "id": "use_1",
        "org_id": "org_1",
        "project_id": None,
        "job_id": "job_1",
        "gpu_type": "h100",
        "tier": "spot",
        "region": "eu-west",
        "gpus": 2,
        "started_at": T0,
        "ended_at": "2026-11-01T01:00:00Z",
        "gpu_seconds": "7200",
    } | over


def usage_row(**over: Any) -> dict[str, Any]:
    """A usage summary row."""
    return {"gpu_type": "h100", "gpu_seconds": "7200", "gpu_hours": "2"} | over


def price(**over: Any) -> dict[str, Any]:
    """A price-book entry."""
    return {
        "id": "prc_1",
        "gpu_type": "h100",
        "tier": "spot",
        "region": None,
        "unit_price": "1.10",
        "currency": "USD",
        "effective_from": T0,
    } | over


def invoice(**over: Any) -> dict[str, Any]:
    """A draft invoice with one line."""
    return {
        "id": "inv_1",
        "org_id": "org_1",
        "kind": "invoice",
        "number": None,
        "status": "draft",
        "period": "2026-11",
        "period_start": T0,
        "period_end": "2026-12-01T00:00:00Z",
        "currency": "USD",
        "subtotal": "2.20",
        "tax": "0.00",
        "total": "2.20",
        "credits_applied": "0.00",
        "amount_due": "2.20",
        "lines": [
            {
                "kind": "usage",
                "description": "h100 spot",
                "meter": "gpu_seconds",
                "gpu_type": "h100",
                "tier": "spot",
                "region": None,
                "quantity": "2",
                "unit": "gpu_hour",
                "unit_price": "1.10",
                "amount": "2.20",
                "ref": None,
                "service_start": T0,
                "service_end": "2026-12-01T00:00:00Z",
            }
        ],
        "created_at": T0,
        "finalized_at": None,
        "paid_at": None,
        "voided_at": None,
    } | over


def margin_report(**over: Any) -> dict[str, Any]:
    """A margin report: one month, one H100 pool, one spot customer."""
    row = {
        "gpu_hours_used": "2",
        "revenue": "2.20",
        "used_cost": "3.19",
        "shared_idle_cost": "0",
        "idle_cost": "0",
        "gross_margin": "-0.99",
        "margin_pct": "-45",
        "margin_after_idle": "-0.99",
        "internal_gpu_hours": "0",
        "internal_cost": "0",
        "opportunity_value": "0",
    }
    capacity = {
        "capacity_gpu_hours": "11520",
        "utilisation": "0.0002",
        "idle_cost": "18376.97",
        "margin_after_idle": "-18377.96",
    }
    return {
        "start": T0,
        "end": "2026-12-01T00:00:00Z",
        "currency": "USD",
        "idle_share": "line",
        "capacity_gpu_hours": "11520",
        "used_gpu_hours": "2",
        "utilisation": "0.0002",
        "revenue": "2.20",
        "used_cost": "3.19",
        "shared_idle_cost": "0",
        "idle_cost": "18376.97",
        "total_cost": "18380.16",
        "gross_margin": "-0.99",
        "margin_pct": "-45",
        "margin_after_idle": "-18377.96",
        "internal_gpu_hours": "0",
        "internal_cost": "0",
        "opportunity_value": "0",
        "by_gpu_type": [row | capacity | {"gpu_type": "h100"}],
        "by_tier": [row | {"tier": "spot"}],
        "by_org": [row | {"org": "org_1", "org_name": "acme"}],
        "by_region": [row | capacity | {"region": "us-east"}],
        "by_month": [row | capacity | {"month": "2026-11"}],
        "pricing": [
            {
                "gpu_type": "h100",
                "gpus": 16,
                "fixed": "1.46292",
                "busy_energy": "0.1326",
                "idle_energy": "0.03978",
                "wear": "0.22831",
                "full_cost": "1.59552",
                "price_floor": "0.32113",
                "list_price": "2.50",
                "utilisation": "0.0002",
                "cost_per_used_gpu_hour": "7503.1",
                "break_even_utilisation": "0.6173",
                "target_margin_pct": "20",
                "target_price": "9378.9",
            }
        ],
    } | over


def cost(**over: Any) -> dict[str, Any]:
    """A cost breakdown (the DESIGN.md §5 worked example)."""
    return {
        "node_model": "dgx-h100",
        "gpus_per_node": 8,
        "currency": "USD",
        "depreciation": "1.14155",
        "capital": "0",
        "energy": "0.13260",
        "space": "0.32137",
        "opex": "0",
        "total": "1.59552",
    } | over


def page(items: list[dict[str, Any]], next_cursor: str | None = None) -> dict[str, Any]:
    """A page envelope."""
    return {"items": items, "next_cursor": next_cursor}


def contract(**over: Any) -> dict[str, Any]:
    """A reserved contract."""
    return {
        "id": "ctr_1",
        "org_id": "org_1",
        "org_name": "acme",
        "gpu_type": "h100",
        "gpus": 16,
        "starts_at": T0,
        "ends_at": "2027-11-01T00:00:00Z",
        "unit_price": "2.10",
        "currency": "USD",
        "created_at": T0,
    } | over


def meter(**over: Any) -> dict[str, Any]:
    """A declared meter."""
    return {
        "name": "input_tokens",
        "aggregation": "sum",
        "unit": "token",
        "unique_by": None,
        "group_by": ["model"],
        "description": "Prompt tokens",
        "reported": True,
    } | over


def gpu_meter() -> dict[str, Any]:
    """The built-in GPU meter."""
    return meter(
        name="gpu_seconds",
        unit="GPU-second",
        group_by=["gpu_type", "tier", "region"],
        description="GPU time",
        reported=False,
    )


def usage_event(**over: Any) -> dict[str, Any]:
    """A stored usage event."""
    return {
        "id": "evt-1",
        "org_id": "org_1",
        "project_id": None,
        "meter": "input_tokens",
        "value": "1500",
        "time": T0,
        "dimensions": {"model": "llama-70b"},
        "received_at": T0,
    } | over


def events_accepted(**over: Any) -> dict[str, Any]:
    """What a batch of usage events did."""
    return {"received": 2, "accepted": 2, "duplicates": 0} | over


def spend(**over: Any) -> dict[str, Any]:
    """An org's spend so far this period, with one GPU line and one token line."""
    return {
        "org_id": "org_1",
        "project_id": None,
        "period": "2026-11",
        "as_of": "2026-11-15T12:00:00Z",
        "amount": "2.35",
        "currency": "USD",
        "lines": [
            {
                "kind": "usage",
                "description": "h100 spot",
                "meter": "gpu_seconds",
                "gpu_type": "h100",
                "tier": "spot",
                "region": None,
                "quantity": "2",
                "unit": "gpu_hour",
                "unit_price": "1.10",
                "amount": "2.20",
                "ref": None,
                "service_start": T0,
                "service_end": "2026-11-15T12:00:00Z",
            },
            {
                "kind": "usage",
                "description": "input_tokens llama-70b",
                "meter": "input_tokens",
                "gpu_type": None,
                "tier": None,
                "region": None,
                "quantity": "150000",
                "unit": "token",
                "unit_price": "0.000001",
                "amount": "0.15",
                "ref": None,
                "service_start": T0,
                "service_end": "2026-11-15T12:00:00Z",
            },
        ],
    } | over


def billing_terms(**over: Any) -> dict[str, Any]:
    """An org's billing terms as stored (prepaid, a credit limit of 0)."""
    return {
        "org_id": "org_1",
        "currency": "USD",
        "discount_percent": "10",
        "minimum_spend": "500.00",
        "tax_rate": "0.2",
        "credit_limit": "0.00",
        "stop_grace_seconds": 300,
        "updated_at": T0,
    } | over


def grant(**over: Any) -> dict[str, Any]:
    """A prepaid credit grant and what is left on it."""
    return {
        "id": "grt_1",
        "org_id": "org_1",
        "kind": "prepaid",
        "amount": "10.00",
        "remaining": "10.00",
        "currency": "USD",
        "effective_at": T0,
        "expires_at": None,
        "priority": 0,
        "description": "",
    } | over


def credit_status(**over: Any) -> dict[str, Any]:
    """A prepaid org's credit position: a promotional grant used first, then a prepaid one."""
    return {
        "org_id": "org_1",
        "currency": "USD",
        "available_credit": "35.50",
        "grants": [
            grant(
                id="grt_2",
                kind="promotional",
                amount="30.00",
                remaining="25.50",
                expires_at="2027-01-01T00:00:00Z",
                description="welcome",
            ),
            grant(),
        ],
        "credit_limit": "100.00",
        "period_spend": "4.50",
        "unpaid_invoices": "20.00",
        "held_for_active_jobs": "1.25",
        "headroom": "109.75",
    } | over


def ledger_posting(**over: Any) -> dict[str, Any]:
    """One posting of a grant's issuing transaction."""
    return {
        "transaction_id": "txn_1",
        "kind": "grant",
        "account": "grant:grt_1",
        "amount": "10.00",
        "currency": "USD",
        "ref": "grt_1",
        "at": T0,
    } | over


def token_charge(**over: Any) -> dict[str, Any]:
    """A graduated charge: the first million tokens free, then 0.000002 each."""
    return {
        "model": "graduated",
        "unit_price": None,
        "tiers": [
            {"up_to": "1000000", "unit_price": "0", "flat_fee": "0"},
            {"up_to": None, "unit_price": "0.000002", "flat_fee": "0"},
        ],
        "package_size": None,
        "package_price": None,
    } | over
