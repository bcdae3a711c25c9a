"""Every module under src/neocloud stays readable: at most 600 lines, functions at most 80."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.architecture.sizes import oversized

SRC = Path(__file__).resolve().parents[2] / "src" / "neocloud"

# Over the limits when this test was written, to be split or given a `# long:` reason; once
# this is empty the mark below goes and the test holds strictly.
OVERSIZED: tuple[str, ...] = ()


@pytest.mark.xfail(
    bool(OVERSIZED), reason="still over the limits:\n" + "\n".join(OVERSIZED), strict=False
)
def test_modules_and_functions_stay_within_their_limits() -> None:
    """A longer function says why on the line before its def: `# long: <reason>`."""
    found = list(oversized(SRC))
    assert not found, "\n".join(found)
