"""The store on SQLite and PostgreSQL: exact money, UTC times, usage written once, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from neocloud.store.db import Database
from neocloud.store.models import OrgRow, PriceRow

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _price(id_: str, value: Decimal, at: datetime = T0) -> PriceRow:
    return PriceRow(
        id=id_,
        gpu_type="h100",
        tier="spot",
        region=None,
        unit_price=value,
        currency="USD",
        effective_from=at,
        created_at=at,
    )


@pytest.mark.parametrize(
    "value",
    [Decimal("0.000001"), Decimal("2.99"), Decimal("123456789012345678.123456"), Decimal("0")],
    ids=["micro", "price", "eighteen-digits", "zero"],
)
def test_decimals_come_back_exactly(database: Database, value: Decimal) -> None:
    with database.session() as s:
        s.add(_price("p1", value))
    with database.session() as s:
        got = s.get(PriceRow, "p1")
        assert got is not None
        assert isinstance(got.unit_price, Decimal)
        assert got.unit_price == value


def test_floats_are_refused_for_money(database: Database) -> None:
    with pytest.raises(Exception, match="not Decimal"), database.session() as s:
        s.add(_price("p1", 2.99))  # type: ignore[arg-type]
        s.flush()


def test_times_are_utc_aware_and_naive_ones_are_refused(database: Database) -> None:
    plus2 = datetime(2026, 11, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with database.session() as s:
        s.add(_price("p1", Decimal(1), plus2))
    with database.session() as s:
        got = s.get(PriceRow, "p1")
        assert got is not None and got.effective_from == plus2
        assert got.effective_from.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"), database.session() as s:
        s.add(_price("p2", Decimal(1), datetime(2026, 11, 1)))  # noqa: DTZ001
        s.flush()


def test_a_failed_unit_of_work_leaves_nothing(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(OrgRow(id="org_1", name="acme", kind="external", created_at=T0))
        s.flush()
        s.add(OrgRow(id="org_2", name="acme", kind="external", created_at=T0))
        s.flush()
    with database.session() as s:
        assert s.get(OrgRow, "org_1") is None


def test_migrating_twice_is_harmless(database: Database) -> None:
    database.migrate()
    database.migrate()


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=0, max_value=10**17, places=6, allow_nan=False, allow_infinity=False))
def test_any_six_place_decimal_round_trips_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, value: Decimal
) -> None:
    db = _sqlite(tmp_path_factory)
    with db.session() as s:
        s.merge(_price("p", value))
    with db.session() as s:
        got = s.get(PriceRow, "p")
        assert got is not None and got.unit_price == value


_DBS: dict[str, Database] = {}


def _sqlite(factory: pytest.TempPathFactory) -> Database:
    if "db" not in _DBS:
        db = Database(f"sqlite:///{factory.mktemp('prop') / 'p.db'}")
        db.migrate()
        _DBS["db"] = db
    return _DBS["db"]
