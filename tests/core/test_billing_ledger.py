"""Credits ledger: balanced transactions, consumption order, expiry, exhaustion."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.billing.ledger import (
    BREAKAGE,
    PROMOTION_EXPENSE,
    Grant,
    GrantKind,
    LedgerError,
    Posting,
    Transaction,
    TransactionKind,
    apply_credits,
    available_credit,
    balance,
    balances,
    check_ledger,
    consumption_order,
    exhausted,
    expire_grants,
    grant_account,
    invoice_account,
    issue_grant,
    record_invoice,
    remaining,
)
from neocloud.domain.money import Money, to_cents

D = Decimal
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PREPAID, PROMO = GrantKind.PREPAID, GrantKind.PROMOTIONAL


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def grant(
    id: str,
    amount: str,
    kind: GrantKind = PREPAID,
    *,
    effective: float = 0,
    expires: float | None = None,
    priority: int = 0,
    org: str = "acme",
    currency: str = "USD",
) -> Grant:
    return Grant(
        id,
        org,
        kind,
        D(amount),
        currency,
        at(effective),
        None if expires is None else at(expires),
        priority,
    )


def usd(amount: str) -> Money:
    return Money(D(amount), "USD")


def test_a_transaction_must_balance_to_zero() -> None:
    with pytest.raises(LedgerError, match=r"postings sum to 1\.00, must sum to 0"):
        Transaction(
            "t1",
            "acme",
            T0,
            TransactionKind.GRANT,
            "USD",
            (Posting("grant:g", D("10.00")), Posting("cash", D("-9.00"))),
        )


@pytest.mark.parametrize(
    ("amount", "message"),
    [(D("0.001"), "whole cents"), (D("NaN"), "whole cents"), (D("0.00"), "must be > 0")],
    ids=["sub-cent", "nan", "zero"],
)
def test_a_grant_amount_is_positive_whole_cents(amount: Decimal, message: str) -> None:
    with pytest.raises(LedgerError, match=f"grant g1 amount {message}|{message}"):
        Grant("g1", "acme", PREPAID, amount, "USD", T0)


def test_issuing_a_grant_credits_its_account_from_cash_or_promotion_expense() -> None:
    paid, free = grant("p", "100.00"), grant("f", "20.00", PROMO)
    ledger = [issue_grant(paid), issue_grant(free)]
    assert balance(ledger, grant_account("p"), T0) == D("100.00")
    assert balance(ledger, grant_account("f"), T0) == D("20.00")
    assert balances(ledger) == {
        "grant:p": D("100.00"),
        "cash": D("-100.00"),
        "grant:f": D("20.00"),
        PROMOTION_EXPENSE: D("-20.00"),
    }


def test_consumption_order_expiring_then_promotional_then_oldest_then_id() -> None:
    grants = [
        grant("never-old", "1.00", effective=-10),
        grant("late-expiry", "1.00", expires=30),
        grant("soon-prepaid", "1.00", expires=10),
        grant("soon-promo", "1.00", PROMO, expires=10),
        grant("soon-prepaid-older", "1.00", effective=-5, expires=10),
        grant("b-never", "1.00"),
        grant("a-never", "1.00"),
        grant("pinned", "1.00", priority=-1),
    ]
    assert [g.id for g in consumption_order(grants)] == [
        "pinned",
        "soon-promo",
        "soon-prepaid-older",
        "soon-prepaid",
        "late-expiry",
        "never-old",
        "a-never",
        "b-never",
    ]


def test_among_never_expiring_grants_promotional_goes_before_an_older_prepaid() -> None:
    grants = [grant("old-prepaid", "1.00", effective=-10), grant("new-promo", "1.00", PROMO)]
    assert [g.id for g in consumption_order(grants)] == ["new-promo", "old-prepaid"]


def test_apply_credits_draws_in_order_and_leaves_the_rest_due() -> None:
    grants = [
        grant("prepaid", "50.00"),
        grant("promo", "30.00", PROMO, expires=20),
        grant("other-org", "999.00", org="globex"),
    ]
    ledger = [issue_grant(g) for g in grants]
    result = apply_credits(grants, ledger, "acme", "inv-1", usd("100.00"), at(1))

    assert result.consumed == {"promo": D("30.00"), "prepaid": D("50.00")}
    assert (result.applied, result.remaining_due) == (D("80.00"), D("20.00"))
    [tx] = result.transactions
    assert (tx.id, tx.kind, tx.ref, tx.time) == (
        "apply:inv-1:1",
        TransactionKind.APPLY,
        "inv-1",
        at(1),
    )
    ledger += result.transactions
    assert balance(ledger, invoice_account("inv-1")) == D("80.00")
    assert remaining(grants[0], ledger, at(1)) == D("0.00")
    assert remaining(grants[2], ledger, at(1)) == D("999.00")


def test_a_partial_draw_leaves_the_grant_its_remainder() -> None:
    g = grant("g", "50.00")
    ledger = [issue_grant(g)]
    ledger += apply_credits([g], ledger, "acme", "inv-1", usd("12.34"), at(1)).transactions
    assert remaining(g, ledger, at(1)) == D("37.66")
    second = apply_credits([g], ledger, "acme", "inv-2", usd("40.00"), at(2))
    assert (second.applied, second.remaining_due) == (D("37.66"), D("2.34"))


def test_expired_and_future_grants_are_not_usable() -> None:
    expired = grant("expired", "10.00", expires=5)
    future = grant("future", "10.00", effective=30)
    ledger = [issue_grant(expired), issue_grant(future)]
    result = apply_credits([expired, future], ledger, "acme", "inv", usd("5.00"), at(5))
    assert (result.transactions, result.remaining_due) == ([], D("5.00"))
    # One microsecond before expiry it still pays.
    just_before = at(5) - timedelta(microseconds=1)
    assert apply_credits([expired], ledger, "acme", "i", usd("5.00"), just_before).applied == D(
        "5.00"
    )


def test_expiry_writes_off_the_remainder_once() -> None:
    paid = grant("paid", "10.00", expires=5)
    free = grant("free", "4.00", PROMO, expires=6)
    keep = grant("keep", "1.00")
    ledger = [issue_grant(g) for g in (paid, free, keep)]
    ledger += apply_credits([paid], ledger, "acme", "inv", usd("3.00"), at(1)).transactions
    assert expire_grants([paid, free, keep], ledger, at(5)) != []

    expiries = expire_grants([paid, free, keep], ledger, at(7))
    assert [(t.id, t.time) for t in expiries] == [("expire:paid", at(5)), ("expire:free", at(6))]
    ledger += expiries
    assert remaining(paid, ledger, at(7)) == remaining(free, ledger, at(7)) == D("0.00")
    assert balance(ledger, BREAKAGE) == D("7.00")
    assert balance(ledger, PROMOTION_EXPENSE) == D("0.00")
    assert expire_grants([paid, free, keep], ledger, at(30)) == []
    # Before its expiry the grant still held its credit: history is kept, not rewritten.
    assert remaining(paid, ledger, at(4)) == D("7.00")


def test_currency_mismatch_raises_naming_the_grant() -> None:
    g = grant("eur", "10.00", currency="EUR")
    with pytest.raises(LedgerError, match="grant eur currency EUR does not match amount_due"):
        apply_credits([g], [issue_grant(g)], "acme", "inv", usd("1.00"), at(1))


def test_a_grant_missing_from_the_ledger_is_an_error_not_zero_credit() -> None:
    with pytest.raises(LedgerError, match="grant g has no issuance transaction"):
        apply_credits([grant("g", "1.00")], [], "acme", "inv", usd("1.00"), at(1))


def test_exhaustion_is_seen_once_on_the_change() -> None:
    g = grant("g", "10.00")
    before = [issue_grant(g)]
    after = before + apply_credits([g], before, "acme", "i1", usd("10.00"), at(1)).transactions
    assert exhausted([g], before, after, "acme", at(1))
    later = after + apply_credits([g], after, "acme", "i2", usd("5.00"), at(2)).transactions
    assert not exhausted([g], after, later, "acme", at(2))
    assert available_credit([g], later, "acme", at(2)) == D("0.00")


def test_an_expired_grant_offers_no_credit_even_before_its_write_off() -> None:
    g = grant("g", "10.00", expires=3)
    ledger = [issue_grant(g)]
    assert available_credit([g], ledger, "acme", at(2)) == D("10.00")
    assert available_credit([g], ledger, "acme", at(3)) == D("0.00")
    ledger += expire_grants([g], ledger, at(3))
    assert balance(ledger, grant_account("g"), at(3)) == D("0.00")
    assert balance(ledger, grant_account("g"), at(2)) == D("10.00")


def test_a_backdated_application_cannot_overdraw() -> None:
    g = grant("g", "10.00")
    ledger = [issue_grant(g)]
    ledger += apply_credits([g], ledger, "acme", "late", usd("8.00"), at(5)).transactions
    early = apply_credits([g], ledger, "acme", "early", usd("8.00"), at(2))
    assert early.applied == D("2.00")
    check_ledger(ledger + early.transactions)


def test_check_ledger_refuses_duplicate_ids_and_overdrafts() -> None:
    g = grant("g", "1.00")
    with pytest.raises(LedgerError, match="transaction id grant:g appears twice"):
        check_ledger([issue_grant(g), issue_grant(g)])
    overdraft = Transaction(
        "x",
        "acme",
        at(1),
        TransactionKind.APPLY,
        "USD",
        (Posting("grant:g", D("-2.00")), Posting("invoice:i", D("2.00"))),
    )
    with pytest.raises(LedgerError, match="takes grant:g below zero"):
        check_ledger([issue_grant(g), overdraft])


def test_balance_refuses_to_add_currencies() -> None:
    a, b = grant("a", "1.00"), grant("b", "1.00", currency="EUR")
    with pytest.raises(LedgerError, match="cash mixes currencies"):
        balance([issue_grant(a), issue_grant(b)], "cash")


# --- properties -----------------------------------------------------------------------------

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: D(c).scaleb(-2))
grant_specs = st.tuples(
    st.sampled_from(list(GrantKind)),
    cents,
    st.one_of(st.none(), st.integers(min_value=1, max_value=40)),  # days until expiry
    st.integers(min_value=0, max_value=2),  # priority
)
# A usage: GPU-hours (to the micro-hour) at a price per GPU-hour.
usage = st.tuples(
    st.integers(min_value=0, max_value=10_000_000).map(lambda n: D(n).scaleb(-6)),
    st.integers(min_value=1, max_value=1_000_000).map(lambda n: D(n).scaleb(-4)),
)
step = st.one_of(
    st.tuples(st.just("grant"), grant_specs),
    st.tuples(st.just("invoice"), usage),
    st.tuples(st.just("expire"), st.none()),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=5), step), max_size=30))
def test_any_sequence_keeps_the_ledger_sound(steps: list[tuple[int, tuple[str, object]]]) -> None:
    grants: list[Grant] = []
    ledger: list[Transaction] = []
    running: dict[str, Decimal] = {}
    now = T0
    for n, (gap, (what, spec)) in enumerate(steps):
        now += timedelta(days=gap)
        appended: list[Transaction]
        if what == "grant":
            kind, amount, expiry, priority = spec  # type: ignore[misc]
            g = Grant(
                f"g{n}",
                "acme",
                kind,
                amount,
                "USD",
                now,
                None if expiry is None else now + timedelta(days=expiry),
                priority,
            )
            grants.append(g)
            appended = [issue_grant(g)]
        elif what == "invoice":
            hours, price = spec  # type: ignore[misc]
            due = to_cents(hours * price)
            invoice = record_invoice("acme", f"i{n}", usd(str(due)), now)
            before = [*ledger, invoice]
            result = apply_credits(grants, before, "acme", f"i{n}", usd(str(due)), now)
            # Σ consumed + remaining due = amount due, and usage × price = invoiced + credited.
            assert sum(result.consumed.values(), D(0)) + result.remaining_due == due
            assert result.applied == sum(result.consumed.values(), D(0))
            after = before + result.transactions
            assert -balance(after, invoice_account(f"i{n}")) == result.remaining_due
            assert to_cents(hours * price) == result.remaining_due + result.applied
            if exhausted(grants, before, after, "acme", now):
                assert available_credit(grants, before, "acme", now) > 0
                assert result.remaining_due >= 0
            appended = [invoice, *result.transactions]
        else:
            appended = expire_grants(grants, ledger, now)
        for tx in appended:
            assert sum((p.amount for p in tx.postings), D(0)) == 0
            for p in tx.postings:
                running[p.account] = running.get(p.account, D(0)) + p.amount
        ledger += appended
        for g in grants:
            assert remaining(g, ledger, now) >= 0
    check_ledger(ledger)
    # Balances derived from scratch, in any order, equal the running ones.
    shuffled = ledger[:]
    random.Random(len(ledger)).shuffle(shuffled)
    replayed = balances(shuffled)
    assert {k: v for k, v in replayed.items() if v} == {k: v for k, v in running.items() if v}
    # Money is conserved: every account together sums to zero.
    assert sum(replayed.values(), D(0)) == 0
    # After a final expiry sweep no expired grant holds anything.
    end = now + timedelta(days=100)
    ledger += expire_grants(grants, ledger, end)
    assert all(remaining(g, ledger, end) == 0 for g in grants if g.expires_at is not None)
    assert expire_grants(grants, ledger, end) == []
