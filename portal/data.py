"""What the portal reads: the published workbooks of each night and the cases, within a scope.

Files are found by place code and night, never by a name from the request: the published folder's
layout (``<out>/<YYYY-MM-DD>/publish/townships/<county>_<名>/<code>_<名>.xlsx``) is read here and
nowhere else, so no URL can name a path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import and_, or_, select

from pipeline.cases.config import STATUS_CODES, CaseRules
from pipeline.cases.db import cases, feedback, imports
from pipeline.cases.store import CaseStore, records
from pipeline.contracts import INDEX_HTML, MANIFEST, SUMMARY_HTML, SUMMARY_XLSX, TOWNSHIPS
from portal.scope import UNPLACED

_RUN = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOOK = re.compile(r"(\d{9})_.+\.xlsx")
#: Statuses listed as 待办 on a township page (the rest are answered or closed).
OPEN = ("new", "sent", "overdue", "in_progress", "revisit_due")
assert set(OPEN) <= set(STATUS_CODES)


@dataclass(frozen=True)
class Book:
    run_date: date
    code: str  # township code, or county + 000 for its 未确定乡镇 list
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


_runs_cache: dict[Path, tuple[int, list[date]]] = {}
_books_cache: dict[Path, tuple[int, dict[str, Book]]] = {}


def published_runs(out: Path) -> list[date]:
    """The nights whose workbooks were published (completed or partial), newest first.

    Cached until the reports folder changes: a night is published by renaming its folder into
    it, and retention removes old ones, both of which change the folder's modification time."""
    try:
        stamp = out.stat().st_mtime_ns
    except FileNotFoundError:
        return []
    cached = _runs_cache.get(out)
    if cached is None or cached[0] != stamp:
        cached = (stamp, _published_runs(out))
        _runs_cache[out] = cached
    return cached[1]


def _published_runs(out: Path) -> list[date]:
    runs = []
    for d in out.iterdir() if out.is_dir() else ():
        if not (_RUN.fullmatch(d.name) and TOWNSHIPS.at(d).is_dir()):
            continue
        m = MANIFEST.at(d)
        outcome = json.loads(m.read_text(encoding="utf-8")).get("outcome") if m.exists() else None
        if outcome in ("completed", "partial"):
            runs.append(date.fromisoformat(d.name))
    return sorted(runs, reverse=True)


def books(out: Path, run_date: date) -> dict[str, Book]:
    """code -> workbook, of one night (a published night does not change: cached by folder)."""
    folder = TOWNSHIPS.at(out / run_date.isoformat())
    try:
        stamp = folder.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    cached = _books_cache.get(folder)
    if cached is None or cached[0] != stamp:
        found = {}
        for p in folder.glob("*/*.xlsx"):
            if m := _BOOK.fullmatch(p.name):
                found[m[1]] = Book(run_date, m[1], p)
        cached = (stamp, found)
        _books_cache[folder] = cached
    return cached[1]


def books_of(out: Path, code: str, limit: int = 12) -> list[Book]:
    """A place's workbooks, newest night first (tonight's and earlier ones)."""
    found = []
    for d in published_runs(out):
        b = books(out, d).get(code)
        if b is not None:
            found.append(b)
        if len(found) >= limit:
            break
    return found


def book(out: Path, run_date: date, code: str) -> Book | None:
    return books(out, run_date).get(code) if run_date in published_runs(out) else None


def summary_file(out: Path, run_date: date, name: str) -> Path | None:
    """A city-wide page of a night: ``summary.html``, ``summary.xlsx`` or ``index.html``."""
    output = {"summary.html": SUMMARY_HTML, "summary.xlsx": SUMMARY_XLSX, "index.html": INDEX_HTML}[name]
    p = output.at(out / run_date.isoformat())
    return p if run_date in published_runs(out) and p.is_file() else None


# --- cases ---------------------------------------------------------------------------------------


def in_book(code: str) -> Any:
    """The SQL condition for the cases listed in the workbook of ``code``."""
    c = cases.c
    if code.endswith(UNPLACED):
        return and_(c.township_code.is_(None), c.routed_township_code.is_(None), c.county_code == code[:6])
    return or_(
        c.routed_township_code == code, and_(c.routed_township_code.is_(None), c.township_code == code)
    )


