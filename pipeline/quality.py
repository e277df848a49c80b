"""Data-quality outputs read by analysts: rejected rows per source and the quality summary."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import schema as S
from pipeline.cells import neutralise
from pipeline.contracts import QualitySummary
from pipeline.eligibility.warnings import row_list
from pipeline.normalize.common import map_distinct
from pipeline.sources import SourceSpec
from pipeline.validate import FLAG, REJECT, CheckOutcome

_REJECT_HEADERS = ("文件", "行号", "原因")
_MAX_WIDTH = 40


def _width(values: pd.Series, header: str) -> int:
    lengths = [len(str(v)) for v in values.head(200) if v is not None and v == v]
    longest = max([len(header), *lengths])
    return min(_MAX_WIDTH, longest * 2 + 2)  # CJK characters are two columns wide


@dataclass(frozen=True)
class RowsAsSent:
    """A workbook of rows as a department sent them, ready to write (see ``write_rows_as_sent``):
    made where the raw rows are at hand, written anywhere (a worker process on a large night)."""

    path: Path
    sheet: str
    headers: list[str]
    columns: list[str]
    table: pd.DataFrame
    empty_text: str

    @property
    def lines(self) -> int:
        return len(self.table)


def rejected_rows(path: Path, spec: SourceSpec, rejected: pd.DataFrame, raw: pd.DataFrame) -> RowsAsSent:
    """One workbook of a source's rejected rows: file, row, reason, then the row as it was sent.

    Every cell is written as text so an ID is shown exactly as the department sent it.
    """
    return _rows_as_sent(path, spec, rejected, raw, "被拒绝的行", _REJECT_HEADERS, "本数据源没有被拒绝的行")


def flagged_rows(path: Path, spec: SourceSpec, accepted: pd.DataFrame, raw: pd.DataFrame) -> RowsAsSent:
    """问题数据反馈清单: one line per problem flagged on a kept row (file, row, problem, then the row
    as sent), for the bureau to send back to the department that made the errors: as many lines
    as the flags counted in the quality summary."""
    flags = accepted[[S.FILE, S.ROW, S.FLAGS]].dropna(subset=[S.FLAGS])
    lines = flags.assign(reason=flags[S.FLAGS].str.split("; ")).explode("reason")
    return _rows_as_sent(
        path, spec, lines, raw, "问题数据反馈清单", ("文件", "行号", "问题"), "本数据源没有标记问题的行"
    )


def _rows_as_sent(
    path: Path,
    spec: SourceSpec,
    rows: pd.DataFrame,
    raw: pd.DataFrame,
    sheet: str,
    first_headers: tuple[str, str, str],
    empty_text: str,
) -> RowsAsSent:
    """File, row and a reason per line, then the row as the department sent it (all text, and any
    text a spreadsheet would run as a formula neutralised)."""
    fields = [f for f in spec.fields if f.name in raw.columns]
    columns = [S.FILE, S.ROW, "reason", *(f.name for f in fields)]
    table = rows[[S.FILE, S.ROW, "reason"]].merge(raw, on=[S.FILE, S.ROW], how="left")
    table = table.sort_values([S.FILE, S.ROW], kind="stable")[columns].reset_index(drop=True)
    headers = [*first_headers, *(f.standard_header for f in fields)]
    return RowsAsSent(path, sheet, headers, columns, table, empty_text)


def write_rows_as_sent(job: RowsAsSent) -> None:
    import xlsxwriter

    table, headers, columns = job.table, job.headers, job.columns
    job.path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(job.path), {"constant_memory": True, "strings_to_numbers": False})
    try:
        ws = wb.add_worksheet(job.sheet)
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        text = wb.add_format({"num_format": "@"})
        for j, (h, c) in enumerate(zip(headers, columns, strict=True)):
            ws.write_string(0, j, h, head)
            ws.set_column(j, j, _width(table[c], h) if len(table) else len(h) * 2 + 2, text)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(table), 1), len(headers) - 1)
        # Each column made text once per distinct value (values repeat), then written cell by cell.
        cells = [
            table[c].astype("int64").tolist()
            if c == S.ROW
            else map_distinct(table[c].astype(object), lambda v: neutralise(str(v))).tolist()
            for c in columns
        ]
        # Row by row: constant_memory mode flushes each row once the next one starts.
        for i, row in enumerate(zip(*cells, strict=True), start=1):
            for j, v in enumerate(row):
                if j == 1:
                    ws.write_number(i, j, v)
                elif isinstance(v, str):
                    ws.write_string(i, j, v)
        if not len(table):
            ws.write_string(1, 0, job.empty_text)
    finally:
        wb.close()


_STATUS_ZH = {"ok": "正常", "partial": "部分文件未读取", "failed": "失败(未使用)", "missing": "未提供"}


def write_summary_xlsx(path: Path, summary: QualitySummary) -> None:
    """The per-source quality summary in Chinese, one row per known source."""
    import xlsxwriter

    rows = []
    for key, s in summary.sources.items():
        rows.append(
            [
                s.label,
                key,
                _STATUS_ZH.get(s.status, s.status),
                len(s.files),
                s.rows_read,
                s.rejected,
                s.accepted,
                "; ".join(f"{k}({v})" for k, v in list(s.reasons.items())[:5]),
                "; ".join(f"{k}({v})" for k, v in list(s.flags.items())[:5]),
                s.error_zh or "",
            ]
        )
    headers = [
        "数据源",
        "代码",
        "状态",
        "文件数",
        "读取行数",
        "拒绝行数",
        "通过行数",
        "主要拒绝原因",
        "主要标记问题",
        "错误说明",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    try:
        ws = wb.add_worksheet("数据质量汇总")
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        ws.write_string(0, 0, f"数据质量汇总(运行日期 {summary.run_date})", wb.add_format({"bold": True}))
        for j, h in enumerate(headers):
            ws.write_string(1, j, h, head)
        for i, r in enumerate(rows, start=2):
            for j, v in enumerate(r):
                if isinstance(v, int):
                    ws.write_number(i, j, v)
                else:  # reasons quote file names and values a department sent
                    ws.write_string(i, j, neutralise(str(v)), wrap)
        ws.set_column(0, 0, 18)
        ws.set_column(1, 6, 10)
        ws.set_column(7, 9, 45)
        ws.freeze_panes(2, 0)
        if summary.unknown_folders:
            ws.write_string(
                len(rows) + 3, 0, neutralise("未识别的文件夹(已跳过):" + "、".join(summary.unknown_folders))
            )
    finally:
        wb.close()


# --- the quality page (data_quality/index.html) -------------------------------------------------


def flag_kinds(accepted: pd.DataFrame) -> pd.Series:
    """Each flag on the kept rows, by kind (``"残疾证号与其他列不一致: 残疾等级"`` counts as
    ``残疾证号与其他列不一致``), one entry per flag, indexed by the row it is on."""
    return accepted[S.FLAGS].dropna().str.split("; ").explode().str.split(":").str[0]


def source_checks(
    checks: list[CheckOutcome], unsplit: pd.DataFrame, accepted: pd.DataFrame, kinds: pd.Series
) -> list[CheckOutcome]:
    """Everything the quality page lists for one source: rows set aside while reading (their
    reason), the validation checks that failed, then the flags raised while normalizing that no
    check already lists (one entry per kind of flag, ``kinds`` from ``flag_kinds``)."""
    out = [
        CheckOutcome.of(str(reason), REJECT, group, group.index)
        for reason, group in unsplit.groupby("reason", sort=False)
    ]
    out += checks
    listed = {c.reason for c in checks}
    for kind, rows in kinds.groupby(kinds, sort=False):
        if kind in listed:  # a value blanked by a check: already listed with it
            continue
        out.append(CheckOutcome.of(str(kind), FLAG, accepted, rows.index.unique()))
    return out


def where_text(c: CheckOutcome) -> str:
    """``文件 第12–15、88行;文件2 第3行``, and how many more when only the first are kept."""
    parts = [f"{f} 第{row_list(sorted(rows))}行" for f, rows in c.where.items()]
    shown = sum(len(r) for r in c.where.values())
    more = f" 等,共 {c.rows:,} 行" if c.rows > shown else ""
    return ";".join(parts) + more


def write_quality_page(path: Path, context: dict[str, Any]) -> None:
    """The data steward's quality page in Chinese: per source, its files and every check that rows
    failed, with what was done and the file rows (1-based, as the department counts them). Plain
    HTML with its style inline: it opens on an offline network, unlike GX's Data Docs."""
    from pipeline.reports.summary import render_page

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page("quality.html.j2", context), encoding="utf-8")


