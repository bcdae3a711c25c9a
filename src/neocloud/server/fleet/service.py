"""The fleet: load and validate fleet files, nodes, quotas, sellable caps and offerings."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neocloud.billing.pricebook import price_at
from neocloud.domain.fleet import Fleet
from neocloud.domain.jobs import JobState, Tier
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.economics.cost_model import cost_per_gpu_hour
from neocloud.engines.options import read_fleet
from neocloud.schemas import fleet as api
from neocloud.server.fleet.gpu_types import require_gpu_type
from neocloud.server.fleet.prices import load_price_book
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import ApiError, invalid, not_found
from neocloud.server.http.pagination import page_of, paginate
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.models import (
    AllocationRow,
    FleetFileRow,
    JobRow,
    NodeRow,
    OrgRow,
    QuotaRow,
    SellableCapRow,
)

ACTIVE_STATES = (JobState.SCHEDULED.value, JobState.RUNNING.value)


def validate(text: str) -> api.FleetValidation:
    """Every problem of a fleet file, with its path."""
    parsed = read_fleet(text)
    problems = [
        api.FleetProblem(path=p.path, message=p.message, line=p.line) for p in parsed.problems
    ]
    fleet = parsed.fleet
    return api.FleetValidation(
        valid=not problems,
        problems=problems,
        nodes=len(fleet.nodes) if fleet else 0,
        gpus=sum(n.gpus for n in fleet.nodes) if fleet else 0,
    )


def current_fleet(s: Session) -> Fleet | None:
    """The fleet as last loaded, rebuilt from its file (None before any load)."""
    row = s.scalars(select(FleetFileRow).order_by(FleetFileRow.id.desc()).limit(1)).first()
    if row is None:
        return None
    parsed = read_fleet(row.yaml)
    return parsed.fleet


def load(s: Session, p: Principal, text: str, now: datetime) -> api.FleetSummary:
    """Load a fleet file: new nodes join, removed nodes retire (their running jobs finish)."""
    p.require(Permission.OPERATE)
    return load_fleet_text(s, text, now)


def load_fleet_text(s: Session, text: str, now: datetime) -> api.FleetSummary:
    """Load a fleet file without an auth check (start-up seeding uses this)."""
    parsed = read_fleet(text)
    if parsed.fleet is None or parsed.problems:
        problems = [{"path": x.path, "message": x.message, "line": x.line} for x in parsed.problems]
        first = problems[0] if problems else {"path": "<yaml>", "message": "invalid fleet"}
        raise ApiError(
            422,
            "invalid_fleet",
            f"fleet file has {len(problems)} problem(s); "
            f"first: {first['path']}: {first['message']}",
            {"field": "yaml", "problems": problems},
        )
    fleet = parsed.fleet
    engines = {c.name: c.engine for c in fleet.clusters}
    existing = {n.name: n for n in s.scalars(select(NodeRow)).all()}
    for node in fleet.nodes:
        row = existing.pop(node.name, None)
        if row is None:
            row = NodeRow(name=node.name, schedulable=True)
            s.add(row)
        row.region = node.region
        row.cluster = node.cluster
        row.engine = engines[node.cluster]
        row.gpu_type = node.gpu_type
        row.gpus = node.gpus
        row.cpus = node.cpus
        row.memory_gb = node.memory_gb
        row.node_model = node.node_model
        row.topology = dict(node.topology)
        row.domain = node.domain(fleet.topology_key)
        row.retired = False
    for gone in existing.values():
        gone.retired = True
    s.add(FleetFileRow(yaml=text, loaded_at=now))
    s.flush()
    return summary_unchecked(s)


def _allocated_by_node(s: Session) -> dict[str, int]:
    rows = s.execute(
        select(AllocationRow.node, AllocationRow.gpu_indices)
        .join(JobRow, JobRow.id == AllocationRow.job_id)
        .where(AllocationRow.ended_at.is_(None), JobRow.state.in_(ACTIVE_STATES))
    ).all()
    out: Counter[str] = Counter()
    for node, indices in rows:
        out[node] += len(indices)
    return dict(out)


def caps(s: Session) -> dict[str, Decimal]:
    """Sellable cap per GPU type (missing = 1)."""
    return {r.gpu_type: r.fraction for r in s.scalars(select(SellableCapRow)).all()}


def summary(s: Session, p: Principal) -> api.FleetSummary:
    """The fleet as the operator sees it."""
    p.require(Permission.OPERATE)
    return summary_unchecked(s)


def summary_unchecked(s: Session) -> api.FleetSummary:
    """Fleet summary without an auth check."""
    nodes = s.scalars(select(NodeRow).where(NodeRow.retired.is_(False))).all()
    allocated = _allocated_by_node(s)
    cap = caps(s)
    by_type: dict[str, list[int]] = {}
    for n in nodes:
        acc = by_type.setdefault(n.gpu_type, [0, 0])
        acc[0] += n.gpus
        acc[1] += allocated.get(n.name, 0)
    return api.FleetSummary(
        regions=sorted({n.region for n in nodes}),
        clusters=sorted({n.cluster for n in nodes}),
        gpu_types=[
            api.GpuTypeCapacity(
                gpu_type=t, gpus=v[0], gpus_allocated=v[1], sellable_cap=cap.get(t, Decimal(1))
            )
            for t, v in sorted(by_type.items())
        ],
        nodes=len(nodes),
        gpus=sum(n.gpus for n in nodes),
    )


def list_nodes(
    s: Session, p: Principal, cursor: str | None, limit: int
) -> tuple[list[api.NodeOut], str | None]:
    """Nodes with their allocation (operators only: customers never see node details)."""
    p.require(Permission.OPERATE)
    stmt = select(NodeRow).where(NodeRow.retired.is_(False))
    rows = s.scalars(paginate(stmt, NodeRow.name, cursor, limit)).all()
    items, nxt = page_of(rows, limit, lambda r: r.name)
    allocated = _allocated_by_node(s)
    return [
        api.NodeOut(
            name=r.name,
            region=r.region,
            cluster=r.cluster,
            gpu_type=r.gpu_type,
            gpus=r.gpus,
            cpus=r.cpus,
            memory_gb=r.memory_gb,
            node_model=r.node_model,
            topology=r.topology,
            schedulable=r.schedulable,
            gpus_allocated=allocated.get(r.name, 0),
        )
        for r in items
    ], nxt


def offerings(s: Session, p: Principal, now: datetime) -> list[api.Offering]:
    """GPU types on sale and their current prices; external orgs never see the internal tier."""
    p.require(Permission.READ)
    rows = s.execute(
        select(NodeRow.gpu_type, func.max(NodeRow.gpus))
        .where(NodeRow.retired.is_(False))
        .group_by(NodeRow.gpu_type)
        .order_by(NodeRow.gpu_type)
    ).all()
    book = load_price_book(s)
    tiers = [t for t in Tier if t is not Tier.INTERNAL or p.org_kind is OrgKind.INTERNAL]
    out = []
    for gpu_type, max_gpus in rows:
        prices: dict[Tier, Decimal] = {}
        currency = "USD"
        for tier in tiers:
            entry = price_at(book, gpu_type, tier, now)
            if entry is not None:
                prices[tier] = entry.unit_price
                currency = entry.currency
        out.append(
            api.Offering(
                gpu_type=gpu_type, max_gpus_per_node=max_gpus, prices=prices, currency=currency
            )
        )
    return out


def set_quota(s: Session, p: Principal, body: api.QuotaSet) -> api.Quota:
    """Set an org's quota of a GPU type."""
    p.require(Permission.OPERATE)
    org = resolve_org(s, p, body.org)
    require_gpu_type(s, body.gpu_type)
    if body.borrow_limit and OrgKind(org.kind) is not OrgKind.INTERNAL:
        raise invalid("borrow_limit", "only internal orgs borrow; external orgs buy contracts")
    row = s.get(QuotaRow, (org.id, body.gpu_type))
    if row is None:
        row = QuotaRow(org_id=org.id, gpu_type=body.gpu_type, gpus=body.gpus)
        s.add(row)
    row.gpus = body.gpus
    row.borrow_limit = body.borrow_limit
    s.flush()
    return api.Quota(
        org_id=org.id,
        org_name=org.name,
        gpu_type=row.gpu_type,
        gpus=row.gpus,
        borrow_limit=row.borrow_limit,
    )


