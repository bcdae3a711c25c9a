"""One module of the tree as the checks see it: its name, its imports resolved, its aliases."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One imported name: `target` is the most specific module it reaches."""

    line: int
    target: str  # "neocloud.sim.runner", "numpy", "io"
    name: str | None  # for `from M import n`: n when it is not itself a submodule


@dataclass
class Module:
    """A parsed module of the package under `root` (the folder named neocloud)."""

    root: Path
    path: Path
    tree: ast.Module
    nodes: tuple[ast.AST, ...]  # every node of the tree, walked once
    imports: list[Import] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # bound name -> qualified name

    @property
    def rel(self) -> str:
        """The path inside the package, as written in messages: `server/jobs/router.py`."""
        return self.path.relative_to(self.root).as_posix()

    @property
    def dotted(self) -> str:
        """The module's import name: `neocloud.server.jobs.router`."""
        parts = ["neocloud", *self.path.relative_to(self.root).with_suffix("").parts]
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> Iterator[Module]:
    """Every module under root, parsed, with every import (in functions and TYPE_CHECKING too)."""
    for path in sorted(root.rglob("*.py")):
        module = Module(root, path, *_parse(path.read_text()))
        for node in module.nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                _record(module, node)
        yield module


@cache
def _parse(text: str) -> tuple[ast.Module, tuple[ast.AST, ...]]:
    # The planted-violation tests check the same files many times over.
    tree = ast.parse(text)
    return tree, tuple(ast.walk(tree))


def _record(module: Module, node: ast.Import | ast.ImportFrom) -> None:
    """Add one import statement's names and the aliases it binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            module.imports.append(Import(node.lineno, alias.name, None))
            bound = alias.asname or alias.name.split(".")[0]
            module.aliases[bound] = alias.name if alias.asname else bound
        return
    base = _absolute(module, node)
    for alias in node.names:
        qualified = f"{base}.{alias.name}"
        if _is_neocloud_module(module.root, qualified):
            module.imports.append(Import(node.lineno, qualified, None))
        else:
            module.imports.append(Import(node.lineno, base, alias.name))
        module.aliases[alias.asname or alias.name] = qualified


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """The module a `from` import reads, relative ones resolved (`..sim` -> neocloud.sim)."""
    if not node.level:
        return node.module or ""
    package = module.dotted.split(".")
    if module.path.name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _is_neocloud_module(root: Path, dotted: str) -> bool:
    """Whether a dotted name is a module or package of the tree (not a name inside one)."""
    parts = dotted.split(".")
    if parts[0] != "neocloud":
        return False
    path = root.joinpath(*parts[1:])
    # Folders without __init__.py (sim/) are namespace packages, importable all the same.
    return path.with_suffix(".py").is_file() or path.is_dir()


def qualified(module: Module, node: ast.expr) -> str | None:
    """The dotted name an expression stands for through the module's imports, if it has one."""
    if isinstance(node, ast.Name):
        return module.aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        inner = qualified(module, node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def described(imp: Import) -> str:
    """An import as a reader would write it: `import neocloud.sim` or `from io import open`."""
    return f"from {imp.target} import {imp.name}" if imp.name else f"import {imp.target}"


def package_of(dotted: str) -> str | None:
    """The top-level neocloud package of a module name (`neocloud` for the root), else None."""
    parts = dotted.split(".")
    if parts[0] != "neocloud":
        return None
    return parts[1] if len(parts) > 1 else "neocloud"


def within(name: str, prefix: str) -> bool:
    """Whether a dotted name is prefix itself or inside it."""
    return name == prefix or name.startswith(prefix + ".")
