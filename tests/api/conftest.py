"""An in-process API over each database backend, seeded like `neocloud up` (no control loop)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from neocloud.server.app import create_app
from neocloud.server.embedded import local_engine
from neocloud.server.engines.registry import EngineRegistry
from neocloud.server.http.clock import utcnow
from neocloud.server.http.context import AppContext, ServerSettings
from neocloud.server.http.org_failures import FAILURES
from neocloud.server.seed import operator_key, seed
from neocloud.store.db import Database


@dataclass
class Api:
    """The app, its context, and an operator client."""

    ctx: AppContext
    http: TestClient
    operator_key: str

    def as_key(self, key: str) -> TestClient:
        """A client of the same app speaking with another key."""
        c = TestClient(self.http.app)
        c.headers["Authorization"] = f"Bearer {key}"
        return c

    def new_org(self, name: str, kind: str = "external", role: str = "owner") -> TestClient:
        """Create an org and return a client holding a fresh key of it."""
        r = self.http.post("/v1/orgs", json={"name": name, "kind": kind})
        assert r.status_code == 201, r.text
        r = self.http.post("/v1/keys", json={"org": name, "name": "test", "role": role})
        assert r.status_code == 201, r.text
        return self.as_key(r.json()["secret"])


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Iterator[Api]:
    """The API on the demo fleet, with the demo internal org and prices."""
    # Failing orgs are the process's record: each test starts with none.
    FAILURES.reset()
    ctx = AppContext(
        settings=ServerSettings(database_url=database.url, data_dir=tmp_path, run_loops=False),
        db=database,
        engines=EngineRegistry(),
    )
    with database.session() as s:
        seed(s, utcnow(), None)
        key = operator_key(s, utcnow()).secret
    ctx.engines = EngineRegistry({"local": local_engine(ctx)})
    app = create_app(ctx)
    http = TestClient(app)
    http.headers["Authorization"] = f"Bearer {key}"
    yield Api(ctx, http, key)
