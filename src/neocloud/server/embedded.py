"""`neocloud up`: the embedded cloud (API + control loop + local engine + SQLite) in one process."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

from neocloud.engines.base import EngineNode
from neocloud.engines.local.engine import LocalEngine
from neocloud.engines.tenant_users import DEFAULT_PREFIX, TenantUsers
from neocloud.server.app import create_app
from neocloud.server.engines import check as engine_check
from neocloud.server.engines.factory import build_registry, local_isolation, local_networks
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.fleet.service import current_fleet
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import AppContext, ServerSettings
from neocloud.server.http.logs import configure_logging
from neocloud.server.http.outbound import parse_allow
from neocloud.server.http.secret_box import encrypt_plaintext_webhook_secrets
from neocloud.server.seed import active_operator_keys, seed, startup_operator_key
from neocloud.store.db import Database, sqlite_url
from neocloud.store.models import NodeRow

log = logging.getLogger("neocloud")


# ServerSettings an operator may set from the environment: variable → ServerSettings field.
ENVIRONMENT = {
    "NEOCLOUD_FAIR_SHARE_HALF_LIFE_SECONDS": "fair_share_half_life_seconds",
    "NEOCLOUD_USAGE_MAX_AGE_SECONDS": "usage_max_age_seconds",
    "NEOCLOUD_USAGE_MAX_FUTURE_SECONDS": "usage_max_future_seconds",
    "NEOCLOUD_USAGE_SETTLE_SECONDS": "usage_settle_seconds",
    "NEOCLOUD_BUDGET_INTERVAL_SECONDS": "budget_interval_seconds",
    "NEOCLOUD_WEBHOOK_TIMEOUT_SECONDS": "webhook_timeout_seconds",
    "NEOCLOUD_OUTBOUND_ALLOW": "outbound_allow",
    "NEOCLOUD_METRICS_TOKEN": "metrics_token",
    "NEOCLOUD_AUTH_FAILURE_LIMIT": "auth_failure_limit",
    "NEOCLOUD_AUTH_FAILURE_WINDOW_SECONDS": "auth_failure_window_seconds",
    "NEOCLOUD_SECRET_KEY": "secret_key",
    "NEOCLOUD_TRUSTED_PROXIES": "trusted_proxies",
    "NEOCLOUD_MAX_BODY_BYTES": "max_body_bytes",
    "NEOCLOUD_MAX_USAGE_EVENTS_BODY_BYTES": "max_usage_events_body_bytes",
    "NEOCLOUD_MAX_FLEET_BODY_BYTES": "max_fleet_body_bytes",
}


# The OS users tenants' work runs as on this machine (see engines.tenant_users): a pool of
# existing users (comma-separated names), else users made on demand with this name prefix.
TENANT_USER_POOL = "NEOCLOUD_TENANT_USER_POOL"
TENANT_USER_PREFIX = "NEOCLOUD_TENANT_USER_PREFIX"
# The data directory holds the database, keys' hashes and every attempt's files: the control
# plane's alone.
DATA_DIR_MODE = 0o700


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory for the control plane's user only (tightened if it exists)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=DATA_DIR_MODE)
    os.chmod(data_dir, DATA_DIR_MODE)


def tenant_users(data_dir: Path) -> TenantUsers:
    """Where tenants' OS users come from, as the operator configured it in the environment."""
    pool = [u.strip() for u in os.environ.get(TENANT_USER_POOL, "").split(",") if u.strip()]
    prefix = os.environ.get(TENANT_USER_PREFIX) or DEFAULT_PREFIX
    if pool:
        state = data_dir / "engine" / "tenant-users.json"
        return TenantUsers(pool=pool, pool_state=state, create=False, prefix=prefix)
    return TenantUsers(prefix=prefix)


def build_context(data_dir: Path, database_url: str | None = None) -> AppContext:
    """Open (and migrate) the database and build the engines for the current fleet."""
    prepare_data_dir(data_dir)
    url = database_url or os.environ.get("NEOCLOUD_DATABASE_URL") or sqlite_url(data_dir)
    db = Database(url)
    db.migrate()
    settings = ServerSettings(database_url=url, data_dir=data_dir)
    for variable, name in ENVIRONMENT.items():
        value = os.environ.get(variable)
        if value:
            kind = type(getattr(settings, name))
            if kind is tuple:  # a comma-separated list, e.g. NEOCLOUD_OUTBOUND_ALLOW
                setattr(settings, name, tuple(v.strip() for v in value.split(",") if v.strip()))
                continue
            try:
                setattr(settings, name, kind(value))
            except ValueError as exc:
                raise SystemExit(f"{variable}={value!r}: expected a {kind.__name__}") from exc
    try:
        parse_allow(settings.outbound_allow)
    except ValueError as exc:
        raise SystemExit(f"NEOCLOUD_OUTBOUND_ALLOW: {exc}") from None
    return AppContext(settings=settings, db=db, engines=EngineRegistry())


