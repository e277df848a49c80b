"""What a run shows in the Prefect UI, as plain values (the flow turns them into artifacts).

Kept here, Prefect-free, so the text is tested like any other output. Counts only: no names, no IDs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipeline.contracts import INDEX_HTML, SUMMARY_HTML, TOWNSHIPS

ARTIFACT_KEYS = {
    "table": "warnings-by-county-and-rule",
    "markdown": "run-summary",
    "summary": "summary-page",
    "index": "workbook-index",
}


def markdown_summary(context: dict[str, Any], run_dir: Path) -> str:
    """A short Markdown report of the run: totals, rules, sources with problems, where the files are."""
    k = context["kpi"]
    lines = [
        f"# 社会救助主动发现 {context['run_date']}",
        "",
        f"- 预警 **{k['warnings']:,}** 条(新增 {k['new']:,}),涉及 {k['households']:,} 户,"
        f"{k['townships']:,} 个乡镇(街道);未确定乡镇 {k['unresolved']:,} 条",
        f"- 比对记录 {k['records']:,} 条,识别人员 {k['persons']:,} 人,"
        f"待人工复核 {k['review_questions']:,} 个问题",
    ]
    if not context["whole_run"]:
        lines.append("- 部分运行(部分区县或规则),不计入趋势")
    total = (context.get("cases") or {}).get("total")
    if total:
        median = "—" if total["median_days"] is None else f"{total['median_days']} 天"
        lines.append(
            f"- 核查反馈:已下发 {total['warned']:,},"
            f"已反馈 {total['answered']:,}({total['answered_pct']:.0f}%),"
            f"符合 {total['eligible']:,},已纳入 {total['done']:,},名册已见 {total['verified']:,},"
            f"超期 {total['overdue']:,};反馈用时中位数 {median}"
        )
    lines += ["", "| 规则 | 名称 | 预警 | 状态 |", "|---|---|---:|---|"]
    for r in context["rules"]:
        status = "已跳过:缺少 " + "、".join(r["missing_sources"]) if r["status"] == "skipped" else "已运行"
        lines.append(f"| {r['id']} | {r['name']} | {r['count']:,} | {status} |")
    bad = [s for s in context["sources"] if s["status"] != "ok" or s["rejected"]]
    if bad:
        lines += ["", "| 数据源 | 状态 | 读取 | 拒绝 | 说明 |", "|---|---|---:|---:|---|"]
        for s in bad:
            note = s["error"] or ";".join(f"{r}({n})" for r, n in s["reasons"])
            lines.append(f"| {s['label']} | {s['status']} | {s['read']:,} | {s['rejected']:,} | {note} |")
    lines += [
        "",
        f"- 汇总页: `{SUMMARY_HTML.at(run_dir)}`",
        f"- 名单下载页: `{INDEX_HTML.at(run_dir)}`",
        f"- 乡镇名单: `{TOWNSHIPS.at(run_dir)}` ({len(context['townships'])} 个工作簿)",
    ]
    return "\n".join(lines)


def report_link(run_dir: Path, out: Path, name: str, base_url: str | None = None) -> str:
    """Where a browser finds ``run_dir/name``: under AD_REPORTS_URL when the reports folder ``out``
    (--out) is served over http (a browser will not follow a file:// link from the Prefect UI's
    page), else a file:// URI."""
    base = base_url if base_url is not None else os.environ.get("AD_REPORTS_URL")
    if base:
        return base.rstrip("/") + "/" + (run_dir / name).relative_to(out).as_posix()
    return (run_dir / name).resolve().as_uri()
