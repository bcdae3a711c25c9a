"""The scheduler's units import downward only (rules.SCHEDULER_UNITS).

Each sub-package of src/neocloud/scheduler/ reads `model` (the inputs and decisions), itself
and the units before it: never a later unit, nor the pass at the top of scheduler/ (typepass,
typestate, world, state, ...), nor the package itself (its __init__ loads the whole pass).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.architecture.rules import SCHEDULER_UNITS
from tests.architecture.source import Module, described, modules, within
from tests.architecture.violation import Violation

SRC = Path(__file__).resolve().parents[2] / "src" / "neocloud"
SCHEDULER = "neocloud.scheduler"
MODEL = "neocloud.scheduler.model"  # every unit's vocabulary
TOP = len(SCHEDULER_UNITS)  # the rank of modules directly in scheduler/
NO_UNIT = "scheduler folder not in rules.SCHEDULER_UNITS"


def unit_of(rel: str) -> str | None:
    """The unit of a path inside the package (`scheduler/admission/x.py` -> admission); None
    at the scheduler's top and outside the scheduler."""
    parts = rel.split("/")
    return parts[1] if parts[0] == "scheduler" and len(parts) > 2 else None


def _rank_of_module(dotted: str) -> int:
    """The rank of an imported scheduler module: its unit's place, else the top."""
    parts = dotted.split(".")
    if len(parts) > 2 and parts[2] in SCHEDULER_UNITS:
        return SCHEDULER_UNITS.index(parts[2])
    return TOP


def unit_violations(module: Module) -> Iterator[Violation]:
    """Imports of one unit's module that reach a later unit or the scheduler's top."""
    here = unit_of(module.rel)
    if here is None:
        return
    if here not in SCHEDULER_UNITS:
        yield Violation(module.rel, 1, f"unit {here}", NO_UNIT)
        return
    rank = SCHEDULER_UNITS.index(here)
    for imp in module.imports:
        if not within(imp.target, SCHEDULER) or within(imp.target, MODEL):
            continue
        there = _rank_of_module(imp.target)
        if there > rank:
            above = SCHEDULER_UNITS[there] if there < TOP else "the scheduler's top"
            rule = f"unit {here} may import only model and earlier units, not {above}"
            yield Violation(module.rel, imp.line, described(imp), rule)


def _breaches(root: Path) -> list[Violation]:
    return sorted(v for module in modules(root) for v in unit_violations(module))


def _report(found: list[Violation]) -> str:
    return "\n".join(str(v) for v in found)


@pytest.mark.parametrize("name", SCHEDULER_UNITS)
def test_each_scheduler_unit_imports_only_earlier_units(name: str) -> None:
    """A unit reads model, itself and the units before it, nothing above."""
    assert (SRC / "scheduler" / name).is_dir(), f"rules.SCHEDULER_UNITS names scheduler/{name}/"
    found = [v for v in _breaches(SRC) if unit_of(v.path) == name]
    assert not found, _report(found)


def test_every_scheduler_folder_is_a_unit() -> None:
    """A new sub-package of the scheduler must take its place in the order."""
    found = [v for v in _breaches(SRC) if v.rule == NO_UNIT]
    assert not found, _report(found)


PLANTS = {
    "the top, under TYPE_CHECKING": (
        "admission/groups.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from neocloud.scheduler.typestate import TypeState\n",
        "not the scheduler's top",
    ),
    "a later unit": (
        "explanation/reasons.py",
        "from neocloud.scheduler.admission.ordering import EntryKey\n",
        "not admission",
    ),
    "a later unit, relative": (
        "preemption/victims.py",
        "from ..placement import nodes\n",
        "not placement",
    ),
    "the package itself": (
        "placement/nodes.py",
        "import neocloud.scheduler\n",
        "not the scheduler's top",
    ),
    "a new folder": ("passes/run.py", "x = 1\n", NO_UNIT),
    "an earlier unit": (
        "placement/nodes.py",
        "from neocloud.scheduler.admission import limits\n",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_a_planted_breach_is_reported(name: str, tmp_path: Path) -> None:
    """Each kind of upward import, planted in a copy of the scheduler, is reported; a
    downward one is not."""
    where, code, rule = PLANTS[name]
    root = tmp_path / "neocloud"
    shutil.copytree(SRC / "scheduler", root / "scheduler")
    target = root / "scheduler" / where
    target.parent.mkdir(exist_ok=True)
    with target.open("a") as out:
        out.write("\n" + code)
    found = [v for v in _breaches(root) if v.path == f"scheduler/{where}"]
    if not rule:
        assert not found, _report(found)
    else:
        assert any(rule in v.rule for v in found), _report(found) or "nothing reported"
