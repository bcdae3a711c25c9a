"""Our FOCUS export against the focus-validator package (its FOCUS 1.0 rules).

The validator runs in its own virtualenv (conftest.py). What it checks: presence, type and
nullability of the 1.0 columns, ISO 4217 currency, UTC datetimes, JSON Tags, the allowed
values of ChargeClass, ChargeFrequency, CommitmentDiscountCategory/Status, PricingCategory
and ServiceCategory, and SkuPriceId being set on usage and purchase rows. The 1.2-only
columns and rules are checked by tests/core/test_billing_focus.py.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

from neocloud.billing.focus import COLUMNS, focus_rows, to_csv
from neocloud.exports.focus_files import write_csv
from tests.exports.conftest import FocusValidator
from tests.exports.samples import DOC, VIEW


def _failed(report: dict[str, object]) -> dict[str, object]:
    checks = report["checks"]
    assert isinstance(checks, dict) and checks, "the validator ran no check"
    return {n: c for n, c in checks.items() if c["status"] not in {"passed"}}


def test_our_export_passes_every_focus_1_0_check(
    focus_validator: FocusValidator, tmp_path: Path
) -> None:
    path = write_csv(focus_rows(DOC, VIEW), tmp_path / "focus.csv")
    report = focus_validator.run(path, "1.0")
    assert "1.0" in report["supported_versions"]  # type: ignore[operator]
    assert _failed(report) == {}, json.dumps(report["failures"], indent=1)
    # It really looked at our columns: one check or more per 1.0 column we export.
    checked = {c["column"] for c in report["checks"].values()}  # type: ignore[attr-defined]
    assert {"BilledCost", "ChargeCategory", "PricingCategory", "SkuPriceId", "Tags"} <= checked
    assert len(report["checks"]) > 100  # type: ignore[arg-type]


def _broken(rows_csv: str, changes: dict[str, str], row: int = 0) -> str:
    rows = list(csv.DictReader(io.StringIO(rows_csv)))
    rows[row].update(changes)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_the_validator_rejects_a_broken_row(
    focus_validator: FocusValidator, tmp_path: Path
) -> None:
    good = to_csv(focus_rows(DOC, VIEW))
    bad = _broken(
        good,
        {
            "PricingCategory": "Spot",  # not an allowed value
            "BilledCost": "",  # must not be null
            "BillingCurrency": "XYZ",  # not ISO 4217
            "ChargePeriodStart": "01/11/2026",  # not ISO 8601
            "SkuPriceId": "",  # must be set on a usage row
        },
    )
    path = tmp_path / "broken.csv"
    path.write_text(bad)
    failed = _failed(focus_validator.run(path, "1.0"))
    assert {
        "PricingCategory_Enum_1.0",
        "BilledCost_NotNull",
        "BillingCurrency_IsCurrencyCode",
        "ChargePeriodStart_IsDateTime",
        "SkuPriceId_Nullable",
    } <= set(failed), failed


def test_a_missing_mandatory_column_is_rejected(
    focus_validator: FocusValidator, tmp_path: Path
) -> None:
    path = tmp_path / "missing.csv"
    lines = list(csv.reader(io.StringIO(to_csv(focus_rows(DOC, VIEW)))))
    drop = lines[0].index("EffectiveCost")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([ln[:drop] + ln[drop + 1 :] for ln in lines])
    path.write_text(out.getvalue())
    assert "EffectiveCost_Required" in _failed(focus_validator.run(path, "1.0"))


PARQUET_ROUND_TRIP = """
import sys
import pyarrow.parquet as pq
from neocloud.exports.focus_files import write_parquet
from neocloud.billing.focus import focus_rows
sys.path.insert(0, sys.argv[2])
from tests.exports.samples import DOC, VIEW
path = write_parquet(focus_rows(DOC, VIEW), __import__("pathlib").Path(sys.argv[1]))
table = pq.read_table(path)
print(table.schema.field("BilledCost").type, table.schema.field("ChargePeriodStart").type)
for value in table.column("BilledCost").to_pylist():
    print(value)
"""


def test_parquet_keeps_exact_decimals_and_utc_instants(
    focus_validator: FocusValidator, tmp_path: Path
) -> None:
    # Written in the validator's own environment (its pyarrow): files read elsewhere agree.
    out = focus_validator.python_code(
        PARQUET_ROUND_TRIP, str(tmp_path / "focus.parquet"), str(Path(__file__).parents[2])
    ).splitlines()
    # Parquet has no second unit: instants come back in milliseconds, still UTC.
    assert out[0] == "decimal128(38, 12) timestamp[ms, tz=UTC]"
    assert [Decimal(v) for v in out[1:]] == [r["BilledCost"] for r in focus_rows(DOC, VIEW)]
