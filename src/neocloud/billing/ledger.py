"""Prepaid and promotional credits in an append-only double-entry ledger.

Every movement of credit is a `Transaction` whose postings sum to exactly zero. Postings are
signed credit-positive: +x credits an account (a liability or revenue grows, an asset or
expense shrinks), −x debits it. With that sign a grant's balance is the credit left on it, and
an invoice's balance is what credits have paid of it. Accounts:

| account               | what its balance is                                      |
|-----------------------|----------------------------------------------------------|
| `grant:<grant_id>`    | credit left on the grant (a liability to the org), >= 0  |
| `invoice:<id>`        | −(amount still due) once the invoice is recorded         |
| `revenue`             | revenue invoiced                                         |
| `cash`                | −(cash received for prepaid credit)                      |
| `promotion_expense`   | −(promotional credit given away, net of what expired)    |
| `breakage`            | prepaid credit that expired unused (revenue)             |

Balances are never stored: `balance` replays the transactions up to an instant.

Credits are consumed in this order (`consumption_order`):
1. lower `priority` first (0 by default, so the order below decides unless an operator says),
2. earliest `expires_at` first; grants that never expire last,
3. promotional before prepaid (give away what was free before what was paid for),
4. the oldest grant (`effective_at`) first,
5. then by grant id, so the order is total.
A grant is usable at `at` when it is in force (effective_at <= at) and not expired
(at < expires_at). `expire_grants` writes off what an expired grant still held.
`reverse_application` undoes what the ledger recorded for an invoice that is voided.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from neocloud.billing.intervals import require_aware
from neocloud.domain.money import CENT, Money

ZERO = Decimal("0.00")
_NEVER = datetime.max.replace(tzinfo=UTC)
REVENUE = "revenue"
CASH = "cash"
PROMOTION_EXPENSE = "promotion_expense"
BREAKAGE = "breakage"


class GrantKind(StrEnum):
    """Prepaid credit was paid for; promotional credit was given."""

    PREPAID = "prepaid"
    PROMOTIONAL = "promotional"


class TransactionKind(StrEnum):
    """What a transaction records."""

    GRANT = "grant"
    INVOICE = "invoice"
    APPLY = "apply"
    EXPIRE = "expire"
    REVERSAL = "reversal"


class LedgerError(ValueError):
    """A transaction or ledger that breaks a ledger rule; nothing is appended."""


def grant_account(grant_id: str) -> str:
    """The liability account holding a grant's remaining credit."""
    return f"grant:{grant_id}"


def invoice_account(invoice_id: str) -> str:
    """The receivable account of one invoice."""
    return f"invoice:{invoice_id}"


