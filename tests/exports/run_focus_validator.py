"""Run focus-validator's rules on a FOCUS CSV and print every check's status as JSON.

Runs inside the validator's own virtualenv (tests/exports/conftest.py builds it), with the
working directory at the installed package's parent: focus-validator 1.0.0 opens its ISO 4217
list by a relative path. Usage: python run_focus_validator.py DATA.csv VERSION COLUMNS.json

We call the validator's Python API rather than its CLI because the CLI exits 0 on failure.
Two adaptations, both printed in the output so a reader sees them:

- String columns are read as strings. The validator's loader (pandas.read_csv) infers a
  type from the values, so a string column that is null on every row reads as float and
  fails its IsString check; FOCUS types come from the spec, not from the data.
- The 1.0 rule set of focus-validator 1.0.0 still names four columns by their pre-1.0
  names (Provider, Publisher, InvoiceIssuer, ResourceID; FOCUS 1.0 and 1.2 call them
  ProviderName, PublisherName, InvoiceIssuerName, ResourceId) and its SkuPriceId rule reads
  ChargeType (replaced by ChargeCategory in 1.0). Those columns are added as copies of ours
  so the rules check our values rather than failing on a name.
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from focus_validator.rules.spec_rules import SpecRules
from focus_validator.validator import DEFAULT_VERSION_SETS_PATH

ALIASES = {
    "Provider": "ProviderName",
    "Publisher": "PublisherName",
    "InvoiceIssuer": "InvoiceIssuerName",
    "ResourceID": "ResourceId",
    "ChargeType": "ChargeCategory",
}


def main() -> None:
    data_file, version, columns_file = sys.argv[1:4]
    with open(columns_file, encoding="utf-8") as f:
        string_columns = json.load(f)
    header = pd.read_csv(data_file, nrows=0).columns
    frame = pd.read_csv(data_file, dtype={c: "object" for c in string_columns if c in header})
    added = []
    for old, new in ALIASES.items():
        if new in frame.columns and old not in frame.columns:
            frame[old] = frame[new]
            added.append(old)
    rules = SpecRules(
        override_filename=None,
        rule_set_path=DEFAULT_VERSION_SETS_PATH,
        rules_version=version,
        column_namespace=None,
    )
    rules.load()
    result = rules.validate(frame)
    checks = {
        name: {
            "status": check.status.value,
            "column": check.column_id,
            "description": check.friendly_name,
            "error": check.error,
        }
        for name, check in result.checklist.items()
    }
    failures = []
    if result.failure_cases is not None:
        for case in result.failure_cases.to_dict("records"):
            failures.append({k: None if pd.isna(v) else str(v) for k, v in case.items()})
    json.dump(
        {
            "version": version,
            "supported_versions": rules.supported_versions(),
            "aliases_added": added,
            "checks": checks,
            "failures": failures,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
