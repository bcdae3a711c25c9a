"""Invoice renderers: a BillingDocument plus its invoice metadata as JSON, CSV or HTML.

Amounts are written as plain decimal strings, never floats, so every format reads back to
the exact Decimal. amount_due = total − credits_applied, checked before anything renders.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from neocloud.billing.document import BillingDocument, DocumentLine
from neocloud.billing.intervals import utc
from neocloud.billing.invoice import InvoiceStatus
from neocloud.domain.money import CENT

CSV_COLUMNS = (
    "position",
    "kind",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
    "service_start",
    "service_end",
    "meter",
    "gpu_type",
    "tier",
    "region",
    "ref",
)


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """What an invoice shows beyond its lines: who, which number, and what is left to pay.

    `number` is None for a draft. `credits_applied` is what prepaid and promotional credit
    paid; `amount_due` must equal the document total minus it.
    """

    number: str | None
    status: InvoiceStatus
    issued_on: date | None
    issuer_name: str
    customer_name: str
    credits_applied: Decimal
    amount_due: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", InvoiceStatus(self.status))
        for name in ("credits_applied", "amount_due"):
            value = getattr(self, name)
            if (
                not isinstance(value, Decimal)
                or not value.is_finite()
                or value != value.quantize(CENT)
            ):
                raise ValueError(f"{name} must be a Decimal in whole cents, got {value!r}")
        if self.credits_applied < 0:
            raise ValueError(f"credits_applied must be >= 0, got {self.credits_applied}")


def check_view(doc: BillingDocument, view: InvoiceView) -> None:
    """Raise ValueError naming the field unless the view's figures agree with the document."""
    if view.amount_due != doc.total - view.credits_applied:
        raise ValueError(
            f"amount_due must be total − credits_applied = {doc.total - view.credits_applied},"
            f" got {view.amount_due}"
        )


def iso(moment: datetime) -> str:
    """An instant as ISO 8601 UTC with a Z, e.g. 2026-11-01T00:00:00Z."""
    text = utc(moment).replace(tzinfo=None).isoformat()
    return f"{text}Z"


def plain(value: Decimal) -> str:
    """A Decimal as a plain decimal string: no exponent, every digit kept."""
    return f"{value:f}"


def render_json(doc: BillingDocument, view: InvoiceView) -> dict[str, object]:
    """The invoice as a JSON-ready dict; Decimals are strings, instants ISO 8601 UTC."""
    check_view(doc, view)
    return {
        "number": view.number,
        "status": view.status.value,
        "kind": doc.kind.value,
        "issued_on": view.issued_on.isoformat() if view.issued_on else None,
        "issuer": view.issuer_name,
        "customer": view.customer_name,
        "org": doc.org,
        "currency": doc.currency,
        "period_start": iso(doc.period_start),
        "period_end": iso(doc.period_end),
        "lines": [_line_fields(i, ln, doc.currency) for i, ln in enumerate(doc.lines, start=1)],
        "subtotal": plain(doc.subtotal),
        "tax": plain(doc.tax),
        "total": plain(doc.total),
        "credits_applied": plain(view.credits_applied),
        "amount_due": plain(view.amount_due),
    }


def render_csv(doc: BillingDocument, view: InvoiceView) -> str:
    """One row per line under a header of CSV_COLUMNS; amounts sum to the total."""
    check_view(doc, view)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for i, ln in enumerate(doc.lines, start=1):
        writer.writerow(
            {k: "" if v is None else v for k, v in _line_fields(i, ln, doc.currency).items()}
        )
    return out.getvalue()


def _line_fields(position: int, ln: DocumentLine, currency: str) -> dict[str, object]:
    return {
        "position": position,
        "kind": ln.kind.value,
        "description": ln.description,
        "quantity": plain(ln.quantity),
        "unit": ln.unit,
        "unit_price": None if ln.unit_price is None else plain(ln.unit_price),
        "amount": plain(ln.amount),
        "currency": currency,
        "service_start": iso(ln.service_start),
        "service_end": iso(ln.service_end),
        "meter": ln.meter,
        "gpu_type": ln.gpu_type,
        "tier": None if ln.tier is None else ln.tier.value,
        "region": ln.region,
        "ref": ln.ref,
    }


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111; margin: 2rem; }
header { display: flex; justify-content: space-between; align-items: flex-start; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
.meta { color: #444; font-size: .9rem; }
table { width: 100%; border-collapse: collapse; margin-top: 1.5rem; font-size: .9rem; }
th, td { padding: .4rem .5rem; border-bottom: 1px solid #ddd; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { border: none; }
tfoot tr.due td { font-weight: bold; font-size: 1.05rem; border-top: 2px solid #111; }
.status { text-transform: uppercase; letter-spacing: .05em; font-size: .8rem; }
@media print {
  body { margin: 0; font-size: 10pt; }
  @page { size: A4; margin: 15mm; }
  tr { page-break-inside: avoid; }
  thead { display: table-header-group; }
}
"""


def _negated(amount: Decimal) -> str:
    return plain(-amount) if amount else plain(amount)


def render_html(doc: BillingDocument, view: InvoiceView) -> str:
    """A standalone printable page: no external assets, every text HTML-escaped."""
    check_view(doc, view)
    e = html.escape
    cur = e(doc.currency)
    title = f"Invoice {view.number}" if view.number else f"Draft {doc.kind.value}"
    rows = "\n".join(
        "<tr>"
        f'<td class="num">{i}</td><td>{e(ln.description)}</td>'
        f'<td class="num">{e(plain(ln.quantity))} {e(ln.unit)}</td>'
        f'<td class="num">{"" if ln.unit_price is None else e(plain(ln.unit_price))}</td>'
        f'<td class="num">{e(plain(ln.amount))}</td>'
        "</tr>"
        for i, ln in enumerate(doc.lines, start=1)
    )
    issued = view.issued_on.isoformat() if view.issued_on else "not issued"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<div>
<h1>{e(title)}</h1>
<div class="meta">From {e(view.issuer_name)}</div>
<div class="meta">To {e(view.customer_name)} ({e(doc.org)})</div>
</div>
<div class="meta">
<div class="status">{e(view.status.value)}</div>
<div>Issued {e(issued)}</div>
<div>Period {e(iso(doc.period_start))} to {e(iso(doc.period_end))}</div>
</div>
</header>
<table>
<thead><tr><th class="num">#</th><th>Description</th><th class="num">Quantity</th>
<th class="num">Unit price</th><th class="num">Amount ({cur})</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot>
<tr><td colspan="4" class="num">Subtotal</td><td class="num">{e(plain(doc.subtotal))}</td></tr>
<tr><td colspan="4" class="num">Tax</td><td class="num">{e(plain(doc.tax))}</td></tr>
<tr><td colspan="4" class="num">Total</td><td class="num">{e(plain(doc.total))}</td></tr>
<tr><td colspan="4" class="num">Credits applied</td>
<td class="num">{e(_negated(view.credits_applied))}</td></tr>
<tr class="due"><td colspan="4" class="num">Amount due ({cur})</td>
<td class="num">{e(plain(view.amount_due))}</td></tr>
</tfoot>
</table>
</body>
</html>
"""