def quality_context(
    report: QualitySummary, checks: dict[str, list[CheckOutcome]], run_date: date
) -> dict[str, Any]:
    """What the quality page shows: per source its files (rows read, accepted, set aside) and every
    check some rows failed, with the action taken and the file rows; links to the workbooks that
    list every such row (relative to the page, both in data_quality/)."""
    from pipeline.contracts import FLAGGED, QUALITY_HTML, QUALITY_XLSX, REJECTED

    here = QUALITY_HTML.at(Path("/run")).parent

    def link(output: Any, key: str | None = None) -> str:
        target = output.at(Path("/run"), key) if key else output.at(Path("/run"))
        return os.path.relpath(target, here)

    sources = []
    for key, e in report.sources.items():
        sources.append(
            {
                "key": key,
                "label": e.label,
                "status": e.status,
                "status_zh": _STATUS_ZH.get(e.status, e.status),
                "error": e.error_zh or e.error,
                "read": e.rows_read,
                "accepted": e.accepted,
                "rejected": e.rejected,
                "flagged": sum(e.flags.values()),
                "files": [
                    {
                        "path": f.path,
                        "rows": f.rows + f.rejected_rows,
                        "accepted": f.accepted,
                        "set_aside": sum(f.quarantined.values()),
                    }
                    for f in e.files
                ],
                "checks": [
                    {"reason": c.reason, "action": c.action, "rows": c.rows, "where": where_text(c)}
                    for c in checks.get(key, [])
                ],
                "rejected_book": link(REJECTED, key) if e.used else None,
                "flagged_book": link(FLAGGED, key) if e.used else None,
            }
        )
    return {
        "run_date": run_date.isoformat(),
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "sources": sources,
        "summary_xlsx": link(QUALITY_XLSX),
        "reject": REJECT,
    }
