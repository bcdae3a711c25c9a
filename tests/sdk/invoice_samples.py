"""Wire payloads of paying, voiding and crediting invoices, as the server sends them."""

from __future__ import annotations

from typing import Any

from tests.sdk.sdk_samples import T0, invoice

FOCUS_CSV = "BilledCost,BillingAccountId\n2.20,org_1\n"
DOCUMENT_CSV = "position,kind,description,amount\n1,usage,h100 spot,2.20\n"


def status_change(action: str = "pay", **over: Any) -> dict[str, Any]:
    """An invoice after pay or void, with who did it."""
    after = "paid" if action == "pay" else "void"
    stamp = {"paid_at": T0} if action == "pay" else {"voided_at": T0}
    return {
        "invoice": invoice(number="NC-2026-000001", status=after, finalized_at=T0, **stamp),
        "action": action,
        "previous_status": "finalized",
        "at": T0,
        "by": {"key_id": "key_1", "org_id": "org_0", "org": "platform", "role": "operator"},
        "reason": None if action == "pay" else "duplicate",
        "credits_returned": "0.00" if action == "pay" else "1.50",
        "credits_written_off": "0.00",
        "ledger_transaction_id": None if action == "pay" else "reversal:inv_1:1",
    } | over


def credit_note(**over: Any) -> dict[str, Any]:
    """A credit note that lowered what was due."""
    return {
        "id": "cn_1",
        "number": "CN-2026-000001",
        "invoice_id": "inv_1",
        "invoice_number": "NC-2026-000001",
        "org_id": "org_1",
        "currency": "USD",
        "reason": "outage",
        "lines": [{"line": 1, "description": "h100 spot", "amount": "1.10", "reason": "GPU down"}],
        "subtotal": "1.10",
        "tax": "0.00",
        "total": "1.10",
        "amount_due_reduced": "1.10",
        "credit_granted": "0.00",
        "grant_id": None,
        "created_at": T0,
    } | over
