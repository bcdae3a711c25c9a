"""Every module under src/neocloud stays readable: at most 600 lines, functions at most 80."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.sizes import oversized

SRC = Path(__file__).resolve().parents[2] / "src" / "neocloud"

# Over the limits when this test was written, to be split or given a `# long:` reason; once
# this is empty the mark below goes and the test holds strictly.
OVERSIZED = (
    "bench/scheduler.py:53: run() 104 lines",
    "cli/orgs.py:203: set_terms() 84 lines",
    "server/app.py:36: create_app() 81 lines",
    "server/http/idempotency.py:32: _once() 85 lines",
    "server/jobs/snapshot.py:92: build_snapshot() 104 lines",
    "store/migrations/versions/0001_initial_schema.py:21: upgrade() 330 lines",
    "store/migrations/versions/0004_billing_terms_budgets_webhooks_credits_.py:21: upgrade()"
    " 306 lines",
)


@pytest.mark.xfail(
    bool(OVERSIZED), reason="still over the limits:\n" + "\n".join(OVERSIZED), strict=False
)
def test_modules_and_functions_stay_within_their_limits() -> None:
    """A longer function says why on the line before its def: `# long: <reason>`."""
    found = list(oversized(SRC))
    assert not found, "\n".join(found)
