"""A PostgreSQL server for the tests: the one at 127.0.0.1:5432, or a throwaway one we start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _answers(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """Finds or starts a server, and makes one throwaway database per test session."""

    def __init__(self) -> None:
        self.admin_dsn: str | None = None
        self.reason = ""
        self._own: Path | None = None
        self._dbname = f"neocloud_test_{uuid.uuid4().hex[:10]}"
        self._extra: list[str] = []

    def start(self) -> bool:
        """True when a server is usable; otherwise `reason` says why."""
        candidates = [
            os.environ.get("NEOCLOUD_TEST_PG_ADMIN_DSN"),
            "postgresql://postgres@127.0.0.1:5432/postgres",
            "postgresql://postgres@127.0.0.1:5432/test",
        ]
        for dsn in filter(None, candidates):
            if _answers(dsn):
                self.admin_dsn = dsn
                return self._create_db()
        if not (PG_BIN / "initdb").exists():
            self.reason = "PostgreSQL is not installed (no server at 127.0.0.1:5432, no initdb)"
            return False
        return self._start_own()

    def _start_own(self) -> bool:
        run = Path(tempfile.mkdtemp(prefix="neocloud-pg-"))
        (run / "sock").mkdir()
        port = _free_port()
        as_pg: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_pg:
            shutil.chown(run, "postgres")
            shutil.chown(run / "sock", "postgres")
        subprocess.run(
            [
                *as_pg,
                str(PG_BIN / "initdb"),
                "-D",
                str(run / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *as_pg,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(run / "data"),
                "-l",
                str(run / "log"),
                "-w",
                "-o",
                f"-p {port} -c listen_addresses=127.0.0.1 -k {run / 'sock'} -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        self._own = run
        self.admin_dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        return self._create_db()

    def _create_db(self) -> bool:
        assert self.admin_dsn
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self._dbname}"')
        return True

    def fresh_database(self) -> str:
        """Create another empty database (dropped with the session's) and return its URL."""
        assert self.admin_dsn
        name = f"{self._dbname}_{len(self._extra) + 1}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._extra.append(name)
        return self._url_of(name)

    def _url_of(self, name: str) -> str:
        assert self.admin_dsn
        base = self.admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{name}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        assert self.admin_dsn
        base = self.admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{self._dbname}"

    def stop(self) -> None:
        """Drop the test database and stop a server we started."""
        if self.admin_dsn:
            try:
                with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                    for name in [self._dbname, *self._extra]:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error:
                pass
        if self._own is not None:
            as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(
                [
                    *as_pg,
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self._own / "data"),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                capture_output=True,
            )
            shutil.rmtree(self._own, ignore_errors=True)