def _cents(value: Decimal, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.quantize(CENT):
        raise LedgerError(f"{field} must be a Decimal in whole cents, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Posting:
    """One side of a transaction: a signed, credit-positive amount on one account."""

    account: str
    amount: Decimal

    def __post_init__(self) -> None:
        if not self.account:
            raise LedgerError("posting account must not be empty")
        _cents(self.amount, f"posting amount on {self.account}")


@dataclass(frozen=True, slots=True)
class Transaction:
    """A balanced set of postings at one instant; the ledger only ever appends these."""

    id: str
    org: str
    time: datetime
    kind: TransactionKind
    currency: str
    postings: tuple[Posting, ...]
    ref: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TransactionKind(self.kind))
        object.__setattr__(self, "postings", tuple(self.postings))
        require_aware(self.time, f"transaction {self.id} time")
        if len(self.postings) < 2:
            raise LedgerError(f"transaction {self.id}: postings need at least two entries")
        total = sum((p.amount for p in self.postings), ZERO)
        if total != 0:
            raise LedgerError(f"transaction {self.id}: postings sum to {total}, must sum to 0")


@dataclass(frozen=True, slots=True)
class Grant:
    """Credit given to an org: usable from effective_at until expires_at (None: never)."""

    id: str
    org: str
    kind: GrantKind
    amount: Decimal
    currency: str
    effective_at: datetime
    expires_at: datetime | None = None
    priority: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", GrantKind(self.kind))
        _cents(self.amount, f"grant {self.id} amount")
        if self.amount <= 0:
            raise LedgerError(f"grant {self.id} amount must be > 0, got {self.amount}")
        require_aware(self.effective_at, f"grant {self.id} effective_at")
        if self.expires_at is not None:
            require_aware(self.expires_at, f"grant {self.id} expires_at")
            if self.expires_at <= self.effective_at:
                raise LedgerError(f"grant {self.id} expires_at must be after effective_at")

    def usable_at(self, at: datetime) -> bool:
        """In force and not yet expired at this instant."""
        return self.effective_at <= at and (self.expires_at is None or at < self.expires_at)


@dataclass(frozen=True, slots=True)
class CreditApplication:
    """What applying credits to an invoice appends to the ledger, and what is left to pay."""

    transactions: list[Transaction]
    applied: Decimal
    remaining_due: Decimal
    consumed: Mapping[str, Decimal]


def issue_grant(grant: Grant) -> Transaction:
    """The transaction that puts a grant's credit on the org's books at effective_at."""
    # Prepaid credit was paid for in cash; promotional credit is an expense of the provider.
    source = CASH if grant.kind is GrantKind.PREPAID else PROMOTION_EXPENSE
    return Transaction(
        id=f"grant:{grant.id}",
        org=grant.org,
        time=grant.effective_at,
        kind=TransactionKind.GRANT,
        currency=grant.currency,
        postings=(Posting(grant_account(grant.id), grant.amount), Posting(source, -grant.amount)),
        ref=grant.id,
    )


def record_invoice(org: str, invoice_id: str, amount: Money, at: datetime) -> Transaction:
    """The transaction that makes an invoice's total receivable (before any credit)."""
    _cents(amount.amount, f"invoice {invoice_id} amount")
    if amount.amount < 0:
        raise LedgerError(f"invoice {invoice_id} amount must be >= 0, got {amount.amount}")
    return Transaction(
        id=f"invoice:{invoice_id}",
        org=org,
        time=at,
        kind=TransactionKind.INVOICE,
        currency=amount.currency,
        postings=(
            Posting(invoice_account(invoice_id), -amount.amount),
            Posting(REVENUE, amount.amount),
        ),
        ref=invoice_id,
    )


def balance(
    transactions: Iterable[Transaction],
    account: str,
    at: datetime | None = None,
    *,
    org: str | None = None,
) -> Decimal:
    """Σ postings on an account in transactions up to `at` (all if None), optionally of one org.

    Raises LedgerError if the account holds more than one currency.
    """
    total, currencies = ZERO, set()
    for tx in transactions:
        if (at is not None and tx.time > at) or (org is not None and tx.org != org):
            continue
        for posting in tx.postings:
            if posting.account == account:
                total += posting.amount
                currencies.add(tx.currency)
    if len(currencies) > 1:
        raise LedgerError(f"account {account} mixes currencies {sorted(currencies)}")
    return total


def balances(transactions: Iterable[Transaction], at: datetime | None = None) -> dict[str, Decimal]:
    """Every account's balance replayed from scratch up to `at` (all if None)."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for tx in transactions:
        if at is None or tx.time <= at:
            for posting in tx.postings:
                out[posting.account] += posting.amount
    return dict(out)


def check_ledger(transactions: Sequence[Transaction]) -> None:
    """Raise LedgerError unless ids are unique and no grant balance ever goes below zero."""
    seen: set[str] = set()
    for tx in transactions:
        if tx.id in seen:
            raise LedgerError(f"transaction id {tx.id} appears twice")
        seen.add(tx.id)
    running: dict[str, Decimal] = defaultdict(lambda: ZERO)
    # Same-instant transactions are replayed grants first, so a grant issued and used at the
    # same moment is not read as an overdraft.
    for tx in sorted(transactions, key=lambda t: (t.time, t.kind is not TransactionKind.GRANT)):
        for posting in tx.postings:
            running[posting.account] += posting.amount
            if posting.account.startswith("grant:") and running[posting.account] < 0:
                raise LedgerError(
                    f"transaction {tx.id} takes {posting.account} below zero"
                    f" ({running[posting.account]})"
                )


def consumption_order(grants: Iterable[Grant]) -> list[Grant]:
    """Grants in the order credits are consumed (see the module docstring)."""
    return sorted(
        grants,
        key=lambda g: (
            g.priority,
            g.expires_at is None,
            # Grants that never expire tie here, so kind and age decide among them.
            g.expires_at or _NEVER,
            g.kind is not GrantKind.PROMOTIONAL,
            g.effective_at,
            g.id,
        ),
    )


def remaining(grant: Grant, transactions: Iterable[Transaction], at: datetime) -> Decimal:
    """Credit left on a grant at `at`, as the ledger says."""
    return balance(transactions, grant_account(grant.id), at)


def available_credit(
    grants: Iterable[Grant], transactions: Sequence[Transaction], org: str, at: datetime
) -> Decimal:
    """Credit the org can spend at `at`: what is left on its usable grants."""
    return sum(
        (remaining(g, transactions, at) for g in grants if g.org == org and g.usable_at(at)),
        ZERO,
    )


def exhausted(
    grants: Sequence[Grant],
    before: Sequence[Transaction],
    after: Sequence[Transaction],
    org: str,
    at: datetime,
) -> bool:
    """True when the org had usable credit in `before` and has none in `after` (both at `at`).

    A caller emits `credit.exhausted` on True; it is True once, on the change, not while the
    org stays at zero.
    """
    return (
        available_credit(grants, before, org, at) > 0
        and available_credit(grants, after, org, at) == 0
    )


def apply_credits(
    grants: Sequence[Grant],
    transactions: Sequence[Transaction],
    org: str,
    invoice_id: str,
    amount_due: Money,
    at: datetime,
) -> CreditApplication:
    """Pay as much of amount_due as the org's usable credit allows, in consumption order.

    Returns one APPLY transaction (a posting per grant drawn on, and one on the invoice) to
    append, or none when nothing is applied. Each grant gives at most what it holds at `at`.
    A usable grant of the org in another currency raises LedgerError naming it.
    """
    require_aware(at, "at")
    due = _cents(amount_due.amount, "amount_due")
    if due < 0:
        raise LedgerError(f"amount_due must be >= 0, got {due}")
    own = [g for g in grants if g.org == org and g.usable_at(at)]
    for grant in own:
        if grant.currency != amount_due.currency:
            raise LedgerError(
                f"grant {grant.id} currency {grant.currency} does not match"
                f" amount_due currency {amount_due.currency}"
            )
    _require_issued(own, transactions)
    left, consumed = due, {}
    for grant in consumption_order(own):
        if left == 0:
            break
        # A grant never gives more than it holds now nor more than it holds at the end of the
        # ledger, so an application dated before later ones cannot overdraw it.
        held = min(
            remaining(grant, transactions, at), balance(transactions, grant_account(grant.id))
        )
        take = min(held, left)
        if take > 0:
            consumed[grant.id] = take
            left -= take
    applied = due - left
    if applied == 0:
        return CreditApplication([], ZERO, due, {})
    earlier = sum(
        1 for tx in transactions if tx.kind is TransactionKind.APPLY and tx.ref == invoice_id
    )
    postings = [Posting(grant_account(gid), -amount) for gid, amount in consumed.items()]
    postings.append(Posting(invoice_account(invoice_id), applied))
    tx = Transaction(
        id=f"apply:{invoice_id}:{earlier + 1}",
        org=org,
        time=at,
        kind=TransactionKind.APPLY,
        currency=amount_due.currency,
        postings=tuple(postings),
        ref=invoice_id,
    )
    return CreditApplication([tx], applied, left, consumed)


def expire_grants(
    grants: Sequence[Grant], transactions: Sequence[Transaction], at: datetime
) -> list[Transaction]:
    """Write off what grants that expired by `at` still hold, one transaction each.

    Each is dated at the grant's expiry. Unused prepaid credit becomes breakage revenue;
    unused promotional credit reverses its expense. Already written-off grants give nothing,
    so calling this again appends nothing.
    """
    require_aware(at, "at")
    out = []
    for grant in grants:
        if grant.expires_at is None or grant.expires_at > at:
            continue
        left = remaining(grant, transactions, grant.expires_at)
        if left <= 0:
            continue
        sink = BREAKAGE if grant.kind is GrantKind.PREPAID else PROMOTION_EXPENSE
        out.append(
            Transaction(
                id=f"expire:{grant.id}",
                org=grant.org,
                time=grant.expires_at,
                kind=TransactionKind.EXPIRE,
                currency=grant.currency,
                postings=(Posting(grant_account(grant.id), -left), Posting(sink, left)),
                ref=grant.id,
            )
        )
    return out


def _require_issued(grants: Iterable[Grant], transactions: Sequence[Transaction]) -> None:
    issued = {tx.ref for tx in transactions if tx.kind is TransactionKind.GRANT}
    for grant in grants:
        if grant.id not in issued:
            raise LedgerError(
                f"grant {grant.id} has no issuance transaction in the ledger;"
                " append issue_grant(grant) first"
            )


_REVERSIBLE = frozenset({TransactionKind.INVOICE, TransactionKind.APPLY, TransactionKind.REVERSAL})


def reverse_application(
    grants: Sequence[Grant], transactions: Sequence[Transaction], invoice_id: str, at: datetime
) -> Transaction | None:
    """The REVERSAL transaction undoing an invoice's receivable and the credit applied to it.

    Every account the invoice's INVOICE, APPLY and earlier REVERSAL transactions moved is
    brought back: each grant gets back what it gave, the invoice account and revenue go to
    zero. Credit going back to a grant that has expired by `at` is written off at once, as
    `expire_grants` would have (breakage for prepaid, less promotion expense for promotional):
    otherwise it would sit on a grant nobody can use and no expiry will ever see again.
    None when there is nothing left to undo, so reversing twice appends nothing.
    """
    require_aware(at, "at")
    own = [tx for tx in transactions if tx.ref == invoice_id and tx.kind in _REVERSIBLE]
    net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for tx in own:
        for posting in tx.postings:
            net[posting.account] += posting.amount
    by_account = {grant_account(g.id): g for g in grants}
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for account, amount in net.items():
        if amount == 0:
            continue
        grant = by_account.get(account)
        if grant is not None and grant.expires_at is not None and grant.expires_at <= at:
            account = BREAKAGE if grant.kind is GrantKind.PREPAID else PROMOTION_EXPENSE
        out[account] -= amount
    postings = tuple(Posting(a, v) for a, v in out.items() if v != 0)
    if not postings:
        return None
    earlier = sum(1 for tx in own if tx.kind is TransactionKind.REVERSAL)
    return Transaction(
        id=f"reversal:{invoice_id}:{earlier + 1}",
        org=own[0].org,
        time=at,
        kind=TransactionKind.REVERSAL,
        currency=own[0].currency,
        postings=postings,
        ref=invoice_id,
    )
