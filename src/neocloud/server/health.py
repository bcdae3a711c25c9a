"""Liveness and Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from neocloud.schemas.org_failures import OrgHealth
from neocloud.server.http import metrics
from neocloud.server.http.context import AppContext, Caller, Ctx
from neocloud.server.http.errors import ApiError
from neocloud.server.http.org_failures import FAILURES, failure_out
from neocloud.server.jobs import service as job_svc

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, object]:
    """OK when the database answers; `failing_orgs` counts orgs failing per loop or report
    (named, to those allowed to see them, by /v1/health/orgs)."""
    with ctx.db.session() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok", "failing_orgs": FAILURES.counts()}


@router.get("/v1/health/orgs", response_model=OrgHealth)
def org_health(p: Caller) -> OrgHealth:
    """Orgs whose share of a loop or report failed last time: every org for the operator,
    the caller's own org otherwise."""
    failures = FAILURES.current(None if p.is_operator else p.org_id)
    return OrgHealth(failing=[failure_out(f) for f in failures])


def require_metrics_token(ctx: AppContext, authorization: str | None) -> None:
    """401 unless the operator set no metrics token or the caller sends it as a bearer token."""
    expected = ctx.settings.metrics_token
    if not expected:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise ApiError(
            401,
            "unauthenticated",
            "metrics need 'Authorization: Bearer <metrics token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus(
    ctx: Ctx, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Response:
    """Prometheus text exposition (behind a bearer token when NEOCLOUD_METRICS_TOKEN is set)."""
    require_metrics_token(ctx, authorization)
    with ctx.db.session() as s:
        counts = job_svc.count_by_state(s)
        metrics.GPUS_ALLOCATED.set(job_svc.active_gpu_count(s))
    for state in (
        "pending",
        "scheduled",
        "running",
        "succeeded",
        "failed",
        "cancelled",
        "preempted",
    ):
        metrics.JOBS.labels(state=state).set(counts.get(state, 0))
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
