"""Exports of a billing period through the API: FOCUS 1.2 rows and the plain usage CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from neocloud.billing.focus import COLUMNS
from neocloud.billing.render import CSV_COLUMNS
from tests.api.conftest import Api
from tests.api.invoice_flow import PERIOD, draft, finalized, grant, in_status
from tests.exports.conftest import FocusValidator
from tests.exports.conftest import focus_validator as focus_validator  # the fixture, reused

D = Decimal


def _focus(client: Any, **params: str) -> Any:
    return client.get("/v1/exports/focus", params={"period": PERIOD, **params})


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_finalized_invoice_in_focus(api: Api) -> None:
    api.new_org("acme")
    invoice = finalized(api)

    r = _focus(api.http, org="acme")

    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="focus-{PERIOD}-acme.csv"'
    assert r.text.splitlines()[0].split(",") == list(COLUMNS)
    rows = _rows(r.text)
    assert len(rows) == len(invoice["lines"])
    assert sum(D(row["BilledCost"]) for row in rows) == D(invoice["total"])
    assert {row["ChargeCategory"] for row in rows} == {"Usage"}
    assert {row["InvoiceId"] for row in rows} == {invoice["number"]}
    assert {row["BillingAccountId"] for row in rows} == {invoice["org_id"]}
    assert {row["BillingAccountName"] for row in rows} == {"acme"}
    assert {row["BillingCurrency"] for row in rows} == {"USD"}
    assert {row["BillingPeriodStart"] for row in rows} == {"2026-11-01T00:00:00Z"}
    assert {row["BillingPeriodEnd"] for row in rows} == {"2026-12-01T00:00:00Z"}
    assert {row["PricingCategory"] for row in rows} == {"Standard", "Dynamic"}  # on demand, spot
    assert all(row["SkuPriceId"] for row in rows)


def test_credit_applied_is_one_credit_row_so_the_file_sums_to_the_amount_due(api: Api) -> None:
    api.new_org("acme")
    grant(api, "acme", "4.00")
    invoice = finalized(api)
    assert D(invoice["credits_applied"]) == D("4.00")

    rows = _rows(_focus(api.http, org="acme").text)

    assert sum(D(row["BilledCost"]) for row in rows) == D(invoice["amount_due"])
    credit = [row for row in rows if row["ChargeCategory"] == "Credit"]
    assert [D(row["BilledCost"]) for row in credit] == [D("-4.00")]
    assert {row["ChargeCategory"] for row in rows} == {"Usage", "Credit"}


def test_only_finalized_and_paid_invoices_are_exported(api: Api) -> None:
    for org, status in (("acme", "finalized"), ("globex", "paid"), ("initech", "void")):
        api.new_org(org)
        in_status(api, status, org)
    api.new_org("hooli")
    draft(api, "hooli")

    rows = _rows(_focus(api.http).text)

    assert {row["BillingAccountName"] for row in rows} == {"acme", "globex"}


def test_an_org_sees_only_its_own(api: Api) -> None:
    acme = api.new_org("acme", role="billing")
    api.new_org("globex")
    finalized(api, "acme")
    finalized(api, "globex")

    mine = _focus(acme)
    assert mine.status_code == 200
    assert f'filename="focus-{PERIOD}.csv"' in mine.headers["content-disposition"]
    assert {row["BillingAccountName"] for row in _rows(mine.text)} == {"acme"}
    assert _focus(acme, org="globex").status_code == 404
    every = {row["BillingAccountName"] for row in _rows(_focus(api.http).text)}
    assert every == {"acme", "globex"}
    usage = acme.get("/v1/exports/usage.csv", params={"period": PERIOD})
    assert {row["org"] for row in _rows(usage.text)} == {"acme"}
    assert (
        acme.get("/v1/exports/usage.csv", params={"period": PERIOD, "org": "globex"}).status_code
        == 404
    )


def test_a_period_with_nothing_to_export_is_a_header(api: Api) -> None:
    r = api.http.get("/v1/exports/focus", params={"period": "2020-01"})
    assert r.status_code == 200 and r.text.splitlines() == [",".join(COLUMNS)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "period"),
        ({"period": "2026-13"}, "period"),
        ({"period": "Nov 2026"}, "period"),
        ({"period": PERIOD, "format": "xlsx"}, "format"),
    ],
)
def test_bad_parameters_name_the_field(api: Api, params: dict[str, str], field: str) -> None:
    for path in ("/v1/exports/focus", "/v1/exports/usage.csv"):
        if path.endswith("usage.csv") and field == "format":
            continue
        r = api.http.get(path, params=params)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["field"] == field


def test_the_parquet_export_has_the_csv_rows_with_exact_decimals(api: Api, tmp_path: Path) -> None:
    api.new_org("acme")
    invoice = finalized(api)
    r = _focus(api.http, format="parquet")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    path = tmp_path / "focus.parquet"
    path.write_bytes(r.content)
    table = pq.read_table(path)
    csv_rows = _rows(_focus(api.http).text)
    assert table.num_rows == len(csv_rows)
    assert str(table.schema.field("BilledCost").type) == "decimal128(38, 12)"
    billed = table.column("BilledCost").to_pylist()
    assert [D(v).normalize() for v in billed] == [
        D(row["BilledCost"]).normalize() for row in csv_rows
    ]
    assert sum(billed, D(0)) == D(invoice["total"])


def test_the_usage_csv_is_every_invoice_line_with_number_and_org(api: Api) -> None:
    api.new_org("acme")
    api.new_org("globex")
    invoices = [finalized(api, "acme"), finalized(api, "globex")]

    r = api.http.get("/v1/exports/usage.csv", params={"period": PERIOD})

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="usage-{PERIOD}.csv"' in r.headers["content-disposition"]
    rows = _rows(r.text)
    assert tuple(rows[0]) == ("invoice_number", "org", *CSV_COLUMNS)
    for invoice, org in zip(invoices, ("acme", "globex"), strict=True):
        mine = [row for row in rows if row["invoice_number"] == invoice["number"]]
        assert {row["org"] for row in mine} == {org}
        assert [row["amount"] for row in mine] == [ln["amount"] for ln in invoice["lines"]]
        assert sum(D(row["amount"]) for row in mine) == D(invoice["total"])


def test_the_exported_file_passes_the_focus_validator(
    api: Api, focus_validator: FocusValidator, tmp_path: Path
) -> None:
    api.new_org("acme")
    api.new_org("globex")
    grant(api, "globex", "1.00")
    acme = finalized(api, "acme")
    finalized(api, "globex")
    line = {"line": 1, "amount": "0.50", "reason": "outage"}
    note = api.http.post(
        f"/v1/invoices/{acme['id']}/credit-notes", json={"reason": "outage", "lines": [line]}
    )
    assert note.status_code == 201, note.text
    r = _focus(api.http)
    assert r.status_code == 200
    path = tmp_path / "focus.csv"
    path.write_bytes(r.content)

    report = focus_validator.run(path, "1.0")

    checks = report["checks"]
    assert isinstance(checks, dict) and len(checks) > 100
    failed = {n: c for n, c in checks.items() if c["status"] != "passed"}
    assert failed == {}, json.dumps(report["failures"], indent=1)
    rows = _rows(r.text)
    assert {row["ChargeCategory"] for row in rows} == {"Usage", "Credit"}
    (corrected,) = [row for row in rows if row["ChargeClass"] == "Correction"]
    assert corrected["InvoiceId"] == note.json()["number"]
    assert corrected["x_Ref"] == acme["number"]
    billed = sum(D(row["BilledCost"]) for row in rows if row["BillingAccountId"] == acme["org_id"])
    assert billed == D(acme["total"]) - D("0.50")  # the note corrects the invoice in the file


def test_focus_instants_are_utc_whole_seconds(api: Api) -> None:
    api.new_org("acme")
    finalized(api)
    for row in _rows(_focus(api.http).text):
        for column in ("ChargePeriodStart", "ChargePeriodEnd"):
            moment = datetime.strptime(row[column], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            assert moment.tzinfo is UTC
