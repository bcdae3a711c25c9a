"""Cost and usage export in FOCUS 1.2 (FinOps Open Cost and Usage Specification).

One row per document line, plus one Credit row for prepaid/promotional credit applied, so
Σ BilledCost is exactly what the invoice asks the customer to pay. docs/focus.md has the
column-by-column mapping and the rules chosen where FOCUS leaves room; in short:

- usage → Usage / Usage-Based; spot is Dynamic pricing, internal (at cost) Other, reserved
  usage under a contract Committed with CommitmentDiscount* and CapacityReservation* set,
  everything else Standard;
- a reserved contract's fee → Purchase / Recurring (Standard: a commitment bought at the
  agreed rate), with the CommitmentDiscount* columns of the contract;
- late usage of a finalized period (adjustment) → Usage with ChargeClass Correction;
- discounts and applied credits → Credit; a minimum-commitment true-up → Adjustment;
  tax → Tax, with every pricing column null as FOCUS requires;
- a credit note → one Credit row per invoice line it credits and a Tax row for its tax
  credit, all with ChargeClass Correction (`credit_note_rows`).

Values in rows are Decimal (exact), str, or None (FOCUS null); instants are ISO 8601 UTC with
a Z, whole seconds (a charge period is widened outward to whole seconds, never narrowed).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from neocloud.billing.credit_notes import CreditNote
from neocloud.billing.document import GPU_METER, BillingDocument, DocumentLine, LineKind
from neocloud.billing.intervals import utc
from neocloud.billing.invoice import InvoiceKind
from neocloud.billing.render import InvoiceView, check_view, plain
from neocloud.domain.jobs import Tier

FOCUS_VERSION = "1.2"

# FOCUS 1.2 columns we export, in the specification's (alphabetical) order, then ours.
# Left out: AvailabilityZone (no zones), and the PricingCurrency* columns, which FOCUS asks
# for only when prices and bills are in different currencies (ours never are).
FOCUS_COLUMNS = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
)
CUSTOM_COLUMNS = ("x_LineKind", "x_Meter", "x_GpuType", "x_Tier", "x_Ref")
COLUMNS = FOCUS_COLUMNS + CUSTOM_COLUMNS
DECIMAL_COLUMNS = frozenset(
    {
        "BilledCost",
        "CommitmentDiscountQuantity",
        "ConsumedQuantity",
        "ContractedCost",
        "ContractedUnitPrice",
        "EffectiveCost",
        "ListCost",
        "ListUnitPrice",
        "PricingQuantity",
    }
)
DATETIME_COLUMNS = frozenset(
    {"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"}
)

COMMITMENT_TYPE = "Reserved GPU capacity"
_CHARGE = {
    LineKind.USAGE: ("Usage", "Usage-Based"),
    LineKind.ADJUSTMENT: ("Usage", "Usage-Based"),
    LineKind.CONTRACT: ("Purchase", "Recurring"),
    LineKind.MINIMUM_COMMITMENT: ("Adjustment", "Recurring"),
    LineKind.DISCOUNT: ("Credit", "Recurring"),
    LineKind.TAX: ("Tax", "Recurring"),
}
_PRICED = frozenset({LineKind.USAGE, LineKind.ADJUSTMENT, LineKind.CONTRACT})

Row = dict[str, object]


def focus_rows(doc: BillingDocument, view: InvoiceView) -> list[Row]:
    """The document as FOCUS 1.2 rows: one per line, then one Credit row for credits applied."""
    check_view(doc, view)
    rows = [_line_row(doc, view, ln) for ln in doc.lines]
    if view.credits_applied:
        rows.append(_credits_row(doc, view))
    return rows


def credit_note_rows(
    doc: BillingDocument, view: InvoiceView, note_number: str, note: CreditNote
) -> list[Row]:
    """FOCUS rows of a credit note on the invoice `doc`: Credit corrections, then its tax.

    Each credited invoice line gives one Credit row with ChargeClass Correction, its cost
    negative and its service period and service that of the line it corrects; the note's tax
    credit is a Tax correction. InvoiceId is the note's number, x_Ref the invoice's.
    """
    base_view = replace(view, number=note_number)
    rows = []
    for credited in note.lines:
        ln = doc.lines[credited.invoice_line_position - 1]
        row = _base(doc, base_view)
        row.update(_served(ln))
        amount = -credited.amount
        row.update(
            BilledCost=amount,
            EffectiveCost=amount,
            ListCost=amount,
            ContractedCost=amount,
            ChargeCategory="Credit",
            ChargeClass="Correction",
            ChargeFrequency="One-Time",
            ChargeDescription=(
                f"Credit note {note_number}, invoice line {credited.invoice_line_position}:"
                f" {credited.reason or note.reason}"
            ),
            x_LineKind="credit_note",
            x_Ref=view.number,
        )
        rows.append(row)
    if note.tax:
        row = _base(doc, base_view)
        row.update(
            BilledCost=-note.tax,
            EffectiveCost=-note.tax,
            ListCost=-note.tax,
            ContractedCost=-note.tax,
            ChargeCategory="Tax",
            ChargeClass="Correction",
            ChargeFrequency="One-Time",
            ChargeDescription=f"Credit note {note_number}: tax credited",
            ChargePeriodStart=focus_datetime(doc.period_start),
            ChargePeriodEnd=focus_datetime(doc.period_end, up=True),
            ServiceCategory="Compute",
            ServiceSubcategory="Other (Compute)",
            ServiceName="GPU Compute",
            x_LineKind="credit_note",
            x_Ref=view.number,
        )
        rows.append(row)
    return rows


def to_csv(rows: Sequence[Row]) -> str:
    """Rows as CSV under a header of COLUMNS; null is an empty cell, decimals plain strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain(value)
    return str(value)


