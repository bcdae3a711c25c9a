"""A finalized invoice with one line of every kind, shared by the renderer and export tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from neocloud.billing.document import GPU_METER, BillingDocument, DocumentLine, LineKind
from neocloud.billing.invoice import InvoiceKind, InvoiceStatus
from neocloud.billing.render import InvoiceView
from neocloud.domain.jobs import Tier

D = Decimal
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
OCT = datetime(2026, 10, 1, tzinfo=UTC)


def gpu(
    description: str,
    hours: str,
    price: str,
    amount: str,
    tier: Tier,
    *,
    kind: LineKind = LineKind.USAGE,
    ref: str | None = None,
    start: datetime = START,
    end: datetime = END,
    gpu_type: str = "h100",
) -> DocumentLine:
    return DocumentLine(
        kind=kind,
        description=description,
        quantity=D(hours),
        unit="GPU-hour",
        unit_price=D(price),
        amount=D(amount),
        service_start=start,
        service_end=end,
        meter=GPU_METER,
        gpu_type=gpu_type,
        tier=tier,
        region="us-east",
        ref=ref,
    )


LINES = (
    gpu("h100 on_demand GPU time", "8.000000", "2.50", "20.00", Tier.ON_DEMAND),
    gpu("h100 spot GPU time", "0.333333", "1.00", "0.33", Tier.SPOT),
    gpu("h100 reserved GPU time", "100.000000", "0.00", "0.00", Tier.RESERVED, ref="ctr-7"),
    gpu(
        "Reserved 2 × h100, November",
        "1440.000000",
        "1.80",
        "2592.00",
        Tier.RESERVED,
        kind=LineKind.CONTRACT,
        ref="ctr-7",
    ),
    DocumentLine(
        LineKind.USAGE,
        "llama-70b input tokens",
        D("12.5"),
        "million tokens",
        D("0.60"),
        D("7.50"),
        START,
        END,
        meter="input_tokens",
        region="us-east",
    ),
    DocumentLine(
        LineKind.MINIMUM_COMMITMENT,
        "Minimum monthly spend true-up",
        D("1"),
        "month",
        None,
        D("100.00"),
        START,
        END,
        ref="ctr-9",
    ),
    DocumentLine(
        LineKind.DISCOUNT, "Volume discount 5 %", D("1"), "discount", None, D("-1.49"), START, END
    ),
    gpu(
        "Late h100 on_demand GPU time (October)",
        "2.000000",
        "2.50",
        "5.00",
        Tier.ON_DEMAND,
        kind=LineKind.ADJUSTMENT,
        ref="NC-2026-000041",
        start=OCT,
        end=START,
    ),
)
SUBTOTAL = sum((ln.amount for ln in LINES), D("0.00"))
TAX = DocumentLine(
    LineKind.TAX,
    "VAT 20 %",
    SUBTOTAL,
    "tax",
    D("0.20"),
    (SUBTOTAL * D("0.20")).quantize(D("0.01")),
    START,
    END,
)
DOC = BillingDocument("acme", InvoiceKind.INVOICE, START, END, "USD", (*LINES, TAX))
CREDITS = D("50.00")
VIEW = InvoiceView(
    number="NC-2026-000042",
    status=InvoiceStatus.FINALIZED,
    issued_on=date(2026, 12, 1),
    issuer_name="Example GPU Cloud",
    customer_name="Acme Corp",
    credits_applied=CREDITS,
    amount_due=DOC.total - CREDITS,
)
