"""The architecture as a test: the core is pure, and dependencies point inward only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "neocloud"
CORE = ("domain", "scheduler", "billing", "economics")
# What would give the core a clock, I/O, a database or the network.
IMPURE_MODULES = {
    "os",
    "time",
    "socket",
    "subprocess",
    "sqlalchemy",
    "httpx",
    "fastapi",
    "uvicorn",
    "pathlib",
    "shutil",
    "threading",
    "asyncio",
    "random",
    "uuid",
    "neocloud.store",
    "neocloud.server",
    "neocloud.engines",
    "neocloud.sdk",
    "neocloud.cli",
}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _modules(folder: str) -> list[Path]:
    return sorted((SRC / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _imported_from(imports: set[str], forbidden: set[str]) -> set[str]:
    return {i for i in imports for f in forbidden if i == f or i.startswith(f + ".")}


@pytest.mark.parametrize(
    "path", [p for f in CORE for p in _modules(f)], ids=lambda p: str(p.relative_to(SRC))
)
def test_the_core_has_no_io_and_no_clock(path: Path) -> None:
    assert not _imported_from(_imports(path), IMPURE_MODULES)
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"


@pytest.mark.parametrize("path", _modules("sdk"), ids=lambda p: str(p.relative_to(SRC)))
def test_the_sdk_speaks_only_http(path: Path) -> None:
    assert not _imported_from(
        _imports(path), {"neocloud.server", "neocloud.store", "neocloud.engines"}
    )


@pytest.mark.parametrize(
    "path",
    [p for p in _modules("cli") if p.name not in {"up.py", "fleet.py"}],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_the_cli_goes_through_the_sdk(path: Path) -> None:
    assert not _imported_from(
        _imports(path), {"neocloud.server", "neocloud.store", "neocloud.engines"}
    )


def test_adding_an_engine_touches_no_scheduler_code() -> None:
    for path in _modules("scheduler"):
        assert not _imported_from(_imports(path), {"neocloud.engines"}), path
