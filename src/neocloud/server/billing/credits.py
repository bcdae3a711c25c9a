"""Billing terms, credit grants and the credit ledger; the prepaid credit-limit position."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing import ledger
from neocloud.billing.intervals import seconds_between
from neocloud.billing.invoice import InvoiceKind, InvoiceStatus
from neocloud.billing.pricebook import PriceEntry, price_at
from neocloud.domain.jobs import JobState, Tier
from neocloud.domain.money import DEFAULT_CURRENCY, SECONDS_PER_HOUR, Money, to_cents
from neocloud.domain.tenancy import OrgKind, Permission
from neocloud.schemas import credits as api
from neocloud.server.fleet.prices import load_price_book
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import ApiError, invalid
from neocloud.server.metering.spend import period_spend
from neocloud.server.tenancy.service import org_or_own, resolve_org
from neocloud.store.ids import new_id
from neocloud.store.models import (
    BillingTermsRow,
    CreditGrantRow,
    InvoiceRow,
    JobRow,
    LedgerEntryRow,
    OrgRow,
)

ZERO = Decimal("0.00")
ACTIVE_STATES = (JobState.PENDING.value, JobState.SCHEDULED.value, JobState.RUNNING.value)


# -- terms -----------------------------------------------------------------------------------
def terms_of(s: Session, org_id: str, lock: bool = False) -> BillingTermsRow | None:
    """The org's stored terms (None: defaults); `lock` holds the row until the transaction ends."""
    stmt = select(BillingTermsRow).where(BillingTermsRow.org_id == org_id)
    if lock:
        stmt = stmt.with_for_update()
    return s.scalars(stmt).first()


def terms_out(org_id: str, row: BillingTermsRow | None) -> api.BillingTerms:
    """Wire form of an org's terms; an org without a row has the defaults."""
    if row is None:
        return api.BillingTerms(org_id=org_id, updated_at=None)
    return api.BillingTerms(
        org_id=org_id,
        currency=row.currency,
        discount_percent=row.discount_percent.normalize(),
        minimum_spend=to_cents(row.minimum_spend),
        tax_rate=row.tax_rate.normalize(),
        credit_limit=to_cents(row.credit_limit) if row.credit_limit is not None else None,
        stop_grace_seconds=row.stop_grace_seconds,
        updated_at=row.updated_at,
    )


def get_terms(s: Session, p: Principal, org_ident: str) -> api.BillingTerms:
    """An org's terms (its billing roles, or the operator)."""
    p.require(Permission.READ_BILLING)
    org = resolve_org(s, p, org_ident)
    return terms_out(org.id, terms_of(s, org.id))


def set_terms(
    s: Session, p: Principal, org_ident: str, body: api.BillingTermsSet, now: datetime
) -> api.BillingTerms:
    """Set an external org's terms (operator); they apply to invoices drafted from now on."""
    p.require(Permission.OPERATE)
    org = resolve_org(s, p, org_ident)
    if OrgKind(org.kind) is not OrgKind.EXTERNAL:
        raise invalid("org", "internal orgs get statements at cost; terms are for customers")
    row = terms_of(s, org.id, lock=True)
    if row is None:
        row = BillingTermsRow(org_id=org.id)
        s.add(row)
    row.currency = body.currency
    row.discount_percent = body.discount_percent
    row.minimum_spend = body.minimum_spend
    row.tax_rate = body.tax_rate
    row.credit_limit = body.credit_limit
    row.stop_grace_seconds = body.stop_grace_seconds
    row.updated_at = now
    s.flush()
    return terms_out(org.id, row)


# -- the ledger ------------------------------------------------------------------------------
def grants_of(s: Session, org_id: str) -> list[ledger.Grant]:
    """The org's grants as the pure ledger takes them."""
    rows = s.scalars(
        select(CreditGrantRow).where(CreditGrantRow.org_id == org_id).order_by(CreditGrantRow.id)
    ).all()
    return [
        ledger.Grant(
            id=r.id,
            org=r.org_id,
            kind=ledger.GrantKind(r.kind),
            amount=to_cents(r.amount),
            currency=r.currency,
            effective_at=r.effective_at,
            expires_at=r.expires_at,
            priority=r.priority,
        )
        for r in rows
    ]


