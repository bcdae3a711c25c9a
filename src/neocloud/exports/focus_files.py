"""FOCUS export files: CSV, and Parquet with exact decimals and UTC instants."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from neocloud.billing.focus import COLUMNS, DATETIME_COLUMNS, DECIMAL_COLUMNS, Row, to_csv

# Decimal columns are written as Parquet DECIMAL(38, 12): exact, and wide enough for a unit
# price with 4 decimals times a quantity with 6. A value needing more digits is refused
# rather than rounded.
PARQUET_PRECISION, PARQUET_SCALE = 38, 12


def write_csv(rows: Sequence[Row], path: Path) -> Path:
    """Write FOCUS rows as UTF-8 CSV; returns the path."""
    path.write_text(to_csv(rows), encoding="utf-8", newline="")
    return path


def write_parquet(rows: Sequence[Row], path: Path) -> Path:
    """Write FOCUS rows as Parquet with a typed schema; returns the path."""
    # Imported here: pyarrow is large, and only Parquet exports need it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = []
    for column in COLUMNS:
        if column in DECIMAL_COLUMNS:
            kind: Any = pa.decimal128(PARQUET_PRECISION, PARQUET_SCALE)
        elif column in DATETIME_COLUMNS:
            kind = pa.timestamp("s", tz="UTC")
        else:
            kind = pa.string()
        fields.append(pa.field(column, kind))
    schema = pa.schema(fields)
    data = {column: [_value(column, row.get(column)) for row in rows] for column in COLUMNS}
    pq.write_table(pa.Table.from_pydict(data, schema=schema), path)
    return path


def _value(column: str, value: object) -> object:
    if value is None:
        return None
    if column in DECIMAL_COLUMNS:
        assert isinstance(value, Decimal)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -PARQUET_SCALE:
            raise ValueError(
                f"{column}: {value} has more than {PARQUET_SCALE} decimal places for Parquet"
            )
        return value
    if column in DATETIME_COLUMNS:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value
