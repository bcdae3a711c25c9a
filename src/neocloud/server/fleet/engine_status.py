"""The fleet as its engines report it: each cluster's engine and nodes, last seen or asked now."""

from __future__ import annotations

from datetime import datetime

from neocloud.domain.tenancy import Permission
from neocloud.schemas import fleet as api
from neocloud.server.engines import check as engine_check
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.fleet import service as svc
from neocloud.server.http.auth import Principal
from neocloud.store.db import Database


def summary_with_engines(db: Database, engines: EngineRegistry, p: Principal) -> api.FleetSummary:
    """Capacity per GPU type, and each cluster's engine as last seen (no engine is asked)."""
    with db.session() as s:
        summary = svc.summary(s, p)
        declared = engine_check.declared_nodes(s)
    summary.engines = _checks(engine_check.last_known(engines, declared))
    return summary


def check_now(db: Database, engines: EngineRegistry, p: Principal, now: datetime) -> api.FleetCheck:
    """Ask every cluster's engine now (outside any transaction) and compare with the fleet file."""
    p.require(Permission.OPERATE)
    with db.session() as s:
        declared = engine_check.declared_nodes(s)
    checks = _checks(engine_check.refresh(engines, declared, now))
    return api.FleetCheck(ok=all(c.ok for c in checks), clusters=checks)


def _checks(reports: list[engine_check.ClusterReport]) -> list[api.ClusterCheck]:
    return [
        api.ClusterCheck(
            cluster=r.cluster,
            engine_kind=r.kind,
            engine=r.engine,
            state=r.state.value,
            message=r.message,
            ok=r.ok,
            nodes=[
                api.NodeCheck(name=n.name, state=n.state.value, message=n.message) for n in r.nodes
            ],
        )
        for r in reports
    ]
