"""The billing-events loop: deliver due webhooks, and every few seconds evaluate budgets.

A delivery goes claim → commit → send → record, the HTTP call outside any transaction:
- claim: due pending deliveries are locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
  replicas never take the same row; SQLite has one writer at a time anyway), their attempt count
  raised and `next_attempt_at` pushed a lease ahead, then committed;
- send: POST the stored body, signed, with a 5 s timeout;
- record: in a new transaction, delivered on 2xx, else the next attempt after the backoff (or
  failed once the schedule is spent), only if the row is still as this claim left it.
A crash after the send and before the record leaves the row pending with its lease; when the
lease runs out the delivery is sent again. So a crash can duplicate a delivery (receivers
deduplicate on `Neocloud-Webhook-Id`), never lose one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter
from sqlalchemy import select

from neocloud import __version__
from neocloud.domain.webhooks import DEFAULT_JITTER, DEFAULT_RETRY_SCHEDULE, retry_delay
from neocloud.domain.webhooks import signed_headers as sign_headers
from neocloud.schemas.webhooks import DeliveryStatus
from neocloud.server.billing.budgets import evaluate_budgets
from neocloud.server.http import metrics
from neocloud.server.http.clock import utcnow
from neocloud.server.http.org_failures import Loop, per_org
from neocloud.server.http.outbound import OutboundGuard, OutboundRefused, outbound_client
from neocloud.server.http.secret_box import PREFIX as SEALED
from neocloud.server.http.secret_box import SecretBox, SecretUnreadable
from neocloud.store.db import Database
from neocloud.store.models import OrgRow, WebhookDeliveryRow, WebhookEndpointRow

log = logging.getLogger("neocloud.webhooks")
PENDING = DeliveryStatus.PENDING.value
UNREADABLE_SECRET = (
    "the signing secret does not open with this server's key; register the endpoint again"
)
ERROR_CHARS = 500
CRASHED = "the delivery failed inside the server; the operator can see why in its log"

DELIVERY_ATTEMPTS = Counter(
    "neocloud_webhook_attempts_total",
    "Webhook delivery attempts by outcome",
    ["outcome"],
    registry=metrics.REGISTRY,
)
BUDGET_ALERTS = Counter(
    "neocloud_budget_alerts_total", "Budget thresholds alerted", registry=metrics.REGISTRY
)


@dataclass(frozen=True, slots=True)
class Claim:
    """What one send needs, read while the row was locked."""

    delivery_id: str
    attempt: int
    url: str
    # None when the stored secret does not open with this server's key.
    secret: str | None
    body: str
    org_id: str = ""
    org_name: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one send went: a 2xx, or the error to record."""

    ok: bool
    error: str | None = None


