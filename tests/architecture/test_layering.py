"""The architecture as a test: the core is pure, and dependencies point inward only (rules.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tests.architecture.checker import NO_RULE, check
from tests.architecture.rules import PACKAGES, SLICES
from tests.architecture.server import NO_SLICE, slice_of
from tests.architecture.violation import Violation

SRC = Path(__file__).resolve().parents[2] / "src" / "neocloud"


@cache
def _breaches() -> tuple[Violation, ...]:
    """The real tree's breaches."""
    return tuple(check(SRC))


def _report(found: list[Violation]) -> str:
    return "\n".join(str(v) for v in found)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_imports_only_what_its_rule_allows(package: str) -> None:
    """Outside the server's slices, each package keeps to its row of rules.PACKAGES."""
    found = [
        v
        for v in _breaches()
        if (v.path.split("/")[0] if "/" in v.path else "neocloud") == package
        and slice_of(v.path) is None
    ]
    assert not found, _report(found)


def test_every_package_and_server_folder_has_a_rule() -> None:
    """A new package or server folder must be given a row before it can be imported."""
    found = [v for v in _breaches() if v.rule in (NO_RULE, NO_SLICE)]
    assert not found, _report(found)


@pytest.mark.parametrize("name", SLICES)
def test_each_server_slice_imports_only_lower_slices(name: str) -> None:
    """A slice imports only the slices below it; routers stay thin; services are handed `now`."""
    assert (SRC / "server" / name).is_dir(), f"rules.SLICES names src/neocloud/server/{name}/"
    found = [v for v in _breaches() if slice_of(v.path) == name]
    assert not found, _report(found)