def transactions_of(s: Session, org_id: str) -> list[ledger.Transaction]:
    """The org's ledger, replayed from its postings in the order they were appended."""
    rows = s.scalars(
        select(LedgerEntryRow).where(LedgerEntryRow.org_id == org_id).order_by(LedgerEntryRow.id)
    ).all()
    grouped: dict[str, list[LedgerEntryRow]] = defaultdict(list)
    for r in rows:
        grouped[r.transaction_id].append(r)
    return [
        ledger.Transaction(
            id=tx_id,
            org=org_id,
            time=entries[0].at,
            kind=ledger.TransactionKind(entries[0].kind),
            currency=entries[0].currency,
            postings=tuple(ledger.Posting(e.account, to_cents(e.amount)) for e in entries),
            ref=entries[0].ref,
        )
        for tx_id, entries in grouped.items()
    ]


def append(s: Session, transactions: list[ledger.Transaction]) -> None:
    """Append balanced transactions; postings are only ever inserted, never changed."""
    for tx in transactions:
        for posting in tx.postings:
            s.add(
                LedgerEntryRow(
                    transaction_id=tx.id,
                    org_id=tx.org,
                    kind=tx.kind.value,
                    account=posting.account,
                    amount=posting.amount,
                    currency=tx.currency,
                    ref=tx.ref,
                    at=tx.time,
                )
            )
    s.flush()


def create_grant(s: Session, p: Principal, body: api.GrantCreate, now: datetime) -> api.Grant:
    """Give an external org credit (operator): a grant and its issuing transaction, together."""
    p.require(Permission.OPERATE)
    org = resolve_org(s, p, body.org)
    if OrgKind(org.kind) is not OrgKind.EXTERNAL:
        raise invalid("org", "credits are for external orgs; internal orgs are shown cost")
    effective = body.effective_at or now
    if body.expires_at is not None and body.expires_at <= effective:
        raise invalid("expires_at", "must be after effective_at")
    row = CreditGrantRow(
        id=new_id("grt"),
        org_id=org.id,
        kind=body.kind,
        amount=body.amount,
        currency=body.currency,
        priority=body.priority,
        effective_at=effective,
        expires_at=body.expires_at,
        description=body.description,
        created_at=now,
    )
    s.add(row)
    s.flush()
    grant = next(g for g in grants_of(s, org.id) if g.id == row.id)
    append(s, [ledger.issue_grant(grant)])
    return _grant_out(grant, transactions_of(s, org.id), now, body.description)


def expire_due(s: Session, org_id: str, now: datetime) -> int:
    """Write off what grants that expired by now still hold; returns transactions appended."""
    txs = ledger.expire_grants(grants_of(s, org_id), transactions_of(s, org_id), now)
    append(s, txs)
    return len(txs)


def apply_to_invoice(s: Session, invoice: InvoiceRow, now: datetime) -> list[str] | None:
    """Make a finalized invoice receivable and pay what credit allows.

    Returns the grants drawn on when this used up the org's last credit (else None), for the
    `credit.exhausted` event.

    Sets the invoice's credits_applied and amount_due. Statements (internal, at cost) are not
    receivables and are left alone.
    """
    if invoice.kind != InvoiceKind.INVOICE.value:
        return None
    expire_due(s, invoice.org_id, now)
    grants = grants_of(s, invoice.org_id)
    before = transactions_of(s, invoice.org_id)
    total = Money(to_cents(invoice.total), invoice.currency)
    txs = [ledger.record_invoice(invoice.org_id, invoice.id, total, now)]
    usable = [g for g in grants if g.currency == invoice.currency]
    application = ledger.apply_credits(
        usable, [*before, *txs], invoice.org_id, invoice.id, total, now
    )
    txs += application.transactions
    append(s, txs)
    invoice.credits_applied = application.applied
    invoice.amount_due = application.remaining_due
    if ledger.exhausted(usable, before, [*before, *txs], invoice.org_id, now):
        return sorted(application.consumed)
    return None


