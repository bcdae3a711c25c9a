"""Every module under src/neocloud stays readable: at most 600 lines, functions at most 80."""

from __future__ import annotations

from pathlib import Path

from tests.architecture.sizes import oversized

SRC = Path(__file__).resolve().parents[2] / "src" / "neocloud"


def test_modules_and_functions_stay_within_their_limits() -> None:
    """A longer function says why on the line before its def: `# long: <reason>`."""
    found = list(oversized(SRC))
    assert not found, "\n".join(found)
