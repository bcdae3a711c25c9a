"""What one transaction changed, in the shape an audit entry keeps it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Delete, Insert, TextClause, Update, inspect

from neocloud.server.audit.redact import safe

# Not audited at all: the log itself and bookkeeping that says nothing on its own (counters,
# the idempotency replay cache). Every other table is audited, so a new table is by default.
UNAUDITED = frozenset({"audit_log", "idempotency_keys", "job_seq", "invoice_sequences"})
# Many rows per call: counted with their id range and orgs, never copied.
SUMMARISED = frozenset(
    {
        "usage_events",
        "usage_records",
        "job_events",
        "ledger_entries",
        "allocations",
        "invoice_lines",
        "credit_note_lines",
        "billing_events",
        "webhook_deliveries",
        "budget_alerts",
    }
)
# Columns whose change alone is no change to record: authenticating a key touches it.
IGNORED = frozenset({("api_keys", "last_used_at")})
_TEXT_DML = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
_TEXT_OPS = {"INSERT": "insert", "UPDATE": "update", "DELETE": "delete"}


@dataclass
class Summary:
    """Rows of one table written one way: how many, the lowest and highest id, whose."""

    count: int = 0
    first_id: str | None = None
    last_id: str | None = None
    orgs: set[str] = field(default_factory=set)

    def add(self, count: int, ids: list[Any], orgs: list[Any]) -> None:
        """Count `count` more rows with these ids and orgs (either may be empty)."""
        self.count += count
        known = [str(i) for i in ids if i is not None]
        if known:
            lo, hi = min(known), max(known)
            self.first_id = lo if self.first_id is None else min(self.first_id, lo)
            self.last_id = hi if self.last_id is None else max(self.last_id, hi)
        # A batch names few orgs: collapse the repeats before converting.
        self.orgs.update(str(o) for o in set(orgs) if o is not None)


@dataclass
class Changes:
    """Row changes by (table, id) with before/after, and summaries of the high-volume tables."""

    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    summaries: dict[tuple[str, str], Summary] = field(default_factory=dict)
    row_orgs: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.rows or self.summaries)

    def note_object(self, obj: object, op: str) -> None:
        """Record an ORM object the flush inserted, updated or deleted."""
        state = inspect(obj)
        mapper = state.mapper
        table = mapper.local_table.name
        if table in UNAUDITED:
            return
        values = state.dict
        keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
        ident = ":".join(str(values.get(k)) for k in keys)
        org = values.get("id") if table == "orgs" else values.get("org_id")
        if table in SUMMARISED:
            self.summaries.setdefault((table, op), Summary()).add(1, [ident], [org])
            return
        before: dict[str, Any] | None = None
        after: dict[str, Any] | None = None
        columns = [a.key for a in mapper.column_attrs if (table, a.key) not in IGNORED]
        if op == "insert":
            after = {k: safe(k, values.get(k)) for k in columns}
        elif op == "delete":
            before = {k: safe(k, values[k]) for k in columns if k in values}
        else:
            before, after = {}, {}
            for k in columns:
                history = state.attrs[k].history
                if not history.has_changes():
                    continue
                before[k] = safe(k, history.deleted[0]) if history.deleted else None
                after[k] = safe(k, history.added[0]) if history.added else None
            if not after:
                return
        if org is not None:
            self.row_orgs.add(str(org))
        self._merge(table, ident, op, before, after)

    def _merge(
        self,
        table: str,
        ident: str,
        op: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        # A row flushed several times in one transaction is one change: first before, last after.
        key = (table, ident)
        seen = self.rows.get(key)
        if seen is None:
            self.rows[key] = {
                "table": table,
                "id": ident,
                "op": op,
                "before": before,
                "after": after,
            }
        elif op == "delete" and seen["op"] == "insert":
            del self.rows[key]
        elif op == "delete":
            seen.update(
                op="delete", before={**(before or {}), **(seen["before"] or {})}, after=None
            )
        else:
            for k, v in (before or {}).items():
                if seen["before"] is not None:
                    seen["before"].setdefault(k, v)
            seen["after"] = {**(seen["after"] or {}), **(after or {})}

    def note_statement(
        self, statement: object, params: list[dict[str, Any]], rowcount: int
    ) -> None:
        """Record a core INSERT/UPDATE/DELETE (one not made from ORM objects) by its table."""
        target = statement_target(statement)
        if target is None or target[0] in UNAUDITED:
            return
        table, op = target
        ids: list[Any] = []
        orgs: list[Any] = []
        count = rowcount
        if op == "insert":
            if len(params) == 1 and isinstance(params[0].get("id"), list):
                # PostgreSQL's unnest: one array per column.
                ids, orgs = params[0]["id"], params[0].get("org_id") or []
            else:
                ids = [p.get("id") for p in params]
                orgs = [p.get("org_id") for p in params]
            count = len(ids)
        self.summaries.setdefault((table, op), Summary()).add(max(count, 0), ids, orgs)

    def orgs(self) -> set[str]:
        """Every org whose rows changed."""
        out = set(self.row_orgs)
        for s in self.summaries.values():
            out |= s.orgs
        return out

    def target(self) -> str | None:
        """The first thing changed, `table:id` (or the table of a summarised change)."""
        for row in self.rows.values():
            return f"{row['table']}:{row['id']}"
        for table, _ in self.summaries:
            return table
        return None

    def entries(self) -> list[dict[str, Any]]:
        """The changes as the audit entry stores them."""
        out = list(self.rows.values())
        for (table, op), s in self.summaries.items():
            out.append(
                {
                    "table": table,
                    "op": op,
                    "count": s.count,
                    "first_id": s.first_id,
                    "last_id": s.last_id,
                    "orgs": sorted(s.orgs),
                }
            )
        return out


def statement_target(statement: object) -> tuple[str, str] | None:
    """(table, insert|update|delete) of a DML statement; None for anything else."""
    if isinstance(statement, Insert | Update | Delete):
        table = getattr(statement.table, "name", None)
        op = (
            "insert"
            if isinstance(statement, Insert)
            else "update"
            if isinstance(statement, Update)
            else "delete"
        )
        return (table, op) if isinstance(table, str) else None
    if isinstance(statement, TextClause):
        m = _TEXT_DML.match(statement.text)
        if m:
            return m.group(2).lower(), _TEXT_OPS[m.group(1).split()[0].upper()]
    return None