# -- the prepaid position --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreditPosition:
    """Where a prepaid org stands now; headroom None means postpaid (no limit)."""

    currency: str
    available_credit: Decimal
    credit_limit: Decimal | None
    period_spend: Decimal
    unpaid_invoices: Decimal
    held_for_active_jobs: Decimal

    @property
    def headroom(self) -> Decimal | None:
        """What the org may still commit: credit + limit − unpaid − spend − holds."""
        if self.credit_limit is None:
            return None
        return (
            self.available_credit
            + self.credit_limit
            - self.unpaid_invoices
            - self.period_spend
            - self.held_for_active_jobs
        )

    @property
    def exhausted(self) -> bool:
        """Spend (not holds) has used up credit and limit: running work must stop."""
        if self.credit_limit is None:
            return False
        return (
            self.available_credit + self.credit_limit - self.unpaid_invoices - self.period_spend
            <= 0
        )


def used_up_grants(s: Session, org_id: str, now: datetime) -> list[str]:
    """Ids of the org's grants in force with nothing left on them now."""
    txs = transactions_of(s, org_id)
    return [
        g.id
        for g in grants_of(s, org_id)
        if g.usable_at(now) and ledger.remaining(g, txs, now) <= 0
    ]


def remaining_max_cost(
    prices: list[PriceEntry],
    gpu_type: str,
    tier: Tier,
    gpus: int,
    max_runtime_seconds: int,
    started_at: datetime | None,
    now: datetime,
) -> Decimal:
    """What a job may still cost at today's price: GPUs × the runtime it has left.

    Work already done is in the period's spend, so a running job holds only the rest. A
    reserved job is paid for by its contract, so it holds nothing; a tier with no price holds
    nothing here because the job could not be billed anyway (rating refuses missing prices).
    """
    if tier is Tier.RESERVED:
        return ZERO
    entry = price_at(prices, gpu_type, tier, now)
    if entry is None:
        return ZERO
    left = Decimal(max_runtime_seconds)
    if started_at is not None:
        left = max(Decimal(0), left - seconds_between(started_at, now))
    return entry.unit_price * gpus * left / SECONDS_PER_HOUR


def position(s: Session, org: OrgRow, now: datetime) -> CreditPosition:
    """The org's credit position now (read inside the caller's transaction)."""
    terms = terms_of(s, org.id)
    currency = terms.currency if terms is not None else DEFAULT_CURRENCY
    limit = terms.credit_limit if terms is not None else None
    grants = [g for g in grants_of(s, org.id) if g.currency == currency]
    available = ledger.available_credit(grants, transactions_of(s, org.id), org.id, now)
    unpaid_total = sum(
        (
            to_cents(r.amount_due)
            for r in s.scalars(
                select(InvoiceRow).where(
                    InvoiceRow.org_id == org.id,
                    InvoiceRow.kind == InvoiceKind.INVOICE.value,
                    InvoiceRow.status == InvoiceStatus.FINALIZED.value,
                )
            ).all()
        ),
        ZERO,
    )
    spend = period_spend(s, org, now).amount
    prices = load_price_book(s)
    held = ZERO
    for job in s.scalars(
        select(JobRow).where(JobRow.org_id == org.id, JobRow.state.in_(ACTIVE_STATES))
    ).all():
        held += remaining_max_cost(
            prices,
            job.gpu_type,
            Tier(job.tier),
            job.gpus_per_node * job.nodes,
            job.max_runtime_seconds,
            job.started_at,
            now,
        )
    return CreditPosition(currency, available, limit, spend, unpaid_total, to_cents(held))


