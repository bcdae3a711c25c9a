"""The server's rules: slices import downward only, routers stay thin, services get `now` given."""

from __future__ import annotations

from collections.abc import Iterator

from tests.architecture.calls import clock_reads
from tests.architecture.rules import EDGE_FILES, ROUTER_MAY_NOT, SLICES
from tests.architecture.source import Module, described, within
from tests.architecture.violation import Violation

NO_SLICE = "server folder not in rules.SLICES"
TOP = len(SLICES)  # the rank of modules directly in server/


def slice_of(rel: str) -> str | None:
    """The slice of a path inside the package (`server/jobs/x.py` -> jobs); None at the top."""
    parts = rel.split("/")
    return parts[1] if parts[0] == "server" and len(parts) > 2 else None


def is_router(rel: str) -> bool:
    """Routers: `router.py`, `*_router.py`, or anything in a `routers/` folder."""
    *folders, name = rel.split("/")
    return name == "router.py" or name.endswith("_router.py") or "routers" in folders


def is_edge(rel: str) -> bool:
    """Modules that may read the clock: the top, routers, loops and rules.EDGE_FILES."""
    return (
        slice_of(rel) is None
        or is_router(rel)
        or rel.endswith("_loop.py")
        or "loops" in rel.split("/")[:-1]
        or rel in EDGE_FILES
    )


def server_violations(module: Module) -> Iterator[Violation]:
    """Breaches of the slice order, the router rules and the clock rule in one server module."""
    here = slice_of(module.rel)
    if here is not None and here not in SLICES:
        yield Violation(module.rel, 1, f"slice {here}", NO_SLICE)
        return
    rank = TOP if here is None else SLICES.index(here)
    for imp in module.imports:
        if not within(imp.target, "neocloud.server"):
            continue
        there = _slice_of_module(imp.target)
        there_rank = SLICES.index(there) if there in SLICES else TOP
        if there_rank > rank:
            above = there or "the server's top"
            rule = f"slice {here} may import only lower slices, not {above}"
            yield Violation(module.rel, imp.line, described(imp), rule)
    if is_router(module.rel):
        yield from _router_violations(module)
    if here is not None and not is_edge(module.rel):
        yield from clock_reads(module)


def _slice_of_module(dotted: str) -> str | None:
    """The slice of a module name (`neocloud.server.jobs.router` -> jobs); None at the top."""
    parts = dotted.split(".")
    if len(parts) < 3 or (len(parts) == 3 and parts[2] not in SLICES):
        return None
    return parts[2]


def _router_violations(module: Module) -> Iterator[Violation]:
    """A router imports no other router, and no store, SQL or engine: a service does that."""
    for imp in module.imports:
        what = described(imp)
        if imp.target.startswith("neocloud.") and is_router(_path_of(imp.target)):
            yield Violation(module.rel, imp.line, what, "a router may not import a router")
        if any(within(imp.target, banned) for banned in ROUTER_MAY_NOT):
            yield Violation(module.rel, imp.line, what, "a router goes through a service")


def _path_of(dotted: str) -> str:
    """A module name as a path in the package: neocloud.server.x.router -> server/x/router.py."""
    return "/".join(dotted.split(".")[1:]) + ".py"
