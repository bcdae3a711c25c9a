"""Credit grants, an org's credit position and its credit ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from neocloud.schemas.credits import CreditStatus, Grant, GrantCreate, LedgerPosting
from neocloud.sdk.transport import Resource, build

GrantKind = Literal["prepaid", "promotional"]


class Credits(Resource):
    """Credits (`/v1/credits`): grants, what is available, the prepaid limit position."""

    def grant(
        self,
        org: str,
        amount: Decimal | str | int,
        *,
        kind: GrantKind,
        currency: str | None = None,
        effective_at: datetime | None = None,
        expires_at: datetime | None = None,
        priority: int | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Grant:
        """Give an org prepaid credit (paid for) or a promotional grant (operator).

        `kind` has no default on purpose: the two are accounted differently when they expire
        (prepaid becomes breakage revenue, promotional reverses an expense).
        """
        if isinstance(amount, float):
            raise TypeError("amount must be a Decimal, str or int, not float")
        body = build(
            GrantCreate,
            org=org,
            kind=kind,
            amount=amount,
            currency=currency,
            effective_at=effective_at,
            expires_at=expires_at,
            priority=priority,
            description=description,
        )
        return self._t.call(
            "POST", "/v1/credits/grants", Grant, body=body, idempotency_key=idempotency_key
        )

    def status(self, org: str | None = None) -> CreditStatus:
        """An org's grants in consumption order, available credit and (prepaid) headroom."""
        return self._t.call("GET", "/v1/credits", CreditStatus, params={"org": org})

    def ledger(self, org: str | None = None) -> list[LedgerPosting]:
        """Every posting of an org's credit ledger (default: your own org), oldest first."""
        return self._t.call("GET", "/v1/credits/ledger", list[LedgerPosting], params={"org": org})
