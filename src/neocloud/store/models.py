"""ORM models: one table per durable idea. Money and quantities are exact decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from neocloud.store.types import ExactDecimal, UtcDateTime


class Base(DeclarativeBase):
    """Declarative base of every neocloud table."""


class OrgRow(Base):
    """A tenant."""

    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(200))
    fair_share_weight: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProjectRow(Base):
    """A budget/quota unit inside an org."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MemberRow(Base):
    """A person in an org with a role."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("org_id", "email"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiKeyRow(Base):
    """An API key: only a hash of the secret is kept."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class FleetFileRow(Base):
    """Each fleet file loaded, kept whole so the fleet can be rebuilt exactly as declared."""

    __tablename__ = "fleet_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    yaml: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NodeRow(Base):
    """A node of the current fleet and whether it may take new work."""

    __tablename__ = "nodes"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    region: Mapped[str] = mapped_column(String(63))
    cluster: Mapped[str] = mapped_column(String(63))
    engine: Mapped[str] = mapped_column(String(16))
    gpu_type: Mapped[str] = mapped_column(String(32), index=True)
    gpus: Mapped[int] = mapped_column(Integer)
    cpus: Mapped[int] = mapped_column(Integer)
    memory_gb: Mapped[int] = mapped_column(Integer)
    node_model: Mapped[str] = mapped_column(String(63))
    topology: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    domain: Mapped[str | None] = mapped_column(String(128))
    schedulable: Mapped[bool] = mapped_column(Boolean, default=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class QuotaRow(Base):
    """GPUs of a type an org may hold at once, and how many more it may borrow."""

    __tablename__ = "quotas"
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    gpu_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    gpus: Mapped[int] = mapped_column(Integer)
    borrow_limit: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ContractRow(Base):
    """A reserved commitment: N GPUs of a type for a term at a rate (take-or-pay)."""

    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_type_term", "gpu_type", "starts_at", "ends_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    gpu_type: Mapped[str] = mapped_column(String(32))
    gpus: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SellableCapRow(Base):
    """Fraction of a GPU type that external work may hold."""

    __tablename__ = "sellable_caps"
    gpu_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    fraction: Mapped[Decimal] = mapped_column(ExactDecimal)


class JobRow(Base):
    """A job and its current state; history lives in job_events."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_seq", "state", "seq"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    command: Mapped[list[str]] = mapped_column(JSON)
    env: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    working_dir: Mapped[str | None] = mapped_column(String(4096))
    gpu_type: Mapped[str] = mapped_column(String(32))
    gpus_per_node: Mapped[int] = mapped_column(Integer)
    nodes: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(16))
    priority_class: Mapped[str | None] = mapped_column(String(16))
    max_runtime_seconds: Mapped[int] = mapped_column(Integer)
    grace_seconds: Mapped[int] = mapped_column(Integer)
    requeue_on_preemption: Mapped[bool] = mapped_column(Boolean, default=True)
    # Attempts in all after preemptions, node failures and drains (None: no limit).
    max_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    engine_handle: Mapped[str | None] = mapped_column(String(512))
    preempting_for: Mapped[str | None] = mapped_column(String(40))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    stop_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the control plane saw a node under the running attempt drained (with on_drain:
    # requeue): the attempt is being stopped, and its usage ends at this instant.
    drained_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class JobEventRow(Base):
    """One transition of a job: append-only."""

    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AllocationRow(Base):
    """GPUs one attempt of a job holds on one node, from its real start to its real end."""

    __tablename__ = "allocations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(128))
    gpu_indices: Mapped[list[int]] = mapped_column(JSON)
    gpu_type: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(63))
    engine_handle: Mapped[str | None] = mapped_column(String(512))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UsageRecordRow(Base):
    """Immutable GPU-seconds of one ended allocation; its id is the allocation's, so once only."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_org_start", "org_id", "started_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    allocation_id: Mapped[str] = mapped_column(ForeignKey("allocations.id"), unique=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    project_id: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    gpu_type: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(63))
    gpus: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    gpu_seconds: Mapped[Decimal] = mapped_column(ExactDecimal)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PriceRow(Base):
    """A price-book entry: $/GPU-hour for a GPU type × tier (× region) from a moment on."""

    __tablename__ = "prices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    gpu_type: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(63))
    unit_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    meter: Mapped[str] = mapped_column(
        String(63), default="gpu_seconds", server_default="gpu_seconds"
    )
    # The charge model beyond a plain per-unit price (tiers, packages), as the billing core's
    # own description of it; None means per unit at unit_price.
    charge: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class InvoiceRow(Base):
    """An invoice (external) or statement (internal) for one org and month."""

    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime)
    period_end: Mapped[datetime] = mapped_column(UtcDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(ExactDecimal)
    subtotal: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0), server_default="0")
    tax: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal(0), server_default="0")
    credits_applied: Mapped[Decimal] = mapped_column(
        ExactDecimal, default=Decimal(0), server_default="0"
    )
    amount_due: Mapped[Decimal] = mapped_column(
        ExactDecimal, default=Decimal(0), server_default="0"
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Usage received (events) or recorded (GPU allocations) before this instant is on this
    # invoice; anything of its period received later is billed as an adjustment on a later one.
    usage_cutoff: Mapped[datetime | None] = mapped_column(UtcDateTime)


class InvoiceLineRow(Base):
    """One line of an invoice; never edited once the invoice is finalized."""

    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    gpu_type: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    unit: Mapped[str] = mapped_column(String(32))
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    kind: Mapped[str] = mapped_column(String(32), default="usage", server_default="usage")
    meter: Mapped[str | None] = mapped_column(String(63))
    region: Mapped[str | None] = mapped_column(String(63))
    ref: Mapped[str | None] = mapped_column(String(100))
    service_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    service_end: Mapped[datetime | None] = mapped_column(UtcDateTime)


class InvoiceSequenceRow(Base):
    """The next invoice number per issuer prefix and year: numbers are gapless and never reused."""

    __tablename__ = "invoice_sequences"
    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class IdempotencyRow(Base):
    """The stored response of a creating POST, replayed when its Idempotency-Key comes again."""

    __tablename__ = "idempotency_keys"
    # The API key id that made the request: a response is replayed to that key only.
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobSeqRow(Base):
    """Counter for job submission order (portable across SQLite and PostgreSQL)."""

    __tablename__ = "job_seq"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class MeterRow(Base):
    """An externally reported meter: how its events aggregate into a billable quantity."""

    __tablename__ = "meters"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    aggregation: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(32))
    unique_by: Mapped[str | None] = mapped_column(String(63))
    group_by: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UsageEventRow(Base):
    """One reported usage event; (org, id) is its identity, so a retried event counts once."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_org_meter_time", "org_id", "meter", "time"),)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(40))
    meter: Mapped[str] = mapped_column(ForeignKey("meters.name"))
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    dimensions: Mapped[dict[str, str]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BillingTermsRow(Base):
    """An org's commercial terms: discount, minimum spend, tax, currency and credit limit."""

    __tablename__ = "billing_terms"
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    discount_percent: Mapped[Decimal] = mapped_column(ExactDecimal)
    minimum_spend: Mapped[Decimal] = mapped_column(ExactDecimal)
    tax_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    # Prepaid customers may not spend beyond their credits plus this limit (None: postpaid).
    credit_limit: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    stop_grace_seconds: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BudgetRow(Base):
    """A spending budget of an org (or one project) per month, with alert thresholds."""

    __tablename__ = "budgets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    # Percentages of the amount, ascending, e.g. [50, 80, 100].
    thresholds: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BudgetAlertRow(Base):
    """A threshold a budget reached in a period: recorded once, so it alerts once."""

    __tablename__ = "budget_alerts"
    budget_id: Mapped[str] = mapped_column(ForeignKey("budgets.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    spend: Mapped[Decimal] = mapped_column(ExactDecimal)
    reached_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookEndpointRow(Base):
    """Where an org wants its billing events delivered, and the secret that signs them."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Sealed with the server key (neocloud.server.http.secret_box), never stored in clear.
    secret: Mapped[str] = mapped_column(String(300))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookDeliveryRow(Base):
    """One event to deliver to one endpoint (the outbox): retried with backoff until it lands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(63))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BillingEventRow(Base):
    """A billing event (invoice.finalized, budget.threshold_reached, credit.exhausted …)."""

    __tablename__ = "billing_events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    type: Mapped[str] = mapped_column(String(63))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditGrantRow(Base):
    """Prepaid credit or a promotional grant; its balance is derived from the ledger."""

    __tablename__ = "credit_grants"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    priority: Mapped[int] = mapped_column(Integer)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    description: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LedgerEntryRow(Base):
    """One posting of a balanced ledger transaction; rows are only ever inserted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_org_account", "org_id", "account"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(String(40), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(32))
    account: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    ref: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditNoteRow(Base):
    """A correction of a finalized invoice; numbered like invoices and never edited."""

    __tablename__ = "credit_notes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id"))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    subtotal: Mapped[Decimal] = mapped_column(ExactDecimal)
    tax: Mapped[Decimal] = mapped_column(ExactDecimal)
    total: Mapped[Decimal] = mapped_column(ExactDecimal)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CreditNoteLineRow(Base):
    """An amount credited against one invoice line."""

    __tablename__ = "credit_note_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    credit_note_id: Mapped[str] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    invoice_line_position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    reason: Mapped[str] = mapped_column(String(500))


class AuditRow(Base):
    """One state-changing call: who, from where, what changed, how it ended; never edited."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_org", "org_id", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # The org the entry concerns (the changed rows' org, else the caller's); None: platform-wide.
    org_id: Mapped[str | None] = mapped_column(String(40))
    key_id: Mapped[str | None] = mapped_column(String(40), index=True)
    actor_org_id: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(16))
    client: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(250), index=True)
    path: Mapped[str] = mapped_column(String(2000))
    target: Mapped[str | None] = mapped_column(String(300), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    status: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(63))
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
