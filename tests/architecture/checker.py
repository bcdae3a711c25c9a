"""The architecture check: every breach of rules.py in a source tree, as file:line and rule."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.architecture.calls import impure_calls, unseeded_randomness
from tests.architecture.rules import PACKAGES, PURE_CALLS, SEEDED_PACKAGES, Rule
from tests.architecture.server import server_violations
from tests.architecture.source import Import, Module, described, modules, package_of, within
from tests.architecture.violation import Violation

NO_RULE = "has no rule in rules.PACKAGES"


def check(root: Path) -> list[Violation]:
    """Every breach under root, the folder named neocloud (src/neocloud or a copy of it)."""
    found: set[Violation] = set()
    for module in modules(root):
        package = _package(module)
        rule = PACKAGES.get(package)
        if rule is None:
            found.add(Violation(module.rel, 1, f"package {package}", NO_RULE))
            continue
        found |= set(_import_violations(module, package, rule))
        if package in PURE_CALLS:
            found |= set(impure_calls(module, PURE_CALLS[package]))
        if package in SEEDED_PACKAGES:
            found |= set(unseeded_randomness(module))
        if package == "server":
            found |= set(server_violations(module))
    return sorted(found)


def _package(module: Module) -> str:
    """The top-level package a module belongs to (`neocloud` for files at the root)."""
    parts = module.rel.split("/")
    return parts[0] if len(parts) > 1 else "neocloud"


def _import_violations(module: Module, package: str, rule: Rule) -> Iterator[Violation]:
    """Imports outside the package's allow-list, and uses of names outside an `only` list."""
    neocloud = rule.neocloud | rule.files.get(module.rel.split("/", 1)[-1], frozenset())
    for imp in module.imports:
        target = package_of(imp.target)
        if target is not None:
            if target != package and not _allowed_in_neocloud(imp.target, neocloud):
                allowed = " ".join(sorted(rule.neocloud)) or "no other neocloud package"
                yield _breach(module, imp, f"{package} may import only: {allowed}")
            continue
        allowed_as = next((m for m in rule.modules if within(imp.target, m)), None)
        if allowed_as is None:
            yield _breach(module, imp, f"not on {package}'s allow-list")
        elif allowed_as in rule.only and not _named_only(imp, allowed_as, rule.only[allowed_as]):
            names = " ".join(sorted(rule.only[allowed_as]))
            yield _breach(module, imp, f"{package} may use only {allowed_as}: {names}")
    yield from _restricted_uses(module, package, rule)


def _allowed_in_neocloud(target: str, allowed: frozenset[str]) -> bool:
    """Whether a neocloud module is within an allowed package or module ("engines.options")."""
    if target == "neocloud":
        return "neocloud" in allowed  # the root module: its version, the SDK's client
    return any(within(target, f"neocloud.{entry}") for entry in allowed if entry != "neocloud")


def _named_only(imp: Import, module: str, names: frozenset[str]) -> bool:
    """Whether an import of a narrowed module reaches only the allowed names."""
    rest = imp.target[len(module) + 1 :].split(".")[0] if imp.target != module else None
    if rest is not None:
        return rest in names
    # A bare `import module` is judged by its uses, in _restricted_uses.
    return imp.name is None or imp.name in names


def _restricted_uses(module: Module, package: str, rule: Rule) -> Iterator[Violation]:
    """`io.open` where only io.StringIO is allowed: each use of a narrowed module's name."""
    narrowed = {
        bound: name
        for bound, name in module.aliases.items()
        if name in rule.only and any(within(name, m) for m in rule.modules)
    }
    if not narrowed:
        return
    uses = {id(n.value) for n in module.nodes if isinstance(n, ast.Attribute)}
    for node in module.nodes:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            name = narrowed.get(node.value.id)
            if name is not None and node.attr not in rule.only[name]:
                names = " ".join(sorted(rule.only[name]))
                what = ast.unparse(node)
                rule_text = f"{package} may use only {name}: {names}"
                yield Violation(module.rel, node.lineno, what, rule_text)
        elif isinstance(node, ast.Name) and node.id in narrowed and id(node) not in uses:
            # The module object itself passed around would let any of its names through.
            what = node.id
            rule_text = f"{package} may use only {narrowed[node.id]}'s allowed names"
            yield Violation(module.rel, node.lineno, what, rule_text)


def _breach(module: Module, imp: Import, rule: str) -> Violation:
    """A violation for one import, named as written."""
    return Violation(module.rel, imp.line, described(imp), rule)
