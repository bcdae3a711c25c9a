"""Credit notes: never beyond a line, gapless numbers, and where the credit goes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from neocloud.server.http.clock import utcnow
from tests.api.conftest import Api
from tests.api.invoice_flow import apply_credit, finalized, grant, in_status

D = Decimal
YEAR = utcnow().year  # notes are numbered by the year they are issued


def _note(api: Api, invoice_id: str, *lines: tuple[int, str], reason: str = "outage") -> Any:
    body = {
        "reason": reason,
        "lines": [{"line": n, "amount": amount, "reason": "GPU down"} for n, amount in lines],
    }
    return api.http.post(f"/v1/invoices/{invoice_id}/credit-notes", json=body)


def _line(invoice: dict[str, Any], n: int) -> D:
    return D(invoice["lines"][n - 1]["amount"])


def test_a_note_on_an_unpaid_invoice_lowers_what_is_due(api: Api) -> None:
    acme = api.new_org("acme")
    invoice = finalized(api)
    due = D(invoice["amount_due"])

    r = _note(api, invoice["id"], (1, "10.00"))

    assert r.status_code == 201, r.text
    note = r.json()
    assert note["number"] == f"CN-{YEAR}-000001"
    assert note["invoice_number"] == invoice["number"]
    assert (D(note["subtotal"]), D(note["tax"]), D(note["total"])) == (D("10.00"), 0, D("10.00"))
    assert D(note["amount_due_reduced"]) == D("10.00") and D(note["credit_granted"]) == 0
    assert note["grant_id"] is None
    assert note["lines"] == [
        {
            "line": 1,
            "description": invoice["lines"][0]["description"],
            "amount": "10.00",
            "reason": "GPU down",
        }
    ]
    after = acme.get(f"/v1/invoices/{invoice['id']}").json()
    assert D(after["amount_due"]) == due - D("10.00")
    assert after["total"] == invoice["total"] and after["lines"] == invoice["lines"]
    assert acme.get(f"/v1/invoices/{invoice['id']}/credit-notes").json() == [note]
    assert acme.get(f"/v1/credit-notes/{note['id']}").json() == note


def test_a_note_on_a_paid_invoice_is_prepaid_credit(api: Api) -> None:
    acme = api.new_org("acme")
    invoice = in_status(api, "paid")

    r = _note(api, invoice["id"], (2, "1.00"))

    assert r.status_code == 201, r.text
    note = r.json()
    assert D(note["credit_granted"]) == D("1.00") and D(note["amount_due_reduced"]) == 0
    credits = acme.get("/v1/credits").json()
    assert D(credits["available_credit"]) == D("1.00")
    (granted,) = credits["grants"]
    assert granted["id"] == note["grant_id"] and granted["kind"] == "prepaid"
    assert note["number"] in granted["description"]
    # The paid invoice is not touched.
    assert acme.get(f"/v1/invoices/{invoice['id']}").json()["amount_due"] == invoice["amount_due"]
    postings = acme.get("/v1/credits/ledger").json()
    assert sum(D(p["amount"]) for p in postings) == 0


def test_beyond_what_is_still_due_the_rest_is_credit(api: Api) -> None:
    acme = api.new_org("acme")
    grant(api, "acme", "25.00")
    invoice = apply_credit(api, finalized(api)["id"])
    due = D(invoice["amount_due"])
    assert D("0") < due < D("20.00")

    r = _note(api, invoice["id"], (1, "20.00"))

    assert r.status_code == 201, r.text
    note = r.json()
    assert D(note["amount_due_reduced"]) == due
    assert D(note["credit_granted"]) == D("20.00") - due
    assert D(acme.get(f"/v1/invoices/{invoice['id']}").json()["amount_due"]) == 0
    assert D(acme.get("/v1/credits").json()["available_credit"]) == D("20.00") - due
    postings = acme.get("/v1/credits/ledger").json()
    assert sum(D(p["amount"]) for p in postings) == 0
    # The ledger's receivable follows what is still due: nothing.
    account = f"invoice:{invoice['id']}"
    assert sum(D(p["amount"]) for p in postings if p["account"] == account) == 0


def test_a_line_is_never_credited_beyond_its_amount(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    first_line = _line(invoice, 1)

    assert _note(api, invoice["id"], (1, str(first_line - D("1.00")))).status_code == 201
    r = _note(api, invoice["id"], (1, "1.01"))

    assert r.status_code == 422
    error = r.json()["error"]
    assert error["details"]["field"] == "lines[0].amount"
    assert error["message"].startswith("lines[0].amount: 1.01 exceeds what remains")
    assert f"(1.00 of {first_line})" in error["message"]
    assert _note(api, invoice["id"], (1, "1.00")).status_code == 201  # exactly what remains
    # Two lines of one note add up against the same invoice line too.
    r = _note(api, invoice["id"], (2, "0.01"), (1, "0.01"))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "lines[1].amount"


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ({"line": 99, "amount": "1.00"}, "lines[0].line", "has no line 99"),
        ({"line": 0, "amount": "1.00"}, "lines[0].line", ""),
        ({"line": 1, "amount": "0"}, "lines[0].amount", ""),
        ({"line": 1, "amount": "-1.00"}, "lines[0].amount", ""),
        ({"line": 1, "amount": "1.001"}, "lines[0].amount", ""),
        ({"line": 1, "amount": "1.00", "colour": "red"}, "lines[0].colour", ""),
    ],
)
def test_errors_name_the_field(api: Api, line: dict[str, Any], field: str, words: str) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    r = api.http.post(
        f"/v1/invoices/{invoice['id']}/credit-notes", json={"reason": "x", "lines": [line]}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert words in r.json()["error"]["message"]


def test_a_note_needs_a_reason_and_a_line(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    path = f"/v1/invoices/{invoice['id']}/credit-notes"
    for body, field in (
        ({"lines": [{"line": 1, "amount": "1.00"}]}, "reason"),
        ({"reason": "  ", "lines": [{"line": 1, "amount": "1.00"}]}, "reason"),
        ({"reason": "x", "lines": []}, "lines"),
    ):
        r = api.http.post(path, json=body)
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, r.text


@pytest.mark.parametrize("status", ["draft", "void"])
def test_only_finalized_or_paid_invoices_take_notes(api: Api, status: str) -> None:
    api.new_org("acme")
    invoice = in_status(api, status)
    r = _note(api, invoice["id"], (1, "1.00"))
    assert r.status_code == 409
    assert r.json()["error"]["details"]["status"] == status


def test_a_statement_takes_no_note(api: Api) -> None:
    invoice = in_status(api, "finalized", org="research")  # the demo internal org
    assert invoice["kind"] == "statement"
    r = _note(api, invoice["id"], (1, "1.00"))
    assert r.status_code == 409 and r.json()["error"]["details"]["kind"] == "statement"


def test_an_invoice_with_notes_is_not_voided(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    number = _note(api, invoice["id"], (1, "1.00")).json()["number"]
    r = api.http.post(f"/v1/invoices/{invoice['id']}/void", json={"reason": "x"})
    assert r.status_code == 409
    assert r.json()["error"]["details"]["credit_notes"] == [number]


def test_numbers_are_gapless_across_invoices_and_refusals(api: Api) -> None:
    api.new_org("acme")
    api.new_org("globex")
    a, g = finalized(api, "acme"), finalized(api, "globex")
    numbers = [
        _note(api, a["id"], (1, "1.00")).json()["number"],
        _note(api, g["id"], (1, "1.00")).json()["number"],
    ]
    assert _note(api, a["id"], (1, "100000.00")).status_code == 422  # takes no number
    numbers.append(_note(api, a["id"], (2, "0.50")).json()["number"])
    assert numbers == [f"CN-{YEAR}-{n:06d}" for n in (1, 2, 3)]
    listed = api.http.get(f"/v1/invoices/{a['id']}/credit-notes").json()
    assert [n["number"] for n in listed] == [numbers[0], numbers[2]]


def test_concurrent_notes_cannot_together_credit_a_line_beyond_its_amount(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    line = _line(invoice, 1)  # $29.90: five notes of $5 fit, a sixth does not
    assert line == D("29.90")

    def issue(_: int) -> int:
        return _note(api, invoice["id"], (1, "5.00")).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(issue, range(8)))

    assert sorted(codes) == [201] * 5 + [422] * 3
    notes = api.http.get(f"/v1/invoices/{invoice['id']}/credit-notes").json()
    assert sum(D(n["total"]) for n in notes) == D("25.00")
    assert [n["number"] for n in notes] == [f"CN-{YEAR}-{n:06d}" for n in range(1, 6)]
    due = D(api.http.get(f"/v1/invoices/{invoice['id']}").json()["amount_due"])
    assert due == D(invoice["amount_due"]) - D("25.00")


def test_other_orgs_see_no_note_and_only_the_operator_issues(api: Api) -> None:
    acme = api.new_org("acme")
    globex = api.new_org("globex")
    invoice = finalized(api)
    note = _note(api, invoice["id"], (1, "1.00")).json()
    assert globex.get(f"/v1/credit-notes/{note['id']}").status_code == 404
    assert globex.get(f"/v1/invoices/{invoice['id']}/credit-notes").status_code == 404
    assert acme.get(f"/v1/credit-notes/{note['id']}").status_code == 200
    body = {"reason": "x", "lines": [{"line": 1, "amount": "1.00"}]}
    assert acme.post(f"/v1/invoices/{invoice['id']}/credit-notes", json=body).status_code == 403
    assert api.http.get("/v1/credit-notes/cn_nope").status_code == 404


def test_a_retried_note_with_its_key_is_issued_once(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    body = {"reason": "x", "lines": [{"line": 1, "amount": "1.00"}]}
    path = f"/v1/invoices/{invoice['id']}/credit-notes"
    first = api.http.post(path, json=body, headers={"Idempotency-Key": "cn-1"})
    again = api.http.post(path, json=body, headers={"Idempotency-Key": "cn-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len(api.http.get(f"{path}").json()) == 1
