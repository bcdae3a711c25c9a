"""Size limits: a module a newcomer can read, functions that fit on a screen or say why not."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
LONG = "# long:"  # a function may run longer when the line before it says why


def oversized(root: Path) -> Iterator[str]:
    """Each module over the line limit, and each function over its limit without a `# long:`."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            yield f"{rel}: {len(lines)} lines (module limit {MAX_MODULE_LINES})"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES and not _explained(lines, node):
                limit = f"function limit {MAX_FUNCTION_LINES}, no '{LONG} reason' before its def"
                yield f"{rel}:{node.lineno}: {node.name}() {length} lines ({limit})"


def _explained(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether `# long: <reason>` stands on the line before the def (or decorator) or beside it."""
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    before = lines[first - 2].strip() if first >= 2 else ""
    beside = lines[node.lineno - 1].partition("#")[2]
    return _reason(before) or _reason("#" + beside)


def _reason(comment: str) -> bool:
    """Whether a comment is `# long:` followed by a reason."""
    return comment.startswith(LONG) and bool(comment.removeprefix(LONG).strip())
