"""Liveness and Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from neocloud.server import metrics
from neocloud.server.context import AppContext, Ctx
from neocloud.server.errors import ApiError
from neocloud.server.services import jobs as job_svc

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, str]:
    """OK when the database answers."""
    with ctx.db.session() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok"}


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


@router.get("/metrics")
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
