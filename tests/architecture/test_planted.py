"""The checker cannot be fooled: each kind of breach, planted in a copy of the tree, is reported."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.architecture.checker import check
from tests.architecture.rules import SLICES
from tests.architecture.server import is_edge, is_router, slice_of
from tests.architecture.violation import Violation

SRC = Path(__file__).resolve().parents[2] / "src" / "neocloud"
CLEAN = ""  # a row whose report must stay as it is


class Plant(NamedTuple):
    """Code appended to a module of `where`, and the rule the report must name ('' for none)."""

    where: str  # a package, "router", "service", "slice:<name>" or "new:<path>"
    code: str
    rule: str


TC = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
PLANTS = {
    "open": Plant("domain", "open('x')", "core: no I/O"),
    "print": Plant("billing", "print('x')", "core: no I/O"),
    "input": Plant("scheduler", "input()", "core: no I/O"),
    "exec": Plant("economics", "exec('x = 1')", "core: no I/O"),
    "eval": Plant("economics", "eval('1')", "core: no I/O"),
    "compile": Plant("domain", "compile('1', 'f', 'eval')", "core: no I/O"),
    "breakpoint": Plant("billing", "breakpoint()", "core: no I/O"),
    "__import__": Plant("domain", "__import__('os')", "core: no I/O"),
    "np.load": Plant("scheduler", "import numpy as np\nnp.load('x.npy')", "core: no I/O"),
    "numpy savetxt alias": Plant(
        "economics", "from numpy import savetxt as s\ns('x', [])", "core: no I/O"
    ),
    "reports opens a file": Plant("reports", "open('page.html', 'w')", "core: no I/O"),
    "reports reads the clock": Plant(
        "reports", "from datetime import datetime\ndatetime.now()", "core: no clock"
    ),
    "sim reads the clock": Plant(
        "sim", "from datetime import datetime\ndatetime.now()", "core: no clock"
    ),
    "sim prints": Plant("sim", "print('x')", "core: no I/O"),
    "sim times itself": Plant("sim", "import time\ntime.perf_counter()", CLEAN),
    "logging": Plant("scheduler", "import logging", "not on scheduler's allow-list"),
    "importlib": Plant("economics", "import importlib", "not on economics's allow-list"),
    "os": Plant("billing", "import os.path as p", "not on billing's allow-list"),
    "time": Plant("domain", "import time", "not on domain's allow-list"),
    "from time": Plant("billing", "from time import monotonic", "not on billing's allow-list"),
    "random": Plant("economics", "import random", "not on economics's allow-list"),
    "np.random.rand": Plant("scheduler", "import numpy as np\nnp.random.rand(3)", "seeded"),
    "np.random.seed": Plant("economics", "import numpy as np\nnp.random.seed(1)", "seeded"),
    "numpy.random as r": Plant("economics", "from numpy import random as r\nr.rand()", "seeded"),
    "default_rng()": Plant("economics", "from numpy.random import default_rng as g\ng()", "seeded"),
    "default_rng(None)": Plant(
        "scheduler", "import numpy.random\nnumpy.random.default_rng(None)", "seeded"
    ),
    "default_rng(seed=None)": Plant(
        "economics", "import numpy as np\nnp.random.default_rng(seed=None)", "seeded"
    ),
    "rng = default_rng": Plant(
        "scheduler", "import numpy as np\nf = np.random.default_rng", "seeded"
    ),
    "from numpy.random import rand": Plant(
        "economics", "from numpy.random import rand\nrand(2)", "seeded"
    ),
    "Generator as a type": Plant(
        "economics", "import numpy as np\ng: np.random.Generator | None = None", CLEAN
    ),
    "default_rng(seed)": Plant("economics", "import numpy as np\nnp.random.default_rng(7)", CLEAN),
    "D.now()": Plant("billing", "from datetime import datetime as D\nD.now()", "core: no clock"),
    "f = D.now": Plant(
        "billing", "from datetime import datetime as D\nf = D.now", "core: no clock"
    ),
    "date.today()": Plant("domain", "import datetime\ndatetime.date.today()", "core: no clock"),
    "datetime as a type": Plant(
        "billing", "from datetime import datetime as D\nx: D | None = None", CLEAN
    ),
    "html.unescape in reports": Plant(
        "reports", "import html\nhtml.unescape('')", "reports may use only html: escape"
    ),
    "domain reads YAML": Plant("domain", "import yaml\nyaml.safe_load('')", CLEAN),
    "io.open": Plant("billing", "import io\nio.open('x')", "billing may use only io: StringIO"),
    "from io import open": Plant("billing", "from io import open", "may use only io: StringIO"),
    "yaml.safe_load": Plant(
        "economics", "import yaml\nyaml.safe_load('')", "not on economics's allow-list"
    ),
    "core imports sim": Plant("billing", "import neocloud.sim", "billing may import only"),
    "domain imports economics": Plant(
        "domain", "from neocloud.economics import margin", "domain may import only"
    ),
    "scheduler imports billing": Plant(
        "scheduler", "from neocloud.billing.ledger import Ledger", "scheduler may import only"
    ),
    "relative ..sim": Plant("economics", "from ..sim import x", "economics may import only"),
    "relative .. import sim": Plant("economics", "from .. import sim", "economics may import only"),
    "relative . is own package": Plant("economics", "from . import margin", CLEAN),
    "import in a function": Plant(
        "domain", "def planted() -> None:\n    import sqlite3", "not on domain's allow-list"
    ),
    "TYPE_CHECKING import": Plant(
        "scheduler", TC + "    from neocloud.engines import base", "scheduler may import only"
    ),
    "router imports store": Plant(
        "router", "from neocloud.store import models", "a router goes through a service"
    ),
    "router imports sqlalchemy": Plant(
        "router", "from sqlalchemy import select", "a router goes through a service"
    ),
    "router imports an engine": Plant(
        "router", "import neocloud.engines.base", "a router goes through a service"
    ),
    "router imports a router": Plant(
        "router", "from neocloud.server.tenancy import router as other", "may not import a router"
    ),
    "service calls utcnow()": Plant(
        "service", "from neocloud.server.http.clock import utcnow\nutcnow()", "services: no clock"
    ),
    "service calls .now()": Plant(
        "service", "import datetime as d\nd.datetime.now(d.UTC)", "services: no clock"
    ),
    "http helper reads the clock": Plant(
        "slice:http", "from datetime import datetime\ndatetime.now()", "services: no clock"
    ),
    "service calls time.time()": Plant(
        "service", "from time import time as t\nt()", "services: no clock"
    ),
    "router reads the clock": Plant(
        "router", "from neocloud.server.http.clock import utcnow\nutcnow()", CLEAN
    ),
    "lower slice imports higher": Plant(
        "slice:http", "from neocloud.server.jobs import service", "may import only lower slices"
    ),
    "slice imports the top": Plant(
        "slice:http", "from neocloud.server import app", "may import only lower slices"
    ),
    "higher slice imports lower": Plant(
        "slice:jobs", "from neocloud.server.http import errors", CLEAN
    ),
    "server importlib.import_module": Plant(
        "server", "import importlib\nimportlib.import_module('x')", "may use only importlib"
    ),
    "sim sleeps": Plant("sim", "import time\ntime.sleep(1)", "may use only time: perf_counter"),
    "sim imports an engine": Plant(
        "sim", "from neocloud.engines.local import engine", "sim may import only"
    ),
    "sdk imports server": Plant("sdk", "import neocloud.server", "sdk may import only"),
    "cli imports store": Plant("cli", "from neocloud.store import db", "cli may import only"),
    "a package without a rule": Plant("new:plugins/x.py", "", "has no rule"),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of src/neocloud to plant into; each test puts back what it changed."""
    root = tmp_path_factory.mktemp("tree") / "neocloud"
    shutil.copytree(SRC, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def before(tree: Path) -> frozenset[Violation]:
    """The copy's report before any plant (the real tree's, whatever it holds today)."""
    return frozenset(check(tree))


@pytest.mark.parametrize("name", list(PLANTS))
def test_a_planted_breach_is_reported(tree: Path, before: frozenset[Violation], name: str) -> None:
    """Planting one breach adds it to the report, named in the planted file; clean rows add none."""
    plant = PLANTS[name]
    with _planted(tree, plant) as (rel, first_line):
        new = sorted(set(check(tree)) - before)
    report = "\n".join(map(str, new))
    if plant.rule == CLEAN:
        assert not new, report
        return
    assert new, f"nothing reported for {name!r} planted in {rel}"
    assert all(v.path == rel and v.line >= first_line for v in new), report
    assert any(plant.rule in v.rule for v in new), report


def test_the_unplanted_copy_is_clean(tree: Path) -> None:
    """The checker passes a clean tree, so the rows above cannot pass by always failing."""
    found = check(tree)
    assert found == [], "\n".join(map(str, found))


class _planted:
    """Append a plant's code to a real module of the right kind; restore the file afterwards."""

    def __init__(self, root: Path, plant: Plant) -> None:
        self.root, self.plant = root, plant
        self.path = _target(root, plant.where)
        self.original = self.path.read_text() if self.path.exists() else None
        self.new_folder = not self.path.parent.exists()

    def __enter__(self) -> tuple[str, int]:
        text = self.original or ""
        if text and not text.endswith("\n"):
            text += "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text + self.plant.code + "\n")
        return self.path.relative_to(self.root).as_posix(), text.count("\n") + 1

    def __exit__(self, *_: object) -> None:
        if self.new_folder:
            shutil.rmtree(self.path.parent)
        elif self.original is None:
            self.path.unlink()
        else:
            self.path.write_text(self.original)


def _target(root: Path, where: str) -> Path:
    """The module a plant goes into: the first (by name) real module of that kind."""
    if where.startswith("new:"):
        return root / where.removeprefix("new:")
    candidates = [p for p in _modules(root) if _fits(p.relative_to(root).as_posix(), where)]
    if not candidates:
        pytest.skip(f"no module of kind {where!r} in the tree yet")
    return candidates[0]


def _modules(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*.py")) if p.name != "__init__.py")


def _fits(rel: str, where: str) -> bool:
    """Whether a module (path inside the package) is of the kind a plant asks for."""
    slice_name = slice_of(rel)
    if where == "router":
        return is_router(rel) and slice_name in SLICES
    if where == "service":
        return slice_name in SLICES and not is_edge(rel)
    if where.startswith("slice:"):
        return slice_name == where.removeprefix("slice:")
    if where == "server":
        return rel.startswith("server/") and slice_name is None
    return rel.startswith(where + "/")