def list_quotas(s: Session, p: Principal, org_ident: str | None) -> list[api.Quota]:
    """Quotas the caller may see."""
    p.require(Permission.READ)
    stmt = select(QuotaRow, OrgRow).join(OrgRow, OrgRow.id == QuotaRow.org_id)
    if org_ident:
        stmt = stmt.where(QuotaRow.org_id == resolve_org(s, p, org_ident).id)
    elif not p.is_operator:
        stmt = stmt.where(QuotaRow.org_id == p.org_id)
    return [
        api.Quota(
            org_id=o.id,
            org_name=o.name,
            gpu_type=q.gpu_type,
            gpus=q.gpus,
            borrow_limit=q.borrow_limit,
        )
        for q, o in s.execute(stmt.order_by(OrgRow.name, QuotaRow.gpu_type)).all()
    ]


def set_cap(s: Session, p: Principal, body: api.SellableCapSet) -> api.SellableCapSet:
    """Set the sellable cap of a GPU type."""
    p.require(Permission.OPERATE)
    require_gpu_type(s, body.gpu_type)
    row = s.get(SellableCapRow, body.gpu_type)
    if row is None:
        row = SellableCapRow(gpu_type=body.gpu_type, fraction=body.fraction)
        s.add(row)
    row.fraction = body.fraction
    return body


def node_models(s: Session, p: Principal) -> list[str]:
    """Names of the fleet's node models."""
    p.require(Permission.OPERATE)
    fleet = current_fleet(s)
    return sorted(fleet.node_models) if fleet else []


def gpus_per_node_of_model(s: Session, model: str) -> int | None:
    """The GPU count of the nodes built on a model (the most common, if they differ)."""
    counts = Counter(
        s.scalars(
            select(NodeRow.gpus).where(NodeRow.node_model == model, NodeRow.retired.is_(False))
        ).all()
    )
    return counts.most_common(1)[0][0] if counts else None


def cost(s: Session, p: Principal, model_name: str) -> api.CostBreakdownOut:
    """Cost per GPU-hour of a node model at 100 % allocation, by component."""
    p.require(Permission.OPERATE)
    fleet = current_fleet(s)
    if fleet is None or model_name not in fleet.node_models:
        raise not_found("node model", model_name)
    gpus = gpus_per_node_of_model(s, model_name)
    if gpus is None:
        raise invalid("node_model", f"no node in the fleet uses node model {model_name!r}")
    model = fleet.node_models[model_name]
    b = cost_per_gpu_hour(model, gpus)
    return api.CostBreakdownOut(
        node_model=model_name,
        gpus_per_node=gpus,
        currency=model.currency,
        depreciation=b.depreciation,
        capital=b.capital,
        energy=b.energy,
        space=b.space,
        opex=b.opex,
        total=b.total,
    )
