"""What every request and loop shares: settings, the database and the engines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Request

from neocloud.domain.webhooks import DEFAULT_RETRY_SCHEDULE
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.http import auth_throttle as throttle
from neocloud.server.http.audit_scope import set_principal
from neocloud.server.http.auth import Principal, authenticate
from neocloud.server.http.clock import utcnow
from neocloud.server.http.errors import ApiError
from neocloud.server.http.outbound import OutboundGuard
from neocloud.server.http.secret_box import SecretBox, load_or_create_key
from neocloud.store.db import Database


@dataclass
class ServerSettings:
    """Control-plane settings; `neocloud up` fills them from flags and the environment."""

    database_url: str
    data_dir: Path
    loop_interval_seconds: float = 0.5
    # Fair share: how fast past usage stops counting against an org (Slurm's PriorityDecayHalfLife).
    fair_share_half_life_seconds: float = 7 * 86_400
    invoice_prefix: str = "NC"
    # Usage events: how old an event may be (late events of a finalized period are still taken,
    # as adjustments) and how far ahead of the server's clock (sender clock skew).
    usage_max_age_seconds: int = 35 * 86_400
    usage_max_future_seconds: int = 300
    # Finalizing bills usage recorded or received up to this long before it; anything newer is
    # billed as a late adjustment next time. The usage lock already makes the cutoff exact, so
    # this is only for operators who want recent usage to wait for the next invoice.
    usage_settle_seconds: int = 0
    # Webhooks: how often due deliveries are looked for, how long a receiver may take, and the
    # waits between failed attempts (the delivery fails once they are spent, about a day).
    webhook_interval_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0
    webhook_retry_schedule_seconds: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    # Budgets: how often each budget's spend is compared with its thresholds.
    budget_interval_seconds: float = 5.0
    # Request bodies larger than this are refused with 413 before they are parsed; usage-event
    # batches (up to 10,000 events) and fleet files have their own, larger limits.
    max_body_bytes: int = 1024 * 1024
    max_usage_events_body_bytes: int = 16 * 1024 * 1024
    max_fleet_body_bytes: int = 8 * 1024 * 1024
    # Outbound requests (webhooks) reach public addresses only, except these `host[:port]`
    # receivers the operator names (NEOCLOUD_OUTBOUND_ALLOW, comma-separated).
    outbound_allow: tuple[str, ...] = ()
    # When set, GET /metrics wants `Authorization: Bearer <this>` (NEOCLOUD_METRICS_TOKEN).
    metrics_token: str = ""
    # Failed authentications allowed per client address and per key prefix: a bucket of this
    # many, refilled over the window (per process).
    auth_failure_limit: int = 20
    auth_failure_window_seconds: float = 60.0
    # Encrypts webhook signing secrets at rest (base64 of 32 bytes, NEOCLOUD_SECRET_KEY); when
    # empty, the key is read from (or created in) <data_dir>/secret.key, mode 0600.
    secret_key: str = ""
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    # networks, NEOCLOUD_TRUSTED_PROXIES). None by default: a client could otherwise claim any
    # address and so dodge the failed-authentication throttle and write the audit log's `client`.
    trusted_proxies: tuple[str, ...] = ()
    run_loops: bool = True
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class AppContext:
    """Shared by routers and loops."""

    settings: ServerSettings
    db: Database
    engines: EngineRegistry
    # Built from the settings when the context is made.
    secrets: SecretBox = field(init=False)
    auth_throttle: throttle.AuthThrottle = field(init=False)

    def __post_init__(self) -> None:
        key = load_or_create_key(self.settings.data_dir, self.settings.secret_key)
        self.secrets = SecretBox(key)
        self.auth_throttle = throttle.AuthThrottle(
            self.settings.auth_failure_limit, self.settings.auth_failure_window_seconds
        )

    def outbound(self) -> OutboundGuard:
        """The guard for outbound requests, with the operator's allow-list."""
        return OutboundGuard(self.settings.outbound_allow)


def get_context(request: Request) -> AppContext:
    """The app's context."""
    ctx: AppContext = request.app.state.ctx
    return ctx


def get_project_principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Authenticate the caller's key (401 if missing, invalid, revoked or expired).

    For routes that confine a project-scoped key to its project themselves (`ProjectCaller`).
    """
    ctx = get_context(request)
    address = request.client.host if request.client else "unknown"
    throttle.check_address(ctx.auth_throttle, address)
    try:
        with ctx.db.session() as s:
            principal = authenticate(s, authorization, utcnow())
    except ApiError as exc:
        if exc.status != 401:
            raise
        raise throttle.failure(ctx.auth_throttle, address, authorization, exc) from None
    # From here on, what the request changes is audited as this key's doing.
    set_principal(principal)
    return principal


def get_principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Authenticate the caller's key and refuse project-scoped keys (403).

    The default for every route: one that serves project-scoped keys must say so by taking a
    `ProjectCaller` and filtering by `Principal.project_scope`, so a new route is closed to them
    until someone decides how it confines them.
    """
    p = get_project_principal(request, authorization)
    p.require_org_wide()
    return p


Ctx = Annotated[AppContext, Depends(get_context)]
# Org-wide routes: project-scoped keys get 403.
Caller = Annotated[Principal, Depends(get_principal)]
# Routes that confine a project-scoped key to its project (jobs, usage, spend, catalogue reads).
ProjectCaller = Annotated[Principal, Depends(get_project_principal)]
