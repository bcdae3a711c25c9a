"""Paying and voiding finalized invoices: the state machine, who and why, and credit given back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.api.conftest import Api
from tests.api.invoice_flow import apply_credit, finalized, grant, in_status

# (status the invoice is in, action) -> HTTP status: the whole table of transitions.
TRANSITIONS = {
    ("draft", "pay"): 409,
    ("draft", "void"): 409,
    ("finalized", "pay"): 200,
    ("finalized", "void"): 200,
    ("paid", "pay"): 409,
    ("paid", "void"): 409,
    ("void", "pay"): 409,
    ("void", "void"): 409,
}
AFTER = {"pay": "paid", "void": "void"}


@pytest.mark.parametrize(("status", "action"), list(TRANSITIONS))
def test_the_state_machine(api: Api, status: str, action: str) -> None:
    api.new_org("acme")
    invoice = in_status(api, status)
    body = {"reason": "duplicate"} if action == "void" else {}

    r = api.http.post(f"/v1/invoices/{invoice['id']}/{action}", json=body)

    assert r.status_code == TRANSITIONS[(status, action)], r.text
    now = api.http.get(f"/v1/invoices/{invoice['id']}").json()
    if r.status_code == 200:
        assert r.json()["previous_status"] == status
        assert now["status"] == r.json()["invoice"]["status"] == AFTER[action]
    else:
        error = r.json()["error"]
        assert error["code"] == "conflict"
        assert error["details"]["status"] == status
        assert f"is {status}" in error["message"]
        assert now == invoice  # nothing changed


def test_paying_records_when_and_who(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    r = api.http.post(f"/v1/invoices/{invoice['id']}/pay")
    assert r.status_code == 200, r.text
    change = r.json()
    assert change["action"] == "pay"
    assert change["by"]["role"] == "operator"
    assert change["invoice"]["paid_at"] is not None
    assert change["invoice"]["voided_at"] is None
    assert change["invoice"]["number"] == invoice["number"]


def test_paid_at_may_be_given_but_not_before_finalizing_nor_in_the_future(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    finalized_at = datetime.fromisoformat(invoice["finalized_at"])
    path = f"/v1/invoices/{invoice['id']}/pay"

    for bad in (finalized_at - timedelta(days=1), datetime.now(UTC) + timedelta(days=1)):
        r = api.http.post(path, json={"paid_at": bad.isoformat()})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["field"] == "paid_at"
    naive = api.http.post(path, json={"paid_at": "2026-12-01T00:00:00"})
    assert naive.status_code == 422 and naive.json()["error"]["details"]["field"] == "paid_at"

    r = api.http.post(path, json={"paid_at": finalized_at.isoformat()})
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["invoice"]["paid_at"]) == finalized_at


def test_void_needs_a_reason_and_records_who_and_why(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    path = f"/v1/invoices/{invoice['id']}/void"
    for body in ({}, {"reason": ""}):
        r = api.http.post(path, json=body)
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "reason"

    r = api.http.post(path, json={"reason": "billed the wrong org"})

    assert r.status_code == 200, r.text
    change = r.json()
    assert change["reason"] == "billed the wrong org"
    assert change["by"]["role"] == "operator" and change["by"]["key_id"]
    assert change["invoice"]["status"] == "void"
    assert change["invoice"]["voided_at"] is not None
    assert change["invoice"]["number"] == invoice["number"]  # a void keeps its number


def test_a_void_invoice_number_is_never_reused(api: Api) -> None:
    api.new_org("acme")
    api.new_org("globex")
    first = finalized(api, "acme")
    api.http.post(f"/v1/invoices/{first['id']}/void", json={"reason": "wrong"})
    # The period is billed again from scratch: a new draft, a new number.
    again = api.http.post("/v1/invoices/generate", json={"period": "2026-11", "org": "acme"})
    (redo,) = again.json()
    assert redo["id"] != first["id"] and redo["status"] == "draft"
    redo = api.http.post(f"/v1/invoices/{redo['id']}/finalize").json()
    other = finalized(api, "globex")
    numbers = [first["number"], redo["number"], other["number"]]
    assert numbers == ["NC-2026-000001", "NC-2026-000002", "NC-2026-000003"]
    assert api.http.get(f"/v1/invoices/{first['id']}").json()["number"] == "NC-2026-000001"


def test_voiding_gives_applied_credit_back_to_the_grants_it_came_from(api: Api) -> None:
    acme = api.new_org("acme")
    promo = grant(api, "acme", "5.00", "promotional")
    paid = grant(api, "acme", "10.00")
    invoice = apply_credit(api, finalized(api)["id"])
    assert Decimal(invoice["credits_applied"]) == Decimal("15.00")
    assert acme.get("/v1/credits").json()["available_credit"] == "0.00"

    r = api.http.post(f"/v1/invoices/{invoice['id']}/void", json={"reason": "goodwill"})

    assert r.status_code == 200, r.text
    assert Decimal(r.json()["credits_returned"]) == Decimal("15.00")
    assert Decimal(r.json()["credits_written_off"]) == 0
    status = acme.get("/v1/credits").json()
    assert Decimal(status["available_credit"]) == Decimal("15.00")
    remaining = {g["id"]: Decimal(g["remaining"]) for g in status["grants"]}
    assert remaining == {promo["id"]: Decimal("5.00"), paid["id"]: Decimal("10.00")}
    postings = acme.get("/v1/credits/ledger").json()
    assert sum(Decimal(p["amount"]) for p in postings) == 0
    reversal = [p for p in postings if p["transaction_id"] == r.json()["ledger_transaction_id"]]
    assert {p["kind"] for p in reversal} == {"reversal"}
    # The receivable is gone as well: nothing of the invoice is left on its account.
    account = f"invoice:{invoice['id']}"
    assert sum(Decimal(p["amount"]) for p in postings if p["account"] == account) == 0


def test_a_void_without_credit_moves_no_grant(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    r = api.http.post(f"/v1/invoices/{invoice['id']}/void", json={"reason": "test"})
    assert r.status_code == 200
    assert Decimal(r.json()["credits_returned"]) == 0


def test_only_the_operator_pays_or_voids_and_other_orgs_see_nothing(api: Api) -> None:
    acme = api.new_org("acme")
    globex = api.new_org("globex")
    invoice = finalized(api)
    assert acme.post(f"/v1/invoices/{invoice['id']}/pay").status_code == 403
    assert acme.post(f"/v1/invoices/{invoice['id']}/void", json={"reason": "x"}).status_code == 403
    assert globex.get(f"/v1/invoices/{invoice['id']}/credit-notes").status_code == 404
    assert api.http.post("/v1/invoices/inv_nope/pay").status_code == 404
    assert api.http.post("/v1/invoices/inv_nope/void", json={"reason": "x"}).status_code == 404


def test_a_retried_payment_with_its_key_is_replayed(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    path = f"/v1/invoices/{invoice['id']}/pay"
    first = api.http.post(path, headers={"Idempotency-Key": "pay-1"})
    again = api.http.post(path, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert api.http.post(path).status_code == 409  # without the key it is a second payment
