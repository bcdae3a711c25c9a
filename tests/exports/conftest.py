"""focus-validator in its own virtualenv, built once from a pinned, hashed lock.

focus-validator 2.x (FOCUS 1.2) needs Python >= 3.12; on our Python 3.11 only 1.0.0 installs,
and it pins numpy < 2 (and, through pandera 0.17, multimethod < 2), which would drag the whole
project's locked environment back to numpy 1.26. So it lives apart, in .venv-focus at the
repository root, rebuilt when its lock changes, and our tests talk to it through a subprocess.
Missing (no network, no python3.11) is a skip on a laptop and a failure in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from neocloud.billing.focus import COLUMNS, DECIMAL_COLUMNS
from tests.conftest import skip_or_fail
from tests.locked_venv import LockStep, build_locked_venv

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = Path(os.environ.get("NEOCLOUD_FOCUS_VENV", ROOT / ".venv-focus"))
LOCKS = (HERE / "focus-build.lock", HERE / "focus-validator.lock")
RUNNER = HERE / "run_focus_validator.py"
STRING_COLUMNS = [c for c in COLUMNS if c not in DECIMAL_COLUMNS]


@dataclass(frozen=True)
class FocusValidator:
    """The isolated interpreter with focus-validator installed, and where the package is."""

    python: Path
    site: Path

    def run(self, data_file: Path, version: str = "1.0") -> dict[str, object]:
        """Validate a FOCUS CSV; the runner's JSON report."""
        columns = data_file.with_suffix(".columns.json")
        columns.write_text(json.dumps(STRING_COLUMNS))
        done = subprocess.run(
            [str(self.python), str(RUNNER), str(data_file), version, str(columns)],
            cwd=self.site,  # the validator reads its currency list by a relative path
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"validator runner failed:\n{done.stderr[-4000:]}")
        report: dict[str, object] = json.loads(done.stdout)
        return report

    def python_code(self, code: str, *args: str) -> str:
        """Run code in the validator's interpreter with our src/ importable; its stdout."""
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        done = subprocess.run(
            [str(self.python), "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"validator interpreter failed:\n{done.stderr[-4000:]}")
        return done.stdout


def _build() -> str | None:
    """Build (or reuse) the validator's virtualenv; a reason string when it cannot be had."""
    return build_locked_venv(
        "focus-validator",
        VENV,
        VENV / "bin" / "python",
        LockStep(LOCKS[0]),
        # Its build backend comes from the hashed lock above, not from an unpinned fetch.
        LockStep(LOCKS[1], ("--no-build-isolation",)),
    )


@pytest.fixture(scope="session")
def focus_validator() -> FocusValidator:
    """focus-validator 1.0.0 in .venv-focus (built on first use)."""
    try:
        reason = _build()
    except (OSError, subprocess.SubprocessError) as err:
        reason = f"could not build the focus-validator virtualenv: {err}"
    if reason is not None:
        skip_or_fail(reason)
    python = VENV / "bin" / "python"
    site = subprocess.run(
        [
            str(python),
            "-c",
            "import focus_validator, os;"
            " print(os.path.dirname(os.path.dirname(focus_validator.__file__)))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if site.returncode != 0:
        skip_or_fail(f"focus-validator does not import: {site.stderr.strip()[-2000:]}")
    return FocusValidator(python, Path(site.stdout.strip()))