class WebhookLoop:
    """Delivers webhooks with retries and evaluates budgets; one instance per control plane."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        interval_seconds: float = 0.5,
        budget_interval_seconds: float = 5.0,
        timeout_seconds: float = 5.0,
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        jitter: float = DEFAULT_JITTER,
        batch: int = 8,
        http: httpx.Client | None = None,
        guard: OutboundGuard | None = None,
        secrets: SecretBox | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval_seconds
        self.budget_interval = budget_interval_seconds
        self.timeout = timeout_seconds
        self.retry_schedule = tuple(retry_schedule)
        self.jitter = jitter
        self.batch = batch
        # A claim must outlive the slowest send of its batch (connect, write and read may each
        # take the timeout), or another replica would send the same delivery meanwhile.
        self.lease = timedelta(seconds=max(60.0, 4 * timeout_seconds))
        self._http = http or outbound_client(timeout_seconds, f"neocloud-webhooks/{__version__}")
        # Every send is checked again and pinned to the checked address (no allow-list: public
        # addresses only).
        self.guard = guard or OutboundGuard()
        self.secrets = secrets
        self._pool: ThreadPoolExecutor | None = None
        self._random = random.Random()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_budgets = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Run ticks in a background thread until stop()."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="neocloud-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current tick and release the HTTP connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("billing-events loop tick failed; retrying next tick")
            self._stop.wait(self.interval)

    def tick(self) -> None:
        """Evaluate budgets when due, then deliver everything that is due."""
        if time.monotonic() >= self._next_budgets:
            self._next_budgets = time.monotonic() + self.budget_interval
            try:
                self.evaluate_budgets()
            except Exception:
                # Budgets failing must not hold back deliveries already queued.
                log.exception("budget evaluation failed; retrying in %s s", self.budget_interval)
        while not self._stop.is_set() and self.deliver_due() == self.batch:
            pass

    def evaluate_budgets(self) -> int:
        """Record and emit every newly reached budget threshold; returns how many."""
        with self.db.session() as s:
            alerts = evaluate_budgets(s, self.clock())
        BUDGET_ALERTS.inc(len(alerts))
        return len(alerts)

    # -- delivery ------------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Claim, send and record one batch of due deliveries; returns how many were claimed."""
        claims = self.claim()
        if not claims:
            return 0
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.batch, thread_name_prefix="neocloud-webhook")
        sent = self._pool.map(self._send_contained, claims)
        for claim, outcome in zip(claims, sent, strict=True):
            # One org's delivery failing inside the server (its data, its endpoint's secret)
            # is recorded for that org; the batch's other deliveries are recorded all the same.
            with per_org(Loop.WEBHOOKS, claim.org_id, claim.org_name) as one:
                if isinstance(outcome, Exception):
                    raise outcome
                self.record(claim, outcome)
            if one.failure is not None:
                self._record_crash(claim)
        return len(claims)

    def _send_contained(self, claim: Claim) -> Outcome | Exception:
        # Raised in the pool, an exception would end the map and lose the batch's outcomes.
        try:
            return self.send(claim)
        except Exception as exc:
            return exc

    def _record_crash(self, claim: Claim) -> None:
        # Counted as a failed attempt, so the retry schedule paces and ends it: a delivery that
        # always fails must not come back every lease and hold a place in every batch.
        try:
            self.record(claim, Outcome(False, CRASHED))
        except Exception:
            log.exception("could not record the failed delivery %s", claim.delivery_id)

    def claim(self) -> list[Claim]:
        """Lock due deliveries, take a lease on them and commit, so the send holds no lock."""
        now = self.clock()
        with self.db.session() as s:
            rows = s.execute(
                select(WebhookDeliveryRow, WebhookEndpointRow, OrgRow.name)
                .join(WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id)
                .join(OrgRow, OrgRow.id == WebhookEndpointRow.org_id)
                .where(
                    WebhookDeliveryRow.status == PENDING,
                    WebhookDeliveryRow.next_attempt_at <= now,
                    WebhookEndpointRow.disabled_at.is_(None),
                )
                .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True, of=WebhookDeliveryRow)
            ).all()
            claims = []
            for delivery, endpoint, org_name in rows:
                delivery.attempts += 1
                delivery.next_attempt_at = now + self.lease
                # A secret that cannot be opened fails this org's delivery, not the batch.
                secret: str | None = None
                with per_org(Loop.WEBHOOKS, endpoint.org_id, org_name):
                    secret = self._open_secret(endpoint)
                claims.append(
                    Claim(
                        delivery.id,
                        delivery.attempts,
                        endpoint.url,
                        secret,
                        delivery.payload,
                        endpoint.org_id,
                        org_name,
                    )
                )
        return claims

    def _open_secret(self, endpoint: WebhookEndpointRow) -> str | None:
        """The endpoint's signing secret in clear, or None if this server key cannot open it."""
        if self.secrets is None:
            return None if endpoint.secret.startswith(SEALED) else endpoint.secret
        try:
            return self.secrets.open(endpoint.secret, endpoint.id)
        except SecretUnreadable:
            return None

    def send(self, claim: Claim) -> Outcome:
        """POST the signed body once, to the checked address; never raises.

        The error kept is the status code or the failure's kind and a fixed sentence, never the
        receiver's answer: it is shown to the endpoint's owner, who may not own the receiver.
        """
        if claim.secret is None:
            return Outcome(False, UNREADABLE_SECRET)
        body = claim.body.encode()
        headers = sign_headers(claim.delivery_id, claim.secret, int(time.time()), body)
        headers["Content-Type"] = "application/json"
        try:
            response = self.guard.post(self._http, claim.url, body, headers)
        except OutboundRefused as exc:
            return Outcome(False, f"refused: {exc.reason}")
        except httpx.TimeoutException as exc:
            return Outcome(False, f"timeout after {self.timeout:g} s: {type(exc).__name__}")
        except httpx.ConnectError:
            return Outcome(False, "ConnectError: could not connect to the receiver")
        except httpx.HTTPError as exc:
            return Outcome(False, f"{type(exc).__name__}: the request failed before an answer")
        if response.is_success:
            return Outcome(True)
        if response.is_redirect:
            return Outcome(False, f"HTTP {response.status_code}: redirects are not followed")
        return Outcome(False, f"HTTP {response.status_code}: the receiver did not answer 2xx")

    def record(self, claim: Claim, outcome: Outcome) -> None:
        """Write the outcome, unless the claim was lost (lease ran out, endpoint deleted)."""
        now = self.clock()
        with self.db.session() as s:
            row = s.get(WebhookDeliveryRow, claim.delivery_id, with_for_update=True)
            if row is None or row.status != PENDING or row.attempts != claim.attempt:
                return
            if outcome.ok:
                row.status = DeliveryStatus.DELIVERED.value
                row.delivered_at = now
                row.last_error = None
                DELIVERY_ATTEMPTS.labels("delivered").inc()
                return
            row.last_error = (outcome.error or "failed")[:ERROR_CHARS]
            rand = self._random.random()
            delay = retry_delay(row.attempts, self.retry_schedule, rand, self.jitter)
            if delay is None:
                row.status = DeliveryStatus.FAILED.value
                DELIVERY_ATTEMPTS.labels("failed").inc()
                log.warning(
                    "webhook delivery %s failed for good after %d attempts: %s",
                    row.id,
                    row.attempts,
                    row.last_error,
                )
            else:
                row.next_attempt_at = now + timedelta(seconds=delay)
                DELIVERY_ATTEMPTS.labels("retry").inc()
