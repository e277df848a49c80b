"""What people open after a run: township workbooks, the city summary, the index, and their figures.

``write_reports`` reads the run's data files, writes everything under ``reports/<run_date>/`` and
returns a ``ReportsResult`` whose plain values the flow turns into Prefect artifacts.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.eligibility.rules import RuleSet
from pipeline.reports import history
from pipeline.reports.prepare import prepare
from pipeline.reports.summary import (
    county_rule_table,
    mask_id,
    summary_context,
    township_rule_table,
    write_index_html,
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
    VERDICTS,
    TownshipBook,
    file_name,
    folder_name,
    rule_rows,
    write_workbook,
)

__all__ = [
    "COLUMNS",
    "FILL_IN",
    "SHEET_HELP",
    "SHEET_LIST",
    "SHEET_RULES",
    "UNRESOLVED_TOWNSHIP",
    "VERDICTS",
    "ReportsResult",
    "TownshipBook",
    "mask_id",
    "write_reports",
    "write_township_books",
]

log = logging.getLogger(__name__)

TOWNSHIPS = "townships"


@dataclass(frozen=True)
class ReportsResult:
    run_dir: Path
    books: list[TownshipBook]
    context: dict[str, Any]  # the summary page's values
    county_rule: list[dict[str, Any]]  # warnings by county and rule, for the artifact table


def write_township_books(
    prepared: pd.DataFrame, out: Path, run_date: date, rules_table: list[list[str]]
) -> list[TownshipBook]:
    """One workbook per (county, township) present in ``prepared`` (from ``prepare``)."""
    books = []
    for (county_code, township_code), rows in prepared.groupby(["county_code", "township_code"], sort=True):
        county, township = rows["county"].iloc[0], rows["township"].iloc[0]
        rel = Path(folder_name(str(county_code), county)) / file_name(str(township_code), township)
        write_workbook(out / rel, rows, (county, township), run_date, rules_table)
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
    return books


def write_reports(
    run_dir: Path,
    warnings_file: Path,
    state: Path,
    run_date: date,
    rules: RuleSet,
    source_labels: dict[str, str],
    whole_run: bool,
) -> ReportsResult:
    """Township workbooks, summary.html/.xlsx and index.html from ``warnings_file`` and the run's
    other summaries under ``run_dir``; then the history in ``state``."""
    data = run_dir / "data"
    warnings = pd.read_parquet(warnings_file)
    households = pd.read_parquet(data / "households.parquet", columns=["household_key", "household_size"])
    persons = pd.read_parquet(data / "persons.parquet", columns=["person_id", "id_number", "name"])
    rules_summary = json.loads((data / "rules_summary.json").read_text(encoding="utf-8"))
    quality = json.loads((run_dir / "data_quality" / "summary.json").read_text(encoding="utf-8"))
    match_file = data / "match_summary.json"
    match = json.loads(match_file.read_text(encoding="utf-8")) if match_file.exists() else {}
    match.pop("model", None)

    warnings = history.annotate(state, warnings, run_date)
    prepared = prepare(warnings, households, persons)
    books = write_township_books(
        prepared, run_dir / TOWNSHIPS, run_date, rule_rows(rules, rules_summary, source_labels)
    )
    trend = history.trend(state, prepared, run_date, whole_run)
    context = summary_context(prepared, books, rules_summary, quality, match, trend, run_date, whole_run)
    write_summary_html(run_dir / "summary.html", context)
    rule_ids = [r["id"] for r in rules_summary.get("rules", [])]
    by_township = township_rule_table(prepared, rule_ids)
    write_summary_xlsx(run_dir / "summary.xlsx", by_township, rules_summary.get("rules", []), run_date)
    extra = [
        ("乡镇×规则统计表", "summary.xlsx"),
        ("数据质量汇总", "data_quality/summary.xlsx"),
        ("待复核的疑似同一人", "review/match_review.xlsx"),
    ]
    write_index_html(run_dir / "index.html", context, books, [(k, v) for k, v in extra if (run_dir / v).exists()])
    history.record(state, prepared, run_date, whole_run)  # last: state changes only when all is written
    log.info("reports: %d workbooks, %d warnings", len(books), len(prepared))
    by_county = county_rule_table(by_township, rule_ids)
    county_rule = [
        {"区县": r["county"], **{k: int(r[k]) for k in [*rule_ids, "合计"]}} for r in by_county.to_dict("records")
    ]
    return ReportsResult(run_dir, books, context, county_rule)
