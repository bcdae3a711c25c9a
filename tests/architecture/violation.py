"""One breach of the architecture, as a test failure names it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Violation:
    """Where (file:line inside src/neocloud), what (the import or call), and which rule."""

    path: str
    line: int
    what: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} -- {self.rule}"
