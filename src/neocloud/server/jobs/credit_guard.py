"""The prepaid credit limit at run time: notice, grace, then stop; and credit expiry.

When a prepaid org's spend has used up its credit and limit (`CreditPosition.exhausted`):
- its pending on-demand and spot jobs are cancelled at once (they could only add spend);
- each running on-demand or spot job gets a notice in its history and, unless credit is added
  within the org's `stop_grace_seconds`, is stopped the usual way (SIGTERM, the job's own
  grace, SIGKILL) and ends `cancelled` with reason `credit_limit`;
- reserved work keeps running: its contract is billed take-or-pay whatever happens.
Credit added during the grace withdraws the notices. Everything here is driven by durable
state (job events), so a restart in the middle resumes where it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.domain.jobs import JobState, Tier
from neocloud.schemas.events import BillingEventType
from neocloud.server.billing.credits import expire_due, position, used_up_grants
from neocloud.server.events.service import credit_exhausted_data, emit
from neocloud.server.http.org_failures import Loop, per_org
from neocloud.server.jobs.lifecycle import record_event, transition
from neocloud.store.models import BillingTermsRow, JobEventRow, JobRow, OrgRow

NOTICE = "credit_limit_notice"
RESTORED = "credit_restored"
STOP = "credit_limit_stop"
STOPPABLE_TIERS = (Tier.ON_DEMAND.value, Tier.SPOT.value)
RUNNING = (JobState.SCHEDULED.value, JobState.RUNNING.value)


@dataclass
class GuardReport:
    """What one pass did, for logs and tests."""

    exhausted_orgs: list[str] = field(default_factory=list)
    noticed: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    cancelled_pending: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    grants_expired: int = 0
    failed_orgs: list[str] = field(default_factory=list)


def enforce(s: Session, now: datetime) -> GuardReport:
    """One pass over every org with a credit limit."""
    report = GuardReport()
    limited = s.scalars(
        select(BillingTermsRow).where(BillingTermsRow.credit_limit.is_not(None))
    ).all()
    for terms in limited:
        org = s.get(OrgRow, terms.org_id)
        assert org is not None
        # One org's failure (bad stored usage, a price missing) must not leave every other
        # prepaid org's limit unenforced.
        with per_org(Loop.CREDIT_GUARD, org.id, org.name, s) as attempt:
            _enforce_org(s, org, terms, now, report)
        if attempt.failure is not None:
            report.failed_orgs.append(org.name)
    return report


def _enforce_org(
    s: Session, org: OrgRow, terms: BillingTermsRow, now: datetime, report: GuardReport
) -> None:
    """One org's pass: expire its grants, then stop or restore its work."""
    report.grants_expired += expire_due(s, org.id, now)
    jobs = s.scalars(
        select(JobRow)
        .where(JobRow.org_id == org.id, JobRow.tier.in_(STOPPABLE_TIERS))
        .where(JobRow.state.in_((JobState.PENDING.value, *RUNNING)))
        .order_by(JobRow.seq)
        .with_for_update()
    ).all()
    pos = position(s, org, now)
    if pos.exhausted:
        report.exhausted_orgs.append(org.name)
        acted = len(report.noticed) + len(report.cancelled_pending)
        _stop(s, jobs, terms.stop_grace_seconds, now, report)
        if len(report.noticed) + len(report.cancelled_pending) > acted:
            # Once per episode: the first pass that notices or cancels work tells the org.
            emit(
                s,
                org.id,
                BillingEventType.CREDIT_EXHAUSTED,
                {
                    **credit_exhausted_data(used_up_grants(s, org.id, now), org.id, now),
                    "spend": pos.period_spend,
                    "available_credit": pos.available_credit,
                    "credit_limit": pos.credit_limit,
                    "stop_grace_seconds": terms.stop_grace_seconds,
                },
                now,
            )
    else:
        _restore(s, jobs, now, report)


def stopped_for_credit(s: Session, job: JobRow) -> bool:
    """True when the job's stop was requested because its org ran out of credit."""
    return _last_credit_event(s, job) == STOP


def _stop(
    s: Session, jobs: Sequence[JobRow], grace: int, now: datetime, report: GuardReport
) -> None:
    for job in jobs:
        if job.state == JobState.PENDING.value:
            transition(
                s,
                job,
                JobState.CANCELLED,
                "credit_limit",
                now,
                "cancelled before it started: the org's credit is used up",
            )
            report.cancelled_pending.append(job.id)
            continue
        if job.cancel_requested:
            continue
        state = JobState(job.state)
        last = _last_credit_event(s, job)
        if last != NOTICE:
            record_event(
                s,
                job,
                state,
                NOTICE,
                now,
                f"the org's credit is used up: this job stops in {grace} s unless credit is added",
                {"grace_seconds": grace, "stop_at": (now + timedelta(seconds=grace)).isoformat()},
                from_state=state,
            )
            report.noticed.append(job.id)
            continue
        noticed_at = _last_credit_event_time(s, job)
        if noticed_at is not None and now >= noticed_at + timedelta(seconds=grace):
            job.cancel_requested = True
            record_event(
                s,
                job,
                state,
                STOP,
                now,
                "stopping: the org's credit is used up (SIGTERM, then SIGKILL after grace)",
                from_state=state,
            )
            report.stopped.append(job.id)


def _restore(s: Session, jobs: Sequence[JobRow], now: datetime, report: GuardReport) -> None:
    for job in jobs:
        if (
            job.state in RUNNING
            and not job.cancel_requested
            and _last_credit_event(s, job) == NOTICE
        ):
            state = JobState(job.state)
            record_event(
                s,
                job,
                state,
                RESTORED,
                now,
                "credit added: the job keeps running",
                from_state=state,
            )
            report.restored.append(job.id)


def _last_credit_row(s: Session, job: JobRow) -> JobEventRow | None:
    return s.scalars(
        select(JobEventRow)
        .where(JobEventRow.job_id == job.id, JobEventRow.reason.in_((NOTICE, RESTORED, STOP)))
        .order_by(JobEventRow.seq.desc())
        .limit(1)
    ).first()


def _last_credit_event(s: Session, job: JobRow) -> str | None:
    row = _last_credit_row(s, job)
    return row.reason if row is not None else None


def _last_credit_event_time(s: Session, job: JobRow) -> datetime | None:
    row = _last_credit_row(s, job)
    return row.at if row is not None else None
