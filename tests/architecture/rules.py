"""The architecture as one table: what each package of src/neocloud may import; the server's order.

Anything not written here is forbidden. A module name allows its submodules ("numpy" allows
numpy.typing); `only` narrows a module to some of its names ("io": StringIO, never io.open).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """What the modules of one top-level package may import."""

    neocloud: frozenset[str]  # other neocloud packages or modules; "neocloud" is the root module
    modules: frozenset[str]  # stdlib and third-party modules
    only: Mapping[str, frozenset[str]] = field(default_factory=dict)
    files: Mapping[str, frozenset[str]] = field(default_factory=dict)  # one file's extra packages


def rule(
    neocloud: str,
    modules: str,
    only: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> Rule:
    """A Rule from space-separated names, so the table below reads as a table."""
    return Rule(
        frozenset(neocloud.split()),
        frozenset(modules.split()),
        {m: frozenset(n.split()) for m, n in (only or {}).items()},
        {f: frozenset(p.split()) for f, p in (files or {}).items()},
    )


# The pure core: computations on values. No clock, file, network, process, log or global state.
# datetime is here for its types; reading the clock through it is caught as a call (calls.py).
PURE = (
    "__future__ abc bisect collections dataclasses datetime decimal enum fractions functools"
    " heapq itertools math numbers operator re types typing"
)
CORE = ("domain", "scheduler", "billing", "economics")
CONTEXTLIB = {"contextlib": "contextmanager suppress"}  # never redirect_stdout and the like

PACKAGES: dict[str, Rule] = {
    # The core, in order: each may import only the ones before it.
    "domain": rule("", PURE + " hashlib hmac unicodedata yaml"),
    "scheduler": rule("domain", PURE + " contextlib numpy", CONTEXTLIB),
    "billing": rule(
        "domain",
        PURE + " contextlib csv html io json",
        {**CONTEXTLIB, "html": "escape", "io": "StringIO"},  # rendering to strings, never files
    ),
    "economics": rule("domain scheduler billing", PURE + " contextlib numpy", CONTEXTLIB),
    # Presentation of the core's results as HTML, SVG and tables: strings, no files, no clock.
    "reports": rule("economics sim", PURE + " html", {"html": "escape"}),
    # The simulator drives the scheduler over a trace; it only times itself. It reads fleet files
    # with the engines' option rules (engines.options), and nothing else of the engines.
    "sim": rule(
        "domain scheduler economics engines.options",
        PURE + " csv io numpy time",
        {"io": "StringIO", "time": "perf_counter"},
    ),
    "schemas": rule("domain billing", PURE + " pydantic urllib.parse"),
    "store": rule("", PURE + " alembic contextlib os pathlib sqlalchemy time"),
    "exports": rule("billing", PURE + " pathlib pyarrow"),
    "engines": rule(
        "neocloud domain scheduler",
        PURE + " contextlib fcntl hashlib httpx json os pathlib pwd shlex shutil signal stat"
        " subprocess sys tempfile threading time traceback urllib.parse yaml",
    ),
    "server": rule(
        "neocloud domain scheduler billing economics engines exports schemas store",
        PURE + " anyio argparse base64 binascii concurrent.futures contextlib contextvars"
        " cryptography csv fastapi hashlib hmac httpx importlib io ipaddress json logging os"
        " pathlib prometheus_client pydantic random secrets socket sqlalchemy starlette sys"
        " tempfile threading time urllib.parse uvicorn",
        {"importlib": "resources"},  # package data only, never import_module
    ),
    # The SDK speaks HTTP only: never the server, the store or an engine.
    "sdk": rule(
        "neocloud domain schemas",
        PURE + " builtins httpx json os pathlib pydantic time tomllib urllib.parse",
    ),
    # The CLI goes through the SDK; `up` runs the embedded server, `fleet` discovers nodes.
    "cli": rule(
        "neocloud bench billing domain economics reports schemas sdk sim",
        PURE + " contextlib csv importlib io json os pathlib pydantic rich sys time typer",
        {"importlib": "resources", "time": "perf_counter"},
        files={"up.py": "server", "fleet.py": "engines"},
    ),
    "bench": rule(
        "domain scheduler",
        PURE + " concurrent.futures contextlib httpx json os pathlib psycopg random resource"
        " signal socket subprocess sys tempfile threading time uuid",
    ),
    # src/neocloud/__init__.py: the version, and the SDK's client on demand.
    "neocloud": rule("sdk", "typing"),
}

# Builtins the core may not call: they read or write the outside world, or run code.
IMPURE_BUILTINS = frozenset(
    {"open", "print", "input", "exec", "eval", "compile", "__import__", "breakpoint"}
)
# Methods that read a clock, whatever object they are called on.
CLOCK_METHODS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter"})
# Constructors of numpy randomness that are deterministic when given a seed.
SEEDED_RANDOM = frozenset({"default_rng", "Generator", "SeedSequence", "PCG64", "Philox"})
SEEDED_PACKAGES = (*CORE, "sim", "reports")
# Packages that call no I/O, clock or code-running builtin, with the timer each may read: the
# core, the renderings of its results, and the simulator, which times itself only.
PURE_CALLS: dict[str, frozenset[str]] = {
    **{package: frozenset() for package in CORE},
    "reports": frozenset(),
    "sim": frozenset({"perf_counter"}),
}

# The server's slices, lowest first: a slice may import only itself and slices before it.
# Modules directly in server/ (app, embedded, seed, __main__, openapi, health, ...) are the top.
SLICES = (
    "engines",  # engine registry, factory, health, check, drain policy
    "http",  # auth, errors, pagination, idempotency, clock, params, context
    "tenancy",
    "audit",
    "events",
    "fleet",
    "metering",
    "billing",
    "economics",
    "jobs",
    "webhooks",
)
# Routers reach data and engines through a service of their slice.
ROUTER_MAY_NOT = ("neocloud.store", "sqlalchemy", "neocloud.engines", "neocloud.server.engines")

# Who reads the clock in the server: the edge, which hands `now` down to the services. Routers,
# loops (`*_loop.py`, `loops/`) and the top's modules are edge too (server.is_edge).
EDGE_FILES = {
    "server/http/clock.py": "the clock helper itself",
    "server/http/context.py": "authenticates each request as it arrives",
    "server/http/idempotency.py": "stamps a request's key when the request is seen",
    "server/http/org_failures.py": "stamps a loop's failure when it happens",
    "server/audit/middleware.py": "an ASGI middleware: no caller to hand it the time",
    "server/audit/listener.py": "a database flush hook: no caller to hand it the time",
}

# The scheduler's units (its sub-packages), lowest first: a unit imports only `model` (the
# scheduler's inputs and decisions), itself and the units before it; never a later unit nor a
# module of the pass at the top of scheduler/ (typepass, typestate, world, state, ...).
SCHEDULER_UNITS = ("explanation", "admission", "preemption", "placement")
