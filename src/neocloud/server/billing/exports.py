"""Invoices as files: one invoice's document (JSON, CSV, HTML), a period's FOCUS and usage CSV."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.billing.document import BillingDocument
from neocloud.billing.focus import Row, credit_note_rows, focus_rows, to_csv
from neocloud.billing.invoice import InvoiceStatus
from neocloud.billing.periods import month_bounds
from neocloud.billing.render import CSV_COLUMNS, InvoiceView, render_csv, render_html, render_json
from neocloud.domain.tenancy import Permission
from neocloud.exports.focus_files import write_parquet
from neocloud.schemas.invoice_documents import DOCUMENT_FORMATS, FOCUS_FORMATS
from neocloud.server.billing.credit_notes import notes_of, pure_note
from neocloud.server.billing.invoice_documents import document_of, view_of
from neocloud.server.billing.invoice_status import visible_invoice
from neocloud.server.http.auth import Principal
from neocloud.server.http.errors import invalid
from neocloud.server.http.files import File
from neocloud.server.http.org_failures import Loop, per_org
from neocloud.server.tenancy.service import resolve_org
from neocloud.store.models import InvoiceRow, OrgRow

USAGE_COLUMNS = ("invoice_number", "org", *CSV_COLUMNS)
# Only numbered, standing invoices are exported: a draft may still change, a void one is gone.
EXPORTED = (InvoiceStatus.FINALIZED.value, InvoiceStatus.PAID.value)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def issued(s: Session, row: InvoiceRow) -> tuple[BillingDocument, InvoiceView]:
    """The invoice as issued: its document and a view whose amount due is total − credits.

    A credit note lowers what is still due on the row, but never rewrites the invoice; it is
    its own document. So every file shows the invoice as it was issued, with its current status.
    """
    doc = document_of(s, row)
    view = view_of(s, row)
    return doc, replace(view, amount_due=doc.total - view.credits_applied)


def document(s: Session, p: Principal, invoice_id: str, fmt: str) -> File:
    """One invoice rendered as json, csv or html (billing roles of its org, or the operator)."""
    p.require(Permission.READ_BILLING)
    if fmt not in DOCUMENT_FORMATS:
        raise invalid("format", f"unknown format {fmt!r}; one of {', '.join(DOCUMENT_FORMATS)}")
    row = visible_invoice(s, p, invoice_id)
    doc, view = issued(s, row)
    name = _safe(row.number or row.id)
    if fmt == "json":
        return File(render_json(doc, view), "application/json", f"{name}.json", False)
    if fmt == "csv":
        return File(render_csv(doc, view), "text/csv; charset=utf-8", f"{name}.csv")
    return File(render_html(doc, view), "text/html; charset=utf-8", f"{name}.html", False)


def _period_invoices(
    s: Session, p: Principal, period: str, org_ident: str | None
) -> tuple[list[InvoiceRow], dict[str, str], str]:
    """Exported invoices of a period the caller may see, org names by id, and a file stem."""
    p.require(Permission.READ_BILLING)
    try:
        month_bounds(period)
    except ValueError as exc:
        raise invalid("period", str(exc)) from exc
    stmt = select(InvoiceRow).where(InvoiceRow.period == period, InvoiceRow.status.in_(EXPORTED))
    stem = period
    if org_ident:
        org = resolve_org(s, p, org_ident)
        stmt = stmt.where(InvoiceRow.org_id == org.id)
        stem = f"{period}-{_safe(org.name)}"
    elif not p.is_operator:
        stmt = stmt.where(InvoiceRow.org_id == p.org_id)
    rows = list(s.scalars(stmt).all())
    names = {o.id: o.name for o in s.scalars(select(OrgRow)).all()}
    rows.sort(key=lambda r: (names.get(r.org_id, r.org_id), r.number or "", r.id))
    return rows, names, stem


def focus(s: Session, p: Principal, period: str, org_ident: str | None, fmt: str) -> File:
    """FOCUS 1.2 rows of every exported invoice of a period, as CSV or Parquet."""
    if fmt not in FOCUS_FORMATS:
        raise invalid("format", f"unknown format {fmt!r}; one of {', '.join(FOCUS_FORMATS)}")
    rows, names, stem = _period_invoices(s, p, period, org_ident)
    out: list[Row] = []
    failed: list[str] = []
    for org_id, invoices in _by_org(rows):
        with per_org(Loop.EXPORTS, org_id, names.get(org_id), s, answer=bool(org_ident)) as one:
            mine: list[Row] = []
            for row in invoices:
                doc, view = issued(s, row)
                mine += focus_rows(doc, view)
                # Credit notes correct the invoice in the same file: Σ BilledCost is what is owed.
                for note in notes_of(s, row.id):
                    mine += credit_note_rows(doc, view, note.number, pure_note(s, note))
            out += mine
        if one.failure is not None:
            failed.append(org_id)
    if fmt == "csv":
        return File(to_csv(out), "text/csv; charset=utf-8", f"focus-{stem}.csv", True, (*failed,))
    with tempfile.TemporaryDirectory() as tmp:
        data = write_parquet(out, Path(tmp) / "focus.parquet").read_bytes()
    name = f"focus-{stem}.parquet"
    return File(data, "application/vnd.apache.parquet", name, True, (*failed,))


def usage_csv(s: Session, p: Principal, period: str, org_ident: str | None) -> File:
    """One row per line of every exported invoice of a period: the invoice CSV, number and org."""
    rows, names, stem = _period_invoices(s, p, period, org_ident)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=USAGE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    failed: list[str] = []
    for org_id, invoices in _by_org(rows):
        name = names.get(org_id, org_id)
        with per_org(Loop.EXPORTS, org_id, name, s, answer=bool(org_ident)) as one:
            # Reuse the invoice CSV's cells as they are, so both files agree to the digit.
            lines = [
                {"invoice_number": row.number, "org": name, **line}
                for row in invoices
                for line in csv.DictReader(io.StringIO(render_csv(*issued(s, row))))
            ]
            writer.writerows(lines)
        if one.failure is not None:
            failed.append(org_id)
    return File(out.getvalue(), "text/csv; charset=utf-8", f"usage-{stem}.csv", True, (*failed,))


def _by_org(rows: list[InvoiceRow]) -> list[tuple[str, list[InvoiceRow]]]:
    """Invoices grouped by org, in the order given (sorted by org name already)."""
    groups: dict[str, list[InvoiceRow]] = {}
    for row in rows:
        groups.setdefault(row.org_id, []).append(row)
    return list(groups.items())


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name)
