"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from neocloud.server import metrics
from neocloud.server.context import Ctx
from neocloud.server.services import jobs as job_svc

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(ctx: Ctx) -> dict[str, str]:
    """OK when the database answers."""
    with ctx.db.session() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics")
def prometheus(ctx: Ctx) -> Response:
    """Prometheus text exposition."""
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