def local_engine(ctx: AppContext) -> LocalEngine:
    """The local engine over the fleet's nodes whose cluster runs on `local`."""
    from sqlalchemy import select

    with ctx.db.session() as s:
        nodes = [
            EngineNode(name=n.name, gpu_type=n.gpu_type, gpus=n.gpus)
            for n in s.scalars(select(NodeRow).where(NodeRow.engine == "local")).all()
        ]
        fleet = current_fleet(s)
    data_dir = ctx.settings.data_dir
    return LocalEngine(
        data_dir / "engine" / "local",
        nodes,
        isolation=local_isolation(fleet),
        tenant_users=tenant_users(data_dir),
        networks=local_networks(fleet),
    )


def prepare(
    data_dir: Path,
    fleet_file: Path | None = None,
    database_url: str | None = None,
    new_operator_key: bool = False,
) -> tuple[AppContext, str | None, list[str]]:
    """Everything `up` does before serving: migrate, seed, engines, and an operator key if none
    is active (or if asked); the key's secret is None when none was minted."""
    ctx = build_context(data_dir, database_url)
    with ctx.db.session() as s:
        done = seed(s, utcnow(), fleet_file)
        sealed = encrypt_plaintext_webhook_secrets(s, ctx.secrets)
        if sealed:
            done.append(f"encrypted {sealed} webhook signing secret(s) stored in clear")
        key = startup_operator_key(s, utcnow(), new=new_operator_key)
        active = len(active_operator_keys(s, utcnow()))
        fleet = current_fleet(s)
        declared = engine_check.declared_nodes(s)
    ctx.engines = build_registry(
        fleet, ctx.settings.data_dir, tenant_users=tenant_users(ctx.settings.data_dir)
    )
    # Reported now, so a misconfigured cluster is seen at start-up; the rest of the fleet works.
    for problem in engine_check.summary_lines(
        engine_check.refresh(ctx.engines, declared, utcnow())
    ):
        log.error("fleet check: %s", problem)
        done.append(f"PROBLEM: {problem} (see `neocloud fleet check`)")
    if key is None:
        done.append(f"{active} operator key(s) active: none minted")
    return ctx, (key.secret if key else None), done


def key_banner(url: str, secret: str | None) -> list[str]:
    """The start banner's lines about the operator key."""
    if secret is None:
        return [
            "Operator key: one is already active, so no new one was minted.",
            "  Use the key you kept; to mint another, restart with --new-operator-key, then",
            "  revoke the lost one (`neocloud keys list --org platform`, `neocloud keys revoke`).",
        ]
    return [
        "Operator key (shown once; keep it):",
        f"  export NEOCLOUD_URL={url}",
        f"  export NEOCLOUD_API_KEY={secret}",
    ]


def serving_options(settings: ServerSettings) -> dict[str, Any]:
    """uvicorn's options: quiet, and forwarded headers believed only from the trusted proxies."""
    proxies = settings.trusted_proxies
    return {
        "log_level": "warning",
        "access_log": False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
    }


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    data_dir: Path = Path("data"),
    fleet_file: Path | None = None,
    new_operator_key: bool = False,
) -> None:
    """Start the embedded cloud and serve until interrupted."""
    configure_logging()
    ctx, secret, done = prepare(data_dir.resolve(), fleet_file, new_operator_key=new_operator_key)
    url = f"http://{host}:{port}"
    banner = [
        f"neocloud is starting at {url}",
        f"  data in {ctx.settings.data_dir}, database {ctx.db.engine.url.render_as_string()}",
        *[f"  - {d}" for d in done],
        "",
        *key_banner(url, secret),
        "",
        f"API docs: {url}/docs",
    ]
    print("\n".join(banner), flush=True)
    uvicorn.run(create_app(ctx), host=host, port=port, **serving_options(ctx.settings))
    sys.stdout.flush()