def focus_datetime(moment: datetime, *, up: bool = False) -> str:
    """An instant as FOCUS wants it, YYYY-MM-DDTHH:mm:ssZ, rounded down (or up) to the second."""
    moment = utc(moment)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + (timedelta(seconds=1) if up else timedelta())
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _base(doc: BillingDocument, view: InvoiceView) -> Row:
    row: Row = dict.fromkeys(COLUMNS)
    row.update(
        BillingAccountId=doc.org,
        BillingAccountName=view.customer_name,
        BillingAccountType=(
            "Internal organization"
            if doc.kind is InvoiceKind.STATEMENT
            else "Customer organization"
        ),
        BillingCurrency=doc.currency,
        BillingPeriodStart=focus_datetime(doc.period_start),
        BillingPeriodEnd=focus_datetime(doc.period_end, up=True),
        InvoiceId=view.number,
        InvoiceIssuerName=view.issuer_name,
        ProviderName=view.issuer_name,
        PublisherName=view.issuer_name,
    )
    return row


def _line_row(doc: BillingDocument, view: InvoiceView, ln: DocumentLine) -> Row:
    row = _base(doc, view)
    category, frequency = _CHARGE[ln.kind]
    row.update(_served(ln))
    row.update(
        BilledCost=ln.amount,
        EffectiveCost=ln.amount,
        ListCost=ln.amount,
        ContractedCost=ln.amount,
        ChargeCategory=category,
        ChargeClass="Correction" if ln.kind is LineKind.ADJUSTMENT else None,
        ChargeDescription=ln.description,
        ChargeFrequency=frequency,
        x_LineKind=ln.kind.value,
        x_Ref=ln.ref,
    )
    if ln.kind in _PRICED:
        _price(row, ln)
    if ln.kind is LineKind.USAGE or ln.kind is LineKind.ADJUSTMENT:
        row.update(ConsumedQuantity=ln.quantity, ConsumedUnit=ln.unit)
    if ln.tier is Tier.RESERVED and ln.ref is not None and ln.kind in _PRICED:
        _commitment(row, ln)
    return row


