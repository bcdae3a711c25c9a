"""A tool's own virtualenv built from pinned, hashed locks (Ray, Schemathesis, focus-validator):
never a dependency of neocloud, rebuilt only when a lock changes (CI builds them in .ci/run)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LockStep:
    """One `pip install --require-hashes -r lock`, with any further pip options."""

    lock: Path
    pip_options: tuple[str, ...] = ()


def lock_digest(steps: tuple[LockStep, ...]) -> str:
    """SHA-256 over the locks, kept in the venv to know when to rebuild it."""
    digest = hashlib.sha256()
    for step in steps:
        digest.update(step.lock.read_bytes())
    return digest.hexdigest()


def build_locked_venv(name: str, env_dir: Path, program: Path, *steps: LockStep) -> str | None:
    """Build (or reuse) `env_dir` from the locks, in order; a reason string when it cannot."""
    marker = env_dir / ".lock-sha256"
    if marker.exists() and marker.read_text() == lock_digest(steps) and program.exists():
        return None
    if sys.version_info[:2] != (3, 11):
        # The locks are resolved for 3.11; another interpreter may need other wheels.
        return f"the {name} lock is for Python 3.11, this is {sys.version.split()[0]}"
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    try:
        venv.EnvBuilder(clear=True, with_pip=True).create(env_dir)
        # Keep it out of git without touching the repository's .gitignore.
        (env_dir / ".gitignore").write_text("*\n")
        for step in steps:
            done = subprocess.run(
                [
                    *pip,
                    "--disable-pip-version-check",
                    "--require-hashes",
                    *step.pip_options,
                    "-r",
                    str(step.lock),
                ],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode != 0:
                return f"could not install {name} into {env_dir}: {done.stderr.strip()[-2000:]}"
    except (OSError, subprocess.SubprocessError) as err:
        return f"could not build the {name} virtualenv {env_dir}: {err}"
    marker.write_text(lock_digest(steps))
    return None