def require_headroom(
    s: Session, org: OrgRow, gpu_type: str, tier: Tier, gpus: int, max_runtime: int, now: datetime
) -> None:
    """Refuse a new job (402) whose maximum cost the prepaid org's headroom cannot cover.

    The org's terms row is locked first, so concurrent submissions of one org are checked one
    after another, each seeing the jobs the previous ones stored: they cannot overshoot together.
    """
    terms = terms_of(s, org.id, lock=True)
    if terms is None or terms.credit_limit is None:
        return
    pos = position(s, org, now)
    headroom = pos.headroom
    assert headroom is not None
    cost = to_cents(
        remaining_max_cost(load_price_book(s), gpu_type, tier, gpus, max_runtime, None, now)
    )
    if pos.exhausted or cost > headroom:
        raise ApiError(
            402,
            "credit_limit_reached",
            f"org {org.name} cannot start more work: this job may cost up to {cost}"
            f" {pos.currency} ({gpus} GPUs for {max_runtime} s) and the org's headroom is"
            f" {to_cents(headroom)} (credit {pos.available_credit} + limit"
            f" {to_cents(pos.credit_limit or ZERO)} − unpaid {pos.unpaid_invoices} − spend"
            f" {to_cents(pos.period_spend)} − held for active jobs {pos.held_for_active_jobs});"
            " add credit or lower max_runtime_seconds",
            {
                "field": "max_runtime_seconds",
                "job_max_cost": str(cost),
                "headroom": str(to_cents(headroom)),
                "currency": pos.currency,
            },
        )


def status(s: Session, p: Principal, org_ident: str | None, now: datetime) -> api.CreditStatus:
    """An org's grants, available credit and limit position."""
    p.require(Permission.READ_BILLING)
    org = org_or_own(s, p, org_ident)
    pos = position(s, org, now)
    txs = transactions_of(s, org.id)
    descriptions = {
        r.id: r.description
        for r in s.scalars(select(CreditGrantRow).where(CreditGrantRow.org_id == org.id)).all()
    }
    return api.CreditStatus(
        org_id=org.id,
        currency=pos.currency,
        available_credit=pos.available_credit,
        grants=[
            _grant_out(g, txs, now, descriptions.get(g.id, ""))
            for g in ledger.consumption_order(grants_of(s, org.id))
        ],
        credit_limit=to_cents(pos.credit_limit) if pos.credit_limit is not None else None,
        period_spend=to_cents(pos.period_spend),
        unpaid_invoices=pos.unpaid_invoices,
        held_for_active_jobs=pos.held_for_active_jobs,
        headroom=to_cents(pos.headroom) if pos.headroom is not None else None,
    )


def ledger_postings(s: Session, p: Principal, org_ident: str | None) -> list[api.LedgerPosting]:
    """Every posting of the org's ledger, in the order appended."""
    p.require(Permission.READ_BILLING)
    org_id = resolve_org(s, p, org_ident).id if org_ident else p.org_id
    rows = s.scalars(
        select(LedgerEntryRow).where(LedgerEntryRow.org_id == org_id).order_by(LedgerEntryRow.id)
    ).all()
    return [
        api.LedgerPosting(
            transaction_id=r.transaction_id,
            kind=r.kind,
            account=r.account,
            amount=to_cents(r.amount),
            currency=r.currency,
            ref=r.ref,
            at=r.at,
        )
        for r in rows
    ]


def _grant_out(
    grant: ledger.Grant, txs: list[ledger.Transaction], now: datetime, description: str
) -> api.Grant:
    return api.Grant(
        id=grant.id,
        org_id=grant.org,
        kind=grant.kind.value,
        amount=grant.amount,
        remaining=ledger.remaining(grant, txs, now),
        currency=grant.currency,
        effective_at=grant.effective_at,
        expires_at=grant.expires_at,
        priority=grant.priority,
        description=description,
    )
