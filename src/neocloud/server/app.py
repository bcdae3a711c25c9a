"""The FastAPI application: routers, error envelope, metrics, and the control loop's lifetime."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute

from neocloud import __version__
from neocloud.server import health
from neocloud.server.audit.wiring import install_audit
from neocloud.server.billing import budgets_router, credits_router, documents_router, exports_router
from neocloud.server.billing import router as invoices_router
from neocloud.server.economics import router as margin_router
from neocloud.server.events import router as events_router
from neocloud.server.fleet import contracts_router, prices_router
from neocloud.server.fleet import router as fleet_router
from neocloud.server.http import metrics
from neocloud.server.http.body_limit import BodyLimit, settings_limits
from neocloud.server.http.context import AppContext
from neocloud.server.http.errors import install_error_handlers
from neocloud.server.http.params import check_params
from neocloud.server.jobs import router as jobs_router
from neocloud.server.jobs.control_loop import ControlLoop
from neocloud.server.metering import router as metering_router
from neocloud.server.metering import usage_router
from neocloud.server.openapi import declare_error_responses
from neocloud.server.tenancy import router as tenancy_router
from neocloud.server.webhooks import router as webhooks_router
from neocloud.server.webhooks.delivery_loop import WebhookLoop

# Registration order is the OpenAPI document's order: the platform, then each domain.
ROUTERS = (
    health,
    tenancy_router,
    fleet_router,
    contracts_router,
    jobs_router,
    usage_router,
    prices_router,
    invoices_router,
    margin_router,
    metering_router,
    credits_router,
    webhooks_router,
    budgets_router,
    events_router,
    documents_router,
    exports_router,
)


def create_app(ctx: AppContext) -> FastAPI:
    """Build the API around a context; the control loop runs while the app is up."""
    loop = ControlLoop(
        ctx.db,
        ctx.engines,
        interval_seconds=ctx.settings.loop_interval_seconds,
        half_life_seconds=ctx.settings.fair_share_half_life_seconds,
    )
    # Webhook deliveries and budget alerts run beside the control loop, never inside its tick.
    events_loop = WebhookLoop(
        ctx.db,
        interval_seconds=ctx.settings.webhook_interval_seconds,
        budget_interval_seconds=ctx.settings.budget_interval_seconds,
        timeout_seconds=ctx.settings.webhook_timeout_seconds,
        retry_schedule=ctx.settings.webhook_retry_schedule_seconds,
        guard=ctx.outbound(),
        secrets=ctx.secrets,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if ctx.settings.run_loops:
            loop.start()
            events_loop.start()
        try:
            yield
        finally:
            loop.stop()
            events_loop.stop()
            ctx.engines.close()

    app = FastAPI(
        title="neocloud",
        version=__version__,
        description="Sell your own GPU fleet as a cloud: jobs, usage, invoices and margins.",
        lifespan=lifespan,
        dependencies=[Depends(check_params)],
    )
    app.state.ctx = ctx
    app.state.loop = loop
    app.state.events_loop = events_loop
    install_error_handlers(app)
    declare_error_responses(app)
    for module in ROUTERS:
        app.include_router(module.router)

    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        began = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = route.path if isinstance(route, APIRoute) else "unmatched"
        metrics.REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(request.method, path).observe(time.perf_counter() - began)
        return response

    app.add_middleware(BodyLimit, limit_for=settings_limits(ctx.settings))
    # Every state-changing call is audited (its changes, or its refusal) and /v1/audit reads
    # it; added last, so its middleware is the outermost and sees the body limit's refusals too.
    install_audit(app, ctx.db)
    return app
