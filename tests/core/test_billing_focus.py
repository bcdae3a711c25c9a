"""FOCUS 1.2 export: the mapping of each line kind, and the 1.2 rules as a table.

The focus-validator package only knows FOCUS 1.0 (tests/exports runs it on our CSV); the
rules below cover the columns and conditions 1.2 has that 1.0 had not, and the 1.2 wording
of rules the validator checks differently. Each rule is (id, applies-to-row, holds-for-row);
every exported row must satisfy every rule that applies, and each rule has a broken row it
must catch, so a rule that checks nothing fails its own test.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from neocloud.billing.document import BillingDocument
from neocloud.billing.focus import (
    COLUMNS,
    DATETIME_COLUMNS,
    DECIMAL_COLUMNS,
    FOCUS_COLUMNS,
    focus_datetime,
    focus_rows,
    to_csv,
)
from neocloud.billing.invoice import InvoiceKind
from tests.exports.samples import CREDITS, DOC, VIEW

D = Decimal
Row = dict[str, object]
ROWS = focus_rows(DOC, VIEW)
BY_KIND: dict[object, Row] = {}
for _r in ROWS:
    BY_KIND.setdefault(_r["x_LineKind"], _r)  # the first row of each kind
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

CHARGE_CATEGORIES = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
PRICING_CATEGORIES = {"Standard", "Dynamic", "Committed", "Other"}
# ServiceSubcategory → its one parent ServiceCategory (the subset we may emit).
SUBCATEGORY_PARENT = {
    "Other (Compute)": "Compute",
    "Virtual Machines": "Compute",
    "Generative AI": "AI and Machine Learning",
    "Machine Learning": "AI and Machine Learning",
}


def is_usage_or_purchase(r: Row) -> bool:
    return r["ChargeCategory"] in {"Usage", "Purchase"} and r["ChargeClass"] != "Correction"


def product_matches(price: str, cost: str) -> Callable[[Row], bool]:
    return lambda r: r[price] is None or D(str(r[price])) * D(str(r["PricingQuantity"])) == r[cost]


def always(r: Row) -> bool:
    return True


RULES: list[tuple[str, Callable[[Row], bool], Callable[[Row], bool]]] = [
    # Mandatory, non-null columns (1.2 wording).
    *[
        (f"{c} not null", always, lambda r, c=c: r[c] is not None)  # type: ignore[misc]
        for c in (
            "BilledCost",
            "EffectiveCost",
            "ListCost",
            "ContractedCost",
            "BillingAccountId",
            "BillingCurrency",
            "BillingPeriodStart",
            "BillingPeriodEnd",
            "ChargeCategory",
            "ChargeFrequency",
            "ChargePeriodStart",
            "ChargePeriodEnd",
            "ProviderName",
            "PublisherName",
            "InvoiceIssuerName",
            "ServiceCategory",
            "ServiceName",
            "ServiceSubcategory",
        )
    ],
    ("ChargeCategory allowed", always, lambda r: r["ChargeCategory"] in CHARGE_CATEGORIES),
    ("ChargeClass null or Correction", always, lambda r: r["ChargeClass"] in {None, "Correction"}),
    (
        "ChargeFrequency allowed",
        always,
        lambda r: r["ChargeFrequency"] in {"One-Time", "Recurring", "Usage-Based"},
    ),
    (
        "ChargeFrequency not Usage-Based for Purchase",
        lambda r: r["ChargeCategory"] == "Purchase",
        lambda r: r["ChargeFrequency"] != "Usage-Based",
    ),
    (
        "ChargePeriodStart <= ChargePeriodEnd",
        always,
        lambda r: str(r["ChargePeriodStart"]) <= str(r["ChargePeriodEnd"]),
    ),
    # 1.2: BillingAccountType (new) is not null when BillingAccountId is not null.
    ("BillingAccountType not null", always, lambda r: r["BillingAccountType"] is not None),
    # 1.2: SubAccountType (new) is null exactly when SubAccountId is.
    (
        "SubAccountType null iff SubAccountId null",
        always,
        lambda r: (r["SubAccountType"] is None) == (r["SubAccountId"] is None),
    ),
    # 1.2: InvoiceId (new) is not null when the charge is on an issued invoice.
    ("InvoiceId on an issued invoice", always, lambda r: r["InvoiceId"] == VIEW.number),
    # 1.1: ServiceSubcategory allowed and has exactly one parent ServiceCategory.
    (
        "ServiceSubcategory under its ServiceCategory",
        always,
        lambda r: SUBCATEGORY_PARENT.get(str(r["ServiceSubcategory"])) == r["ServiceCategory"],
    ),
    # PricingCategory: allowed; not null for usage/purchase; null for tax (1.2).
    (
        "PricingCategory allowed",
        lambda r: r["PricingCategory"] is not None,
        lambda r: r["PricingCategory"] in PRICING_CATEGORIES,
    ),
    (
        "PricingCategory not null for Usage/Purchase",
        is_usage_or_purchase,
        lambda r: r["PricingCategory"] is not None,
    ),
    (
        "Tax rows have no pricing",
        lambda r: r["ChargeCategory"] == "Tax",
        lambda r: all(
            r[c] is None
            for c in (
                "PricingCategory",
                "PricingQuantity",
                "PricingUnit",
                "SkuId",
                "SkuPriceId",
                "ListUnitPrice",
                "ContractedUnitPrice",
            )
        ),
    ),
    (
        "Committed pricing names its commitment",
        lambda r: r["PricingCategory"] == "Committed",
        lambda r: r["CommitmentDiscountId"] is not None,
    ),
    # PricingQuantity/Unit/SkuId/SkuPriceId not null for usage and purchase (1.2).
    *[
        (f"{c} not null for Usage/Purchase", is_usage_or_purchase, lambda r, c=c: r[c] is not None)  # type: ignore[misc]
        for c in ("PricingQuantity", "PricingUnit", "SkuId", "SkuPriceId")
    ],
    (
        "SkuMeter null iff SkuId null",
        always,
        lambda r: (r["SkuMeter"] is None) == (r["SkuId"] is None),
    ),
    (
        "SkuPriceDetails is a JSON object with x_ keys when set",
        lambda r: r["SkuPriceDetails"] is not None,
        lambda r: (
            isinstance(d := json.loads(str(r["SkuPriceDetails"])), dict)
            and all(k.startswith("x_") for k in d)
        ),
    ),
    (
        "SkuPriceDetails null when SkuPriceId null",
        lambda r: r["SkuPriceId"] is None,
        lambda r: r["SkuPriceDetails"] is None,
    ),
    # unit price × PricingQuantity == cost, exactly (not for corrections).
    (
        "ListUnitPrice × PricingQuantity = ListCost",
        lambda r: r["ChargeClass"] is None,
        product_matches("ListUnitPrice", "ListCost"),
    ),
    (
        "ContractedUnitPrice × PricingQuantity = ContractedCost",
        lambda r: r["ChargeClass"] is None,
        product_matches("ContractedUnitPrice", "ContractedCost"),
    ),
    (
        "without a unit price, costs unrelated to other charges equal BilledCost",
        lambda r: r["ContractedUnitPrice"] is None,
        lambda r: r["ContractedCost"] == r["ListCost"] == r["EffectiveCost"] == r["BilledCost"],
    ),
    # ConsumedQuantity: positive for usage not Unused; null outside usage.
    (
        "ConsumedQuantity positive for Usage",
        lambda r: (
            r["ChargeCategory"] == "Usage"
            and r["ChargeClass"] is None
            and r["CommitmentDiscountStatus"] != "Unused"
        ),
        lambda r: (
            isinstance(r["ConsumedQuantity"], Decimal)
            and r["ConsumedQuantity"] > 0
            and r["ConsumedUnit"] is not None
        ),
    ),
    (
        "ConsumedQuantity null outside Usage",
        lambda r: r["ChargeCategory"] != "Usage",
        lambda r: r["ConsumedQuantity"] is None and r["ConsumedUnit"] is None,
    ),
    # CommitmentDiscount* (1.0) and Quantity/Unit (1.1).
    (
        "CommitmentDiscount columns null without an id",
        lambda r: r["CommitmentDiscountId"] is None,
        lambda r: all(
            r[c] is None
            for c in (
                "CommitmentDiscountStatus",
                "CommitmentDiscountName",
                "CommitmentDiscountCategory",
                "CommitmentDiscountType",
                "CommitmentDiscountQuantity",
                "CommitmentDiscountUnit",
            )
        ),
    ),
    (
        "CommitmentDiscountStatus set on committed usage",
        lambda r: r["CommitmentDiscountId"] is not None and r["ChargeCategory"] == "Usage",
        lambda r: r["CommitmentDiscountStatus"] in {"Used", "Unused"},
    ),
    (
        "CommitmentDiscountCategory allowed",
        lambda r: r["CommitmentDiscountId"] is not None,
        lambda r: r["CommitmentDiscountCategory"] in {"Spend", "Usage"},
    ),
    (
        "CommitmentDiscountQuantity and Unit positive on commitment rows",
        lambda r: r["CommitmentDiscountId"] is not None and r["ChargeClass"] is None,
        lambda r: (
            isinstance(q := r["CommitmentDiscountQuantity"], Decimal)
            and q > 0
            and r["CommitmentDiscountUnit"] is not None
        ),
    ),
    # CapacityReservation* (1.1): status null iff id null, allowed values.
    (
        "CapacityReservationStatus null iff CapacityReservationId null",
        always,
        lambda r: (r["CapacityReservationStatus"] is None) == (r["CapacityReservationId"] is None),
    ),
    (
        "CapacityReservationStatus allowed",
        lambda r: r["CapacityReservationStatus"] is not None,
        lambda r: r["CapacityReservationStatus"] in {"Used", "Unused"},
    ),
    # Formats.
    *[
        (
            f"{c} ISO 8601 UTC with Z",
            lambda r, c=c: r[c] is not None,
            lambda r, c=c: bool(ISO_Z.match(str(r[c]))),
        )  # type: ignore[misc]
        for c in sorted(DATETIME_COLUMNS)
    ],
    *[
        (
            f"{c} is a Decimal",
            lambda r, c=c: r[c] is not None,
            lambda r, c=c: isinstance(r[c], Decimal),
        )  # type: ignore[misc]
        for c in sorted(DECIMAL_COLUMNS)
    ],
    (
        "BillingCurrency ISO 4217",
        always,
        lambda r: bool(re.fullmatch(r"[A-Z]{3}", str(r["BillingCurrency"]))),
    ),
    (
        "ResourceType null when ResourceId null",
        lambda r: r["ResourceId"] is None,
        lambda r: r["ResourceType"] is None,
    ),
    (
        "custom columns start with x_",
        always,
        lambda r: all(k in FOCUS_COLUMNS or k.startswith("x_") for k in r),
    ),
]

# A broken row for each rule: starting from a row the rule applies to, one change.
BREAKS: dict[str, tuple[str, dict[str, object]]] = {
    "ChargeCategory allowed": ("usage", {"ChargeCategory": "Refund"}),
    "ChargeClass null or Correction": ("usage", {"ChargeClass": "Fix"}),
    "ChargeFrequency allowed": ("usage", {"ChargeFrequency": "Monthly"}),
    "ChargeFrequency not Usage-Based for Purchase": (
        "contract",
        {"ChargeFrequency": "Usage-Based"},
    ),
    "ChargePeriodStart <= ChargePeriodEnd": (
        "usage",
        {"ChargePeriodStart": "2027-01-01T00:00:00Z"},
    ),
    "BillingAccountType not null": ("usage", {"BillingAccountType": None}),
    "SubAccountType null iff SubAccountId null": ("usage", {"SubAccountId": "proj-1"}),
    "InvoiceId on an issued invoice": ("usage", {"InvoiceId": None}),
    "ServiceSubcategory under its ServiceCategory": (
        "usage",
        {"ServiceSubcategory": "Generative AI"},
    ),
    "PricingCategory allowed": ("usage", {"PricingCategory": "Spot"}),
    "PricingCategory not null for Usage/Purchase": ("usage", {"PricingCategory": None}),
    "Tax rows have no pricing": ("tax", {"SkuId": "tax"}),
    "Committed pricing names its commitment": ("usage", {"PricingCategory": "Committed"}),
    "SkuMeter null iff SkuId null": ("usage", {"SkuMeter": None}),
    "SkuPriceDetails is a JSON object with x_ keys when set": (
        "usage",
        {"SkuPriceDetails": '{"Tier":"x"}'},
    ),
    "SkuPriceDetails null when SkuPriceId null": ("tax", {"SkuPriceDetails": "{}"}),
    "ListUnitPrice × PricingQuantity = ListCost": ("usage", {"ListCost": D("20.01")}),
    "ContractedUnitPrice × PricingQuantity = ContractedCost": (
        "usage",
        {"ContractedCost": D("19.99")},
    ),
    "without a unit price, costs unrelated to other charges equal BilledCost": (
        "discount",
        {"EffectiveCost": D("0")},
    ),
    "ConsumedQuantity positive for Usage": ("usage", {"ConsumedQuantity": D("0")}),
    "ConsumedQuantity null outside Usage": ("contract", {"ConsumedQuantity": D("1")}),
    "CommitmentDiscount columns null without an id": ("usage", {"CommitmentDiscountType": "x"}),
    "CommitmentDiscountStatus set on committed usage": (
        "reserved",
        {"CommitmentDiscountStatus": None},
    ),
    "CommitmentDiscountCategory allowed": ("reserved", {"CommitmentDiscountCategory": "GPU"}),
    "CommitmentDiscountQuantity and Unit positive on commitment rows": (
        "contract",
        {"CommitmentDiscountQuantity": None},
    ),
    "CapacityReservationStatus null iff CapacityReservationId null": (
        "reserved",
        {"CapacityReservationStatus": None},
    ),
    "CapacityReservationStatus allowed": ("reserved", {"CapacityReservationStatus": "Partial"}),
    "BillingCurrency ISO 4217": ("usage", {"BillingCurrency": "usd"}),
    "ResourceType null when ResourceId null": ("usage", {"ResourceType": "GPU"}),
    "custom columns start with x_": ("usage", {"Gpu": "h100"}),
}
for _c in FOCUS_COLUMNS:
    if any(name == f"{_c} not null" for name, _, _ in RULES):
        BREAKS[f"{_c} not null"] = ("usage", {_c: None})
for _c in ("PricingQuantity", "PricingUnit", "SkuId", "SkuPriceId"):
    BREAKS[f"{_c} not null for Usage/Purchase"] = ("contract", {_c: None})
for _c in DATETIME_COLUMNS:
    BREAKS[f"{_c} ISO 8601 UTC with Z"] = ("usage", {_c: "2026-11-01 00:00:00+00:00"})
for _c in DECIMAL_COLUMNS:
    BREAKS[f"{_c} is a Decimal"] = ("reserved", {_c: 1.5})


def _row(name: str) -> Row:
    if name == "reserved":
        return next(r for r in ROWS if r["PricingCategory"] == "Committed")
    if name == "discount":
        return BY_KIND["discount"]
    return BY_KIND[name]


@pytest.mark.parametrize("rule", RULES, ids=[name for name, _, _ in RULES])
def test_every_row_keeps_the_rule(
    rule: tuple[str, Callable[[Row], bool], Callable[[Row], bool]],
) -> None:
    name, applies, holds = rule
    broken = [r["x_LineKind"] for r in ROWS if applies(r) and not holds(r)]
    assert broken == [], f"{name} fails on {broken}"


@pytest.mark.parametrize("rule", RULES, ids=[name for name, _, _ in RULES])
def test_each_rule_catches_its_broken_row(
    rule: tuple[str, Callable[[Row], bool], Callable[[Row], bool]],
) -> None:
    name, applies, holds = rule
    base, change = BREAKS[name]
    row = {**_row(base), **change}
    assert applies(row) and not holds(row), f"{name} does not catch {change}"


def test_billed_cost_sums_to_what_the_invoice_asks_to_pay() -> None:
    assert sum((r["BilledCost"] for r in ROWS), D(0)) == VIEW.amount_due  # type: ignore[misc]
    assert (
        sum((r["BilledCost"] for r in ROWS if r["x_LineKind"] != "credits_applied"), D(0))
        == DOC.total
    )  # type: ignore[misc]


def test_each_line_kind_maps_to_its_charge() -> None:
    expect = {
        "usage": ("Usage", None, "Usage-Based"),
        "contract": ("Purchase", None, "Recurring"),
        "minimum_commitment": ("Adjustment", None, "Recurring"),
        "discount": ("Credit", None, "Recurring"),
        "adjustment": ("Usage", "Correction", "Usage-Based"),
        "tax": ("Tax", None, "Recurring"),
        "credits_applied": ("Credit", None, "One-Time"),
    }
    for kind, (category, klass, frequency) in expect.items():
        r = BY_KIND[kind]
        assert (r["ChargeCategory"], r["ChargeClass"], r["ChargeFrequency"]) == (
            category,
            klass,
            frequency,
        ), kind


def test_pricing_categories_by_tier() -> None:
    by_description = {r["ChargeDescription"]: r for r in ROWS}
    assert by_description["h100 on_demand GPU time"]["PricingCategory"] == "Standard"
    assert by_description["h100 spot GPU time"]["PricingCategory"] == "Dynamic"
    reserved = by_description["h100 reserved GPU time"]
    assert reserved["PricingCategory"] == "Committed"
    assert (reserved["CommitmentDiscountId"], reserved["CommitmentDiscountStatus"]) == (
        "ctr-7",
        "Used",
    )
    assert (reserved["CapacityReservationId"], reserved["CapacityReservationStatus"]) == (
        "ctr-7",
        "Used",
    )
    contract = BY_KIND["contract"]
    assert (contract["PricingCategory"], contract["CommitmentDiscountId"]) == ("Standard", "ctr-7")
    assert (
        contract["CommitmentDiscountStatus"] is None and contract["CapacityReservationId"] is None
    )
    tokens = by_description["llama-70b input tokens"]
    assert (tokens["ServiceCategory"], tokens["ServiceSubcategory"]) == (
        "AI and Machine Learning",
        "Generative AI",
    )
    internal = dataclasses.replace(DOC.lines[0], tier="internal")
    doc = dataclasses.replace(DOC, kind=InvoiceKind.STATEMENT, lines=(internal,))
    view = dataclasses.replace(VIEW, credits_applied=D("0.00"), amount_due=doc.total)
    [row] = focus_rows(doc, view)
    assert (row["PricingCategory"], row["BillingAccountType"]) == ("Other", "Internal organization")


def test_a_correction_keeps_the_period_it_corrects() -> None:
    r = BY_KIND["adjustment"]
    assert (r["ChargePeriodStart"], r["ChargePeriodEnd"]) == (
        "2026-10-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
    )
    assert (r["BillingPeriodStart"], r["BillingPeriodEnd"]) == (
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
    )


def test_list_and_contracted_costs_keep_full_precision_billed_cost_is_the_line() -> None:
    spot = next(r for r in ROWS if r["PricingCategory"] == "Dynamic")
    assert (spot["ListCost"], spot["ContractedCost"], spot["BilledCost"]) == (
        D("0.333333"),
        D("0.333333"),
        D("0.33"),
    )


def test_no_credits_no_credit_row() -> None:
    view = dataclasses.replace(VIEW, credits_applied=D("0.00"), amount_due=DOC.total)
    assert len(focus_rows(DOC, view)) == len(DOC.lines)


def test_charge_periods_widen_to_whole_seconds() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 1, 10, 0, 0, 250_000, tzinfo=UTC)
    assert focus_datetime(moment) == "2026-11-01T10:00:00Z"
    assert focus_datetime(moment, up=True) == "2026-11-01T10:00:01Z"


def test_csv_has_every_column_reads_back_exactly_and_nulls_are_empty() -> None:
    text = to_csv(ROWS)
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    back = list(reader)
    assert [D(r["BilledCost"]) for r in back] == [r["BilledCost"] for r in ROWS]
    assert sum((D(r["BilledCost"]) for r in back), D(0)) == VIEW.amount_due
    tax = next(r for r in back if r["ChargeCategory"] == "Tax")
    assert tax["PricingQuantity"] == "" and tax["SkuId"] == ""
    assert "E" not in "".join(r["ListCost"] for r in back)


def test_an_empty_document_exports_a_header() -> None:
    doc = BillingDocument(DOC.org, DOC.kind, DOC.period_start, DOC.period_end, "USD", ())
    view = dataclasses.replace(VIEW, credits_applied=D("0.00"), amount_due=D("0.00"))
    assert focus_rows(doc, view) == []
    assert to_csv([]).strip() == ",".join(COLUMNS)


def test_credits_are_one_negative_credit_row() -> None:
    r = BY_KIND["credits_applied"]
    assert r["BilledCost"] == r["EffectiveCost"] == -CREDITS