def _served(ln: DocumentLine) -> Row:
    """When and where a line's usage was served, and which service it was."""
    # Only a line of a model meter (tokens) is AI; GPU time and the lines that follow from
    # it (tax, discounts, true-ups) are compute.
    gpu = ln.meter is None or ln.meter == GPU_METER
    return {
        "ChargePeriodStart": focus_datetime(ln.service_start),
        "ChargePeriodEnd": focus_datetime(ln.service_end, up=True),
        "RegionId": ln.region,
        "RegionName": ln.region,
        "ServiceCategory": "Compute" if gpu else "AI and Machine Learning",
        "ServiceSubcategory": "Other (Compute)" if gpu else "Generative AI",
        "ServiceName": "GPU Compute" if gpu else "Model Inference",
        "x_Meter": ln.meter,
        "x_GpuType": ln.gpu_type,
        "x_Tier": None if ln.tier is None else ln.tier.value,
    }


def _price(row: Row, ln: DocumentLine) -> None:
    sku = ln.meter or ln.unit
    if ln.gpu_type is not None:
        sku = f"{sku}:{ln.gpu_type}"
    # A SKU price names what is priced (tier, region), never the amount or the date: FOCUS
    # wants it stable across periods and accounts.
    price_id = ":".join(part for part in (sku, ln.tier and ln.tier.value, ln.region) if part)
    details = {"x_Tier": ln.tier.value} if ln.tier is not None else {}
    row.update(
        PricingQuantity=ln.quantity,
        PricingUnit=ln.unit,
        PricingCategory=_pricing_category(ln),
        SkuId=sku,
        SkuPriceId=price_id,
        SkuMeter=ln.meter or ln.unit,
        SkuPriceDetails=json.dumps(details, sort_keys=True, separators=(",", ":")),
    )
    if ln.unit_price is not None:
        # FOCUS: unit price × PricingQuantity MUST equal the cost column exactly, so list and
        # contracted cost keep full precision; BilledCost is the line amount, rounded once.
        with localcontext() as ctx:
            ctx.prec = 60
            cost = ln.unit_price * ln.quantity
        row.update(
            ListUnitPrice=ln.unit_price,
            ContractedUnitPrice=ln.unit_price,
            ListCost=cost,
            ContractedCost=cost,
        )


def _pricing_category(ln: DocumentLine) -> str:
    if ln.kind is LineKind.CONTRACT:
        return "Standard"
    if ln.tier is Tier.SPOT:
        return "Dynamic"
    if ln.tier is Tier.INTERNAL:
        return "Other"
    if ln.tier is Tier.RESERVED and ln.ref is not None:
        return "Committed"
    return "Standard"


def _commitment(row: Row, ln: DocumentLine) -> None:
    row.update(
        CommitmentDiscountId=ln.ref,
        CommitmentDiscountName=f"Contract {ln.ref}",
        CommitmentDiscountCategory="Usage",
        CommitmentDiscountType=COMMITMENT_TYPE,
        CommitmentDiscountQuantity=ln.quantity,
        CommitmentDiscountUnit=ln.unit,
    )
    if ln.kind is not LineKind.CONTRACT:
        row.update(
            CommitmentDiscountStatus="Used",
            CapacityReservationId=ln.ref,
            CapacityReservationStatus="Used",
        )


def _credits_row(doc: BillingDocument, view: InvoiceView) -> Row:
    row = _base(doc, view)
    amount = -view.credits_applied
    row.update(
        BilledCost=amount,
        EffectiveCost=amount,
        ListCost=amount,
        ContractedCost=amount,
        ChargeCategory="Credit",
        ChargeFrequency="One-Time",
        ChargeDescription="Prepaid and promotional credits applied",
        ChargePeriodStart=focus_datetime(doc.period_start),
        ChargePeriodEnd=focus_datetime(doc.period_end, up=True),
        ServiceCategory="Compute",
        ServiceSubcategory="Other (Compute)",
        ServiceName="GPU Compute",
        x_LineKind="credits_applied",
    )
    return row