#: What a township page lists of each case (a page is read far more often than a case changes:
#: only these columns, as plain rows, no DataFrame; 400 cases in about 10 ms).
LISTED = (
    "warning_id",
    "rule",
    "name",
    "id_number",
    "status",
    "sent_on",
    "answer",
    "answer_date",
    "verification",
    "county_code",
    "township_code",
    "routed_township_code",
)


def listed_cases(store: CaseStore, code: str) -> list[dict[str, Any]]:
    """The cases of the workbook of ``code``, as the township page lists them."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(*(cases.c[k] for k in LISTED)).where(in_book(code))).all()
    return [dict(zip(LISTED, r, strict=True)) for r in rows]


def county_cases(store: CaseStore, county: str) -> pd.DataFrame:
    return store.frame(where=cases.c.county_code == county)


def case(store: CaseStore, warning_id: str) -> dict[str, Any] | None:
    f = store.frame(ids=[warning_id])
    return None if f.empty else records(f)[0]


def due_date(row: dict[str, Any], cr: CaseRules) -> date | None:
    """The day an answer is due: publication + the feedback deadline (open cases only)."""
    sent = row.get("sent_on")
    if row.get("status") not in OPEN or not isinstance(sent, date):
        return None
    return sent + timedelta(days=cr.days["feedback_deadline"])


def case_rows(cases_: list[dict[str, Any]], cr: CaseRules, open_only: bool) -> list[dict[str, Any]]:
    """Cases as the pages list them: the open ones overdue first, then by due date, rule, id; the
    others latest answer first."""
    rows = []
    for r in cases_:
        if (r["status"] in OPEN) != open_only:
            continue
        r = dict(r)
        r["status_label"] = cr.label(str(r["status"]))
        r["due"] = due_date(r, cr)
        r["verification_label"] = cr.verification.get(str(r.get("verification") or ""), "")
        for k in ("sent_on", "due", "answer_date"):  # as the page shows them (no filter per cell)
            r[f"{k}_text"] = _day(r.get(k))
        rows.append(r)
    far = date.max
    if open_only:
        rows.sort(key=lambda r: (r["status"] != "overdue", r["due"] or far, r["rule"], r["warning_id"]))
    else:
        rows.sort(key=lambda r: (str(r.get("answer_date") or ""), r["warning_id"]), reverse=True)
    return rows


def _day(v: Any) -> str:
    return v.isoformat() if isinstance(v, date) else ""


def history(store: CaseStore, warning_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A case's audit rows (its changes) and the feedback rows received for it."""
    from pipeline.cases.db import audit

    with store.engine.connect() as conn:
        a = conn.execute(
            select(audit)
            .where(audit.c.warning_id == warning_id, audit.c.event == "change")
            .order_by(audit.c.id)
        ).mappings()
        changes = pd.DataFrame([dict(r) for r in a], columns=[c.name for c in audit.columns])
        f = conn.execute(
            select(feedback).where(feedback.c.warning_id == warning_id).order_by(feedback.c.id)
        ).mappings()
        received = pd.DataFrame([dict(r) for r in f], columns=[c.name for c in feedback.columns])
    return changes, received


def uploads(store: CaseStore, codes: list[str] | None, limit: int = 50) -> list[dict[str, Any]]:
    """Imported workbooks, newest first: of these place codes (a county code covers its townships
    and 未确定 list), or all (None)."""
    q = select(imports).order_by(imports.c.imported_at.desc()).limit(limit)
    if codes is not None:
        conds = [
            imports.c.township_code.like(f"{c}%") if len(c) == 6 else imports.c.township_code == c
            for c in codes
        ]
        if not conds:
            return []
        q = q.where(or_(*conds))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def an_import(store: CaseStore, sha: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One imported file and every row received from it (applied, unchanged or rejected)."""
    with store.engine.connect() as conn:
        head = conn.execute(select(imports).where(imports.c.sha256 == sha)).mappings().first()
        rows = conn.execute(
            select(feedback).where(feedback.c.file_sha256 == sha).order_by(feedback.c.sheet, feedback.c.row)
        ).mappings()
        return (dict(head) if head else None), [dict(r) for r in rows]


__all__ = ["OPEN", "Book", "book", "books_of", "case_rows", "listed_cases", "published_runs"]
