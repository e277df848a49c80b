"""What people open after a run: township workbooks, the city summary, the index, and their figures.

``write_reports`` reads the run's data files, writes everything under ``reports/<run_date>/`` and
returns a ``ReportsResult`` whose plain values the flow turns into Prefect artifacts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.cases.config import CaseRules
from pipeline.cases.night import mark_published
from pipeline.cases.store import Origin
from pipeline.contracts import (
    FEEDBACK_RESULT,
    INDEX_HTML,
    QUALITY_HTML,
    QUALITY_XLSX,
    REVIEW_BOOK,
    STEWARD_HTML,
    SUMMARY_HTML,
    SUMMARY_XLSX,
    TOWNSHIPS,
    MatchSummary,
    QualitySummary,
    RulesSummary,
)
from pipeline.eligibility.rules import RuleSet
from pipeline.memo import Memo, code_fingerprint, digest
from pipeline.normalize.places import Township
from pipeline.parallel import run_each
from pipeline.reports import history
from pipeline.reports.prepare import prepare, prepare_revisits
from pipeline.reports.summary import (
    cases_context,
    county_rule_table,
    mask_id,
    summary_context,
    township_rule_table,
    write_index_html,
    write_steward_html,
    write_summary_html,
    write_summary_xlsx,
)
from pipeline.reports.workbook import (
    COLUMNS,
    FILL_IN,
    SHEET_HELP,
    SHEET_LIST,
    SHEET_RULES,
    UNRESOLVED_TOWNSHIP,
    Choices,
    TownshipBook,
    file_name,
    folder_name,
    rule_rows,
    write_workbook,
)
from pipeline.state import StateStore

__all__ = [
    "COLUMNS",
    "FILL_IN",
    "SHEET_HELP",
    "SHEET_LIST",
    "SHEET_RULES",
    "UNRESOLVED_TOWNSHIP",
    "Choices",
    "ReportInputs",
    "ReportsResult",
    "TownshipBook",
    "mask_id",
    "write_reports",
    "plan_township_books",
    "write_books",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportsResult:
    run_dir: Path
    books: list[TownshipBook]
    context: dict[str, Any]  # the summary page's values
    county_rule: list[dict[str, Any]]  # warnings by county and rule, for the artifact table


def plan_township_books(
    prepared: pd.DataFrame,
    out: Path,
    run_date: date,
    rules_table: list[list[str]],
    choices: Choices,
    townships_of: dict[str, list[str]] | None = None,
    revisits: pd.DataFrame | None = None,
    memo: Memo | None = None,
) -> tuple[list[TownshipBook], list[_BookJob]]:
    """One workbook per (county, township) with a warning or a revisit due in ``prepared`` or
    ``revisits`` (both from ``prepare``): what each will list, and the jobs that write them.

    A county's warnings without a township go to its own 未确定乡镇 list, named with the county
    (``<county_code>000_<county>未确定乡镇.xlsx``, so downloads from several counties never collide),
    with a 应属乡镇 dropdown of ``townships_of[county_code]`` for the county to route each row.
    """
    keys = ["county_code", "township_code"]
    jobs: list[_BookJob] = []
    salt = code_fingerprint(WORKBOOK_CODE) if memo is not None else ""
    due = revisits if revisits is not None else prepared.iloc[:0]
    places = pd.concat([prepared[[*keys, "county", "township"]], due[[*keys, "county", "township"]]])
    places = places.drop_duplicates(keys).sort_values(keys)
    warned = dict(list(prepared.groupby(keys, sort=False)))
    visits = dict(list(due.groupby(keys, sort=False)))
    books = []
    for county_code, township_code, county, township in places.itertuples(index=False):
        rows = warned.get((county_code, township_code), prepared.iloc[:0])
        route_to: list[str] = []
        if township_code == UNRESOLVED_TOWNSHIP[0]:
            code = f"{county_code}000"
            name = file_name(code, f"{county}{township}")
            route_to = (townships_of or {}).get(str(county_code), [])
        else:
            code = str(township_code)
            name = file_name(code, township)
        rel = Path(folder_name(str(county_code), county)) / name
        job = _BookJob(
            out / rel,
            rows,
            (county, township, code),
            run_date,
            rules_table,
            choices,
            visits.get((county_code, township_code)),
            route_to,
        )
        jobs.append(job if memo is None else replace(job, memo=memo, salt=salt))
        books.append(
            TownshipBook(
                county_code=str(county_code),
                county=county,
                township_code=str(township_code),
                township=township,
                path=rel,
                warnings=len(rows),
                households=int(rows["household_key"].nunique()),
                new=int((rows[history.STATUS] == history.NEW).sum()),
            )
        )
    return books, jobs


def write_books(jobs: list[_BookJob]) -> None:
    """Write (or take from the memo) the planned workbooks. They are independent: on a large
    night, written by worker processes."""
    rows = sum(len(j.rows) + (0 if j.revisits is None else len(j.revisits)) for j in jobs)
    for _ in run_each(_write_book, jobs, rows, min_rows=BOOKS_IN_WORKERS):
        pass


#: Warnings from which the workbooks are written in worker processes (about 0.4 ms of xlsxwriter
#: each, so the pool's start-up pays back from a few thousand).
BOOKS_IN_WORKERS = 5_000


@dataclass(frozen=True)
class _BookJob:
    path: Path
    rows: pd.DataFrame
    place: tuple[str, str, str]
    run_date: date
    rules_table: list[list[str]]
    choices: Choices
    revisits: pd.DataFrame | None
    route_to: list[str]
    memo: Memo | None = None
    salt: str = ""  # the workbook code's fingerprint, part of the memo key (``_book_key``)

    def write(self) -> None:
        write_workbook(
            self.path,
            self.rows,
            self.place,
            self.run_date,
            self.rules_table,
            self.choices,
            self.revisits,
            self.route_to,
        )


#: The code a township workbook's content comes from (part of its memo key).
WORKBOOK_CODE = ("pipeline/reports", "pipeline/cells.py")


def _frame_digest(frame: pd.DataFrame | None) -> str:
    if frame is None:
        return "-"
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return digest(",".join(map(str, frame.columns)), ",".join(map(str, frame.dtypes)), rows.tobytes().hex())


def _book_key(salt: str, job: _BookJob) -> str | None:
    """Everything a township workbook is made of: its rows, revisits, place, run date, rules table
    and answers. None when a value cannot be hashed (the workbook is then simply written)."""
    try:
        rows, visits = _frame_digest(job.rows), _frame_digest(job.revisits)
    except TypeError:
        return None
    table = json.dumps(job.rules_table, ensure_ascii=False, default=str)
    return digest(
        salt,
        job.path.name,
        repr(job.place),
        job.run_date.isoformat(),
        table,
        repr(job.choices),
        json.dumps(job.route_to, ensure_ascii=False),
        rows,
        visits,
    )


def _write_book(job: _BookJob) -> None:
    """Write one township's workbook, or take it from the memo when a night (a re-run of the same
    date after a late file) made exactly this workbook before: only the townships the change
    reaches are written again."""
    # The key hashes the rows: worked out here, by the worker that writes the workbook.
    key = None if job.memo is None else _book_key(job.salt, job)
    if job.memo is not None and key is not None and job.memo.has(key, (".xlsx",)):
        job.path.parent.mkdir(parents=True, exist_ok=True)
        job.memo.load_file(key, ".xlsx", job.path)
        return
    job.write()
    if job.memo is not None and key is not None:
        job.memo.save_file(key, ".xlsx", job.path)


@dataclass(frozen=True)
class ReportInputs:
    """What the reports are made of: the rules stage's warnings and the run's other outputs."""

    warnings: pd.DataFrame  # tonight's warnings to send, with their case (data/cases.parquet)
    revisits: pd.DataFrame  # the revisits due (data/revisits.parquet)
    households: pd.DataFrame  # household_key, household_size
    persons: pd.DataFrame  # person_id, id_number, name
    rules_summary: RulesSummary
    quality: QualitySummary
    match: MatchSummary


def write_reports(
    run_dir: Path,
    inputs: ReportInputs,
    state: StateStore,
    run_date: date,
    rules: RuleSet,
    source_labels: dict[str, str],
    whole_run: bool,
    places: Sequence[Township],
    case_rules: CaseRules,
    passwords: dict[str, str] | None = None,
    memo: Memo | None = None,
) -> ReportsResult:
    """Township workbooks, summary.html/.xlsx, steward.html and index.html under ``run_dir``; then
    the trend and the cases' publication (新预警 → 已下发) in ``state``. ``places``: the townships the
    run covers (every one is listed on the summary, 0 included; a county's are the 未确定乡镇 lists'
    routing dropdown)."""
    townships_of: dict[str, list[str]] = {}
    names: dict[str, tuple[str, str]] = {}
    for t in places:
        townships_of.setdefault(t.county_code, []).append(t.name)
        names[t.code] = (t.county, t.name)
    rules_summary = inputs.rules_summary
    match = inputs.match.to_dict()
    match.pop("model", None)

    warnings = history.mark_new(inputs.warnings, run_date)
    prepared = prepare(warnings, inputs.households, inputs.persons)
    revisits = prepare_revisits(inputs.revisits, names, {r.id: r.name for r in rules.rules})
    choices = Choices.of(rules, case_rules)
    books, jobs = plan_township_books(
        prepared,
        TOWNSHIPS.at(run_dir),
        run_date,
        rule_rows(rules, rules_summary, source_labels),
        choices,
        townships_of,
        revisits,
        memo,
    )
    # The workbooks are written (by worker processes on a large night) while this process makes
    # the summary pages, which need only what each workbook lists, not the files (nor the folders
    # the workbooks' writers make: the pages' own are made here).
    for page in (SUMMARY_HTML, STEWARD_HTML, SUMMARY_XLSX, INDEX_HTML):
        page.at(run_dir).parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="township-books") as background:
        written = background.submit(write_books, jobs)
        store = state.cases()
        before = store.frame()
        after = mark_published(before, prepared["warning_id"], run_date)
        kept_trend = state.warning_trend()
        trend = history.trend(kept_trend, prepared, run_date, whole_run)
        seen = before[["warning_id", "first_seen", "last_seen"]]
        gone = history.gone_since_last_whole_run(seen, kept_trend, prepared, run_date)
        context = summary_context(
            prepared, books, rules_summary, inputs.quality, match, trend, run_date, whole_run, places, gone
        )
        context["cases"] = cases_context(after, rules, case_rules, run_date, places)
        # The steward's page (internal) links the internal files; the published index only published ones.
        internal = [
            ("数据质量明细", QUALITY_HTML.path),
            ("数据质量汇总", QUALITY_XLSX.path),
            ("待复核的疑似同一人", REVIEW_BOOK.path),
            ("反馈导入结果", FEEDBACK_RESULT.path),
        ]
        context["internal"] = [(k, v) for k, v in internal if (run_dir / v).exists()]
        write_summary_html(SUMMARY_HTML.at(run_dir), context)
        write_steward_html(STEWARD_HTML.at(run_dir), context)
        rule_ids = [r.id for r in rules_summary.rules]
        by_township = township_rule_table(prepared, rule_ids)
        write_summary_xlsx(SUMMARY_XLSX.at(run_dir), by_township, rules_summary.rules, run_date)
        write_index_html(
            INDEX_HTML.at(run_dir), context, books, [("乡镇×规则统计表", SUMMARY_XLSX.link_from(INDEX_HTML))]
        )
        written.result()  # raises what writing a workbook raised
    if passwords is not None:
        from pipeline.protect import encrypt_in_place

        for b in books:
            code = f"{b.county_code}000" if b.township_code == UNRESOLVED_TOWNSHIP[0] else b.township_code
            encrypt_in_place(TOWNSHIPS.at(run_dir) / b.path, passwords[code])
    # Last: the state changes only when every report file is written.
    with store.begin() as conn:
        store.save(conn, before, after, Origin(run_date=run_date))
    if whole_run:
        state.save_warning_trend(history.with_tonight(kept_trend, prepared, run_date))
    log.info("reports: %d workbooks, %d warnings", len(books), len(prepared))
    by_county = county_rule_table(by_township, rule_ids)
    county_rule = [
        {"区县": r["county"], **{k: int(r[k]) for k in [*rule_ids, "合计"]}}
        for r in by_county.to_dict("records")
    ]
    return ReportsResult(run_dir, books, context, county_rule)
