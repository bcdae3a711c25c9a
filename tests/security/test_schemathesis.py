"""Schemathesis against the running server, on SQLite and PostgreSQL, as the operator and as an
org's owner: no server error, no status the OpenAPI document does not declare, responses that
match their declared schema and content type, and 405 with `Allow` for undeclared methods.

The examples are bounded (a few minutes on two cores in all) and the seed fixed, so a run is
repeatable; the CLI's summary is printed, and every failure it found fails the test.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.e2e.server import ServerProcess, free_port
from tests.pg import PostgresServer
from tests.security.schemathesis_harness import build_venv, run_schemathesis, unreachable_fleet

# (phases, examples per operation): the operator's run walks every phase; the owner's, whose
# inputs are the same but whose answers differ by authorization, skips the coverage phase.
RUNS = {
    "operator": ("examples,coverage,fuzzing", 15),
    "owner": ("examples,fuzzing", 15),
}


@pytest.fixture(scope="module")
def schemathesis_venv() -> None:
    """The pinned Schemathesis, built from its lock when missing."""
    reason = build_venv()
    if reason is not None:
        skip_or_fail(reason)


@pytest.fixture(params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path, schemathesis_venv: None
) -> Iterator[ServerProcess]:
    """The control plane in its own process on a free port, over a fresh database."""
    env = {}
    if request.param == "postgresql":
        pg: PostgresServer | None = request.getfixturevalue("pg_server")
        if pg is None:
            skip_or_fail("PostgreSQL is not available")
        assert pg is not None
        env["NEOCLOUD_DATABASE_URL"] = pg.fresh_database()
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(unreachable_fleet(free_port()))
    process = ServerProcess(tmp_path / "data", fleet=fleet, env=env)
    try:
        yield process.start()
    finally:
        process.stop()


def owner_key(server: ServerProcess) -> str:
    """A fresh external org and its owner's key, made by the operator."""
    operator = {"Authorization": f"Bearer {server.operator_key}"}
    r = httpx.post(
        server.url + "/v1/orgs", json={"name": "acme", "kind": "external"}, headers=operator
    )
    assert r.status_code == 201, r.text
    body = {"org": "acme", "name": "fuzz", "role": "owner"}
    r = httpx.post(server.url + "/v1/keys", json=body, headers=operator)
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def failures_in(report: Path) -> list[str]:
    """Each failing test case of the JUnit report: the operation and what failed."""
    found = []
    for case in ET.parse(report).getroot().iter("testcase"):
        for failure in [*case.iter("failure"), *case.iter("error")]:
            message = failure.get("message") or failure.text or ""
            found.append(f"{case.get('name')}: {message.strip()[:500]}")
    return found


@pytest.mark.timeout(600)
@pytest.mark.parametrize("who", list(RUNS))
def test_no_server_error_and_no_undeclared_status(
    server: ServerProcess, tmp_path: Path, who: str
) -> None:
    key = server.operator_key if who == "operator" else owner_key(server)
    phases, examples = RUNS[who]
    report = tmp_path / f"schemathesis-{who}.xml"
    result = run_schemathesis(server.url, key, phases, examples, report, timeout=540)
    summary = result.output[result.output.rfind("SUMMARY") - 40 :]
    print(summary)
    assert report.exists(), result.output[-5000:]
    assert failures_in(report) == [], result.output[-8000:]
    assert result.returncode == 0, result.output[-8000:]
    assert server.proc is not None and server.proc.poll() is None, (
        "the server died under the fuzzer"
    )
