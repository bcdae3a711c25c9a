"""Shared fixtures: a database on each backend, and an API client against a real app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from neocloud.store.db import Database
from neocloud.store.models import Base
from tests.pg import PostgresServer

IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with the reason; in CI an integration component must be present, so fail instead."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL database for this test session."""
    server = PostgresServer()
    ok = server.start()
    yield server if ok else None  # type: ignore[misc]
    server.stop()


@pytest.fixture(scope="session")
def pg_database(pg_server: PostgresServer | None) -> Iterator[Database]:
    """A migrated PostgreSQL database shared by the session (tables emptied per test)."""
    if pg_server is None:
        skip_or_fail("PostgreSQL is not available")
    db = Database(pg_server.url)
    db.migrate()
    yield db
    db.dispose()


def _empty(db: Database) -> None:
    with db.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database on each backend."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'test.db'}")
        db.migrate()
        yield db
        db.dispose()
    else:
        db = request.getfixturevalue("pg_database")
        _empty(db)
        yield db
