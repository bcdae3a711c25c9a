"""What the pure core may not call: I/O and code-running builtins, clocks, unseeded randomness."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.architecture.rules import CLOCK_METHODS, IMPURE_BUILTINS, SEEDED_RANDOM
from tests.architecture.source import Module, qualified, within
from tests.architecture.violation import Violation

# Clock reads named through any alias, called or only referenced (`f = D.now`).
CLOCK_FUNCTIONS = frozenset(
    {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today"}
    | {"datetime.date.today"}
)
# numpy's own file I/O, which no allow-list of modules can see (numpy is allowed for its maths).
NUMPY_IO = frozenset(
    f"numpy.{name}"
    for name in ("load", "save", "savez", "savetxt", "loadtxt", "fromfile", "genfromtxt", "memmap")
)


def impure_calls(module: Module, timer: frozenset[str] = frozenset()) -> Iterator[Violation]:
    """Calls that would give the core I/O, a clock or code from strings.

    `timer`: clock methods a package may call to time itself (the simulator's perf_counter).
    """
    called = {id(n.func) for n in module.nodes if isinstance(n, ast.Call)}
    for node in module.nodes:
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name) and func.id in IMPURE_BUILTINS:
            if func.id not in module.aliases:  # a builtin, not a name imported under that name
                yield Violation(module.rel, func.lineno, f"{func.id}()", "core: no I/O")
        elif func is not None and qualified(module, func) in NUMPY_IO:
            yield Violation(module.rel, func.lineno, f"{ast.unparse(func)}()", "core: no I/O")
        elif isinstance(func, ast.Attribute) and func.attr in CLOCK_METHODS - timer:
            what = f"{ast.unparse(func)}()"
            yield Violation(module.rel, func.lineno, what, "core: no clock")
        elif (
            isinstance(node, ast.Attribute | ast.Name)
            and id(node) not in called  # `f = D.now`, to call f later
            and qualified(module, node) in CLOCK_FUNCTIONS
        ):
            yield Violation(module.rel, node.lineno, ast.unparse(node), "core: no clock")


def clock_reads(module: Module) -> Iterator[Violation]:
    """Calls that read the clock: `utcnow()`, `x.now()`, `time.time()` under any alias."""
    for node in module.nodes:
        if not isinstance(node, ast.Call):
            continue
        name = qualified(module, node.func) or ""
        short = node.func.id if isinstance(node.func, ast.Name) else None
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if (
            short == "utcnow"
            or attr in {"now", "utcnow", "today"}
            or name in CLOCK_FUNCTIONS
            or name.endswith(".utcnow")
            or within(name, "time")
        ):
            yield Violation(
                module.rel, node.lineno, f"{ast.unparse(node.func)}()", "services: no clock"
            )


def unseeded_randomness(module: Module) -> Iterator[Violation]:
    """numpy.random calls other than a seeded generator: module-level state or an OS seed."""
    called = {id(n.func) for n in module.nodes if isinstance(n, ast.Call)}
    for node in module.nodes:
        func = node.func if isinstance(node, ast.Call) else node
        if not isinstance(func, ast.Name | ast.Attribute):
            continue
        last = (qualified(module, func) or "").removeprefix("numpy.random.")
        if last == (qualified(module, func) or ""):
            continue  # not a name in numpy.random
        if isinstance(node, ast.Call):
            if last in SEEDED_RANDOM and _has_seed(node):
                continue
            what = f"{ast.unparse(func)}({'...' if node.args or node.keywords else ''})"
        elif id(node) in called or last[:1].isupper():
            continue  # a call, seen as such; or a type such as Generator, in an annotation
        else:
            what = ast.unparse(node)  # `rng = np.random.default_rng`, to call later
        yield Violation(module.rel, func.lineno, what, "numpy randomness must be seeded")


def _has_seed(call: ast.Call) -> bool:
    """Whether a call passes something other than a literal None as its first argument."""
    given = [*call.args, *(k.value for k in call.keywords)]
    if not given:
        return False
    first = given[0]
    return not (isinstance(first, ast.Constant) and first.value is None)
