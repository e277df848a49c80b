"""The city's view of a run: summary.html (one self-contained page with charts), summary.xlsx
(township x rule) and index.html (every township workbook, by county, with its count).

Charts are plain HTML/CSS bars and one inline SVG line, drawn by the browser with its own fonts, so
the page needs no script, no network and no CJK font on the machine that writes it, and it prints.
No names and no full ID numbers appear here: IDs are masked as ``410822********123X``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.cases.config import NOT_SEEN, CaseRules
from pipeline.cases.store import records
from pipeline.cases.views import STEPS, funnel, funnel_cases, oldest_overdue, open_counts
from pipeline.cells import neutralise
from pipeline.contracts import (
    INDEX_HTML,
    STEWARD_HTML,
    SUMMARY_HTML,
    SUMMARY_XLSX,
    TOWNSHIPS,
    QualitySummary,
    RuleOutcome,
    RulesSummary,
)
from pipeline.eligibility.rules import CHANNELS, RuleSet
from pipeline.normalize.places import Township
from pipeline.reports.workbook import UNRESOLVED_TOWNSHIP, TownshipBook

#: One colour per rule, in rule order (colour-blind-safe Okabe-Ito, then greys).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999", "#666666")
LOW_CONFIDENCE_SHOWN = 20


def mask_id(value: object) -> str:
    """``410822199001011234`` → ``410822********1234``: county kept for routing, the person hidden."""
    if not isinstance(value, str) or len(value) < 10:
        return "—"
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = lambda v: f"{int(v):,}"
    return env


def render_page(template: str, context: dict[str, Any]) -> str:
    """One of the project's HTML pages (templates/), with the shared style and filters."""
    return _env().get_template(template).render(**context)


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _trend_svg(trend: pd.DataFrame, width: int = 760, height: int = 220) -> str:
    """Total warnings per run date as an SVG line with labelled points (empty string: no trend yet)."""
    totals = trend.groupby("run_date")["warnings"].sum().sort_index()
    if len(totals) < 2:
        return ""
    left, right, top, bottom = 50, 20, 20, 40
    top_value = max(int(totals.max()), 1)
    xs = [left + i * (width - left - right) / (len(totals) - 1) for i in range(len(totals))]
    ys = [top + (1 - v / top_value) * (height - top - bottom) for v in totals]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    parts = [
        f'<svg class="trend" viewBox="0 0 {width} {height}" role="img" aria-label="预警数量趋势">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"'
        ' class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{top_value:,}</text>',
        f'<text x="{left - 6}" y="{height - bottom + 4}" text-anchor="end">0</text>',
        f'<polyline points="{points}" class="line"/>',
    ]
    every = max(1, len(totals) // 10)  # at most about ten date labels
    for i, (d, v) in enumerate(totals.items()):
        parts.append(
            f'<circle cx="{xs[i]:.1f}" cy="{ys[i]:.1f}" r="3.5" class="dot"><title>{d}: {v}</title></circle>'
        )
        if i % every == 0 or i == len(totals) - 1:
            label = d.isoformat() if isinstance(d, date) else html.escape(str(d))
            parts.append(
                f'<text x="{xs[i]:.1f}" y="{height - bottom + 16}" text-anchor="middle">{label[5:]}</text>'
            )
            parts.append(f'<text x="{xs[i]:.1f}" y="{ys[i] - 8:.1f}" text-anchor="middle">{int(v):,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def linkage_context(errors: dict[str, Any], labels: dict[str, str]) -> dict[str, Any] | None:
    """Tonight's expected false and missed links (match_summary.json's ``errors``) for the pages:
    rounded counts and ranges, and per source in Chinese, largest first. None before any estimate."""
    if not errors:
        return None

    def whole(e: dict[str, float]) -> dict[str, int]:
        return {k: int(round(e[k])) for k in ("expected", "low", "high")}

    rows = [
        {
            "label": labels.get(k, k),
            "linked": int(v["linked"]),
            "false": int(round(v["false"])),
            "alone": int(v["alone"]),
            "missed": int(round(v["missed"])),
        }
        for k, v in errors.get("by_source", {}).items()
    ]
    rows.sort(key=lambda r: -(r["false"] + r["missed"]))
    worst = [r["label"] for r in rows if r["false"] + r["missed"] >= 1][:2]
    return {
        "linked": int(errors["linked_by_model"]),
        "alone": int(errors["alone_without_id"]),
        "false": whole(errors["false_links"]),
        "missed": whole(errors["missed_links"]),
        "by_source": rows,
        "worst": "、".join(worst),
    }


def summary_context(
    warnings: pd.DataFrame,
    books: list[TownshipBook],
    rules_summary: RulesSummary,
    quality: QualitySummary,
    match: dict[str, Any],
    trend: pd.DataFrame,
    run_date: date,
    whole_run: bool,
    places: Sequence[Township] = (),
    gone: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Everything the summary and steward pages show, as plain values (also the source of the
    Prefect artifacts). ``places``: every township the run covers, listed with 0 when it has no
    warning; ``gone``: per rule, warnings of the last whole night not raised tonight."""
    rules = [asdict(r) for r in rules_summary.rules]
    colour = {r["id"]: PALETTE[i % len(PALETTE)] for i, r in enumerate(rules)}
    by_rule = warnings["rule"].value_counts()
    top_rule = max([int(by_rule.max()) if len(by_rule) else 0, 1])
    new_by_rule = warnings.loc[warnings["status"] == "新增", "rule"].value_counts()
    rule_rows = [
        {
            **r,
            "count": int(by_rule.get(r["id"], 0)),
            "new": int(new_by_rule.get(r["id"], 0)),
            "continued": int(by_rule.get(r["id"], 0) - new_by_rule.get(r["id"], 0)),
            "gone": (gone or {}).get(r["id"], 0),
            "wrong_link": int(round(r["expected_wrong_link"])),
            "bar": _pct(by_rule.get(r["id"], 0), top_rule),
            "colour": colour[r["id"]],
        }
        for r in rules
    ]

    # By channel: the department extracts, the hotline, the village assistants (rules' `channel`).
    channel_of = {r["id"]: r.get("channel", "extracts") for r in rules}
    ch = warnings["rule"].map(channel_of).fillna("extracts")
    channels = [
        {
            "name": name,
            "rules": "、".join(r["id"] for r in rules if channel_of[r["id"]] == key),
            "warnings": int(ch.eq(key).sum()),
            "households": int(warnings.loc[ch.eq(key).to_numpy(), "household_key"].nunique()),
            "new": int((ch.eq(key) & warnings["status"].eq("新增")).sum()),
        }
        for key, name in CHANNELS.items()
    ]

    county_rule = warnings.groupby(["county_code", "county", "rule"]).size()
    county_totals = warnings.groupby(["county_code", "county"]).size().sort_values(ascending=False)
    top_county = max([int(county_totals.max()) if len(county_totals) else 0, 1])
    counties = []
    for key, total in county_totals.items():
        code, name = cast(tuple[str, str], key)
        segments = [
            {"rule": r["id"], "count": int(n), "width": _pct(n, top_county), "colour": colour[r["id"]]}
            for r in rules
            if (n := county_rule.get((code, name, r["id"]), 0))
        ]
        counties.append({"code": code, "name": name, "count": int(total), "segments": segments})

    # Every township of the run's scope, 0 included, each linked to its workbook; the counties'
    # 未确定乡镇 lists apart (the county routes them).
    resolved = [b for b in books if b.township_code != UNRESOLVED_TOWNSHIP[0]]
    listed = {(b.county_code, b.township_code) for b in resolved}
    empty = [
        TownshipBook(t.county_code, t.county, t.code, t.name, Path(), 0, 0, 0)
        for t in places
        if (t.county_code, t.code) not in listed
    ]
    township_totals = sorted([*resolved, *empty], key=lambda b: (-b.warnings, b.county_code, b.township_code))
    top_township = max([township_totals[0].warnings if township_totals else 0, 1])
    town_rule = warnings.groupby(["county_code", "township_code", "rule"]).size()

    def town_row(b: TownshipBook) -> dict[str, Any]:
        return {
            **asdict(b),
            "path": str(b.path),
            "href": f"{TOWNSHIPS.link_from(SUMMARY_HTML)}/{b.path.as_posix()}" if b.warnings else "",
            "segments": [
                {"rule": r["id"], "count": int(n), "width": _pct(n, top_township), "colour": colour[r["id"]]}
                for r in rules
                if (n := town_rule.get((b.county_code, b.township_code, r["id"]), 0))
            ],
        }

    townships = [town_row(b) for b in township_totals]
    unresolved_books = [town_row(b) for b in books if b.township_code == UNRESOLVED_TOWNSHIP[0]]

    money = _money_by_county(warnings, rules)

    sources: list[dict[str, Any]] = []
    for key, src in quality.sources.items():
        sources.append(
            {
                "key": key,
                "label": src.label,
                "status": src.status,
                "read": src.rows_read,
                "rejected": src.rejected,
                "accepted": src.accepted,
                "rejected_pct": _pct(src.rejected, src.rows_read),
                "reasons": list(src.reasons.items())[:3],
                "flags": list(src.flags.items())[:3],
                "error": src.error_zh or "",
            }
        )
    top_read = max([s["read"] for s in sources] + [1])
    for s in sources:
        s["bar_ok"] = _pct(s["accepted"], top_read)
        s["bar_rejected"] = _pct(s["rejected"], top_read)

    low = (
        warnings[warnings["match_confidence"] < 0.95]
        .sort_values("match_confidence")
        .head(LOW_CONFIDENCE_SHOWN)
    )
    low_rows = [
        {
            "warning_id": r.warning_id,
            "id": mask_id(r.id_number),
            "rule": r.rule,
            "place": f"{r.county}{r.township}",
            "confidence": f"{r.match_confidence:.1%}",
        }
        for r in low.itertuples()
    ]
    incomplete = []
    for key, src in quality.sources.items():
        if src.ok:
            continue
        incomplete.append(
            {
                "label": src.label,
                "status": src.status,
                "files": [(Path(f.path).name, f.error_zh or f.error or "") for f in src.failed_files],
                "error": src.error_zh or src.error or "",
                "skipped": [f"{r['id']} {r['name']}" for r in rules if key in r["missing_sources"]],
                "affected": [
                    f"{r['id']} {r['name']}" for r in rules if key in r.get("incomplete_sources", [])
                ],
            }
        )
    trend_rows = trend.groupby("run_date", as_index=False)[["warnings", "new"]].sum().sort_values("run_date")
    return {
        "run_date": run_date.isoformat(),
        # Links between the published pages, relative to the run folder.
        "paths": {
            # From the published pages (publish/): they link to published files only.
            "summary": SUMMARY_HTML.link_from(SUMMARY_HTML),
            "index": INDEX_HTML.link_from(SUMMARY_HTML),
            "summary_xlsx": SUMMARY_XLSX.link_from(SUMMARY_HTML),
        },
        # From the steward's page (the run folder, internal): the published pages and the internal files.
        "internal_paths": {
            "summary": SUMMARY_HTML.link_from(STEWARD_HTML),
            "index": INDEX_HTML.link_from(STEWARD_HTML),
        },
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "whole_run": whole_run,
        "kpi": {
            "warnings": int(len(warnings)),
            "households": int(warnings["household_key"].nunique()),
            "new": int((warnings["status"] == "新增").sum()),
            "townships": sum(1 for b in books if b.township_code != UNRESOLVED_TOWNSHIP[0]),
            "unresolved": int((warnings["township_code"] == UNRESOLVED_TOWNSHIP[0]).sum()),
            "records": int(match.get("records", 0)),
            "persons": int(match.get("persons", 0)),
            "review_pairs": int(match.get("review_pairs", 0)),
            "review_questions": int(match.get("review_questions", 0)),
        },
        "rules": rule_rows,
        "channels": channels,
        "skipped": [r for r in rules if r["status"] == "skipped"],
        # Sources not read whole tonight: the red banner (files, reasons, rules skipped or short).
        "incomplete": incomplete,
        "deceased_excluded": rules_summary.deceased_excluded,
        "counties": counties,
        "townships": townships,
        "unresolved_books": unresolved_books,
        "money": money,
        # "Gone" needs an earlier whole night to compare with.
        "compared": bool(
            gone is not None and whole_run and len(trend) and (trend["run_date"] < run_date).any()
        ),
        "sources": sources,
        "match": match,
        "linkage": linkage_context(
            match.get("errors") or {}, {k: v.label for k, v in quality.sources.items()}
        ),
        "low_confidence": low_rows,
        "low_confidence_total": int((warnings["match_confidence"] < 0.95).sum()),
        "trend_svg": _trend_svg(trend),
        "trend_rows": [
            {"run_date": str(r["run_date"]), "warnings": int(r["warnings"]), "new": int(r["new"])}
            for r in trend_rows.to_dict("records")
        ],
    }


def cases_context(
    after: pd.DataFrame, rules: RuleSet, case_rules: CaseRules, run_date: date, places: Sequence[Township]
) -> dict[str, Any]:
    """The closed loop on the summary: the funnel per county and township (warned → answered →
    eligible → done → verified by the extracts), overdue counts, median days to an answer, the
    oldest overdue cases (IDs masked) and the done answers the extracts do not show yet."""
    per_case = funnel_cases(after, {r.id: r for r in rules.rules}, case_rules)
    county_name = {t.county_code: t.county for t in places}
    town_name = {t.code: t.name for t in places}

    def row(r: dict[str, Any], name: str, code: str) -> dict[str, Any]:
        median = r["median_days"]
        return {
            "name": name,
            "code": code,
            **{k: int(r[k]) for k in STEPS},
            "answered_pct": _pct(r["answered"], r["warned"]),
            "median_days": None if median != median else round(float(median), 1),
        }

    counties = [
        row(r, county_name.get(r["county_code"], r["county_code"] or "未确定区县"), r["county_code"])
        for r in records(funnel(per_case, ["county_code"]))
        if r["warned"]
    ]
    townships = [
        row(r, town_name.get(r["township_code"], "未确定乡镇"), r["township_code"])
        | {"county": county_name.get(r["county_code"], "")}
        for r in records(funnel(per_case, ["county_code", "township_code"]))
        if r["warned"]
    ]
    townships.sort(key=lambda r: (-r["overdue"], -r["warned"], r["code"]))
    total = row(records(funnel(per_case, []))[0], "全市", "") if len(per_case) else None
    old = oldest_overdue(after)
    oldest = [
        {
            "warning_id": r["warning_id"],
            "id": mask_id(r["id_number"]),
            "rule": r["rule"],
            "place": county_name.get(str(r["county_code"]), "")
            + town_name.get(str(r["township_code"]), "未确定乡镇"),
            "sent_on": pd.Timestamp(r["sent_on"]).date().isoformat(),
            "days": (pd.Timestamp(run_date) - pd.Timestamp(r["sent_on"])).days,
        }
        for r in records(old)
    ]
    not_seen = after[after["verification"].eq(NOT_SEEN)]
    return {
        "days": case_rules.days,
        "funnel_counties": counties,
        "funnel_townships": townships,
        "total": total,
        "oldest_overdue": oldest,
        "by_status": open_counts(after, case_rules),
        "not_seen": int(len(not_seen)),
        "not_seen_label": case_rules.verification[NOT_SEEN],
    }


def _money_by_county(warnings: pd.DataFrame, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The money the warnings are about (each rule's ``amount`` fact: R05's out-of-pocket sums,
    R07's estimated overpayment), summed per county and rule; rules without amounts left out."""
    if "amount" not in warnings.columns or warnings["amount"].isna().all():
        return {"rules": [], "rows": [], "totals": {}}
    known = warnings[warnings["amount"].notna()]
    sums = known.groupby(["county_code", "county", "rule"])["amount"].sum()
    ids = [r["id"] for r in rules if r["id"] in set(known["rule"])]
    rows: list[dict[str, Any]] = []
    for (code, name), part in known.groupby(["county_code", "county"], sort=True):
        rows.append(
            {
                "code": code,
                "name": name,
                "sums": {rid: float(sums.get((code, name, rid), 0.0)) for rid in ids},
                "total": float(part["amount"].sum()),
            }
        )
    rows.sort(key=lambda r: -r["total"])
    totals = {rid: float(known.loc[known["rule"] == rid, "amount"].sum()) for rid in ids}
    return {"rules": [r for r in rules if r["id"] in ids], "rows": rows, "totals": totals}


def write_summary_html(path: Path, context: dict[str, Any]) -> None:
    path.write_text(_env().get_template("summary.html.j2").render(**context), encoding="utf-8")


def write_steward_html(path: Path, context: dict[str, Any]) -> None:
    """The data steward's page: data quality per source, matching figures, the review queue and the
    lowest-confidence warnings (masked IDs), kept off the analysts' summary."""
    path.write_text(_env().get_template("steward.html.j2").render(**context), encoding="utf-8")


def write_index_html(
    path: Path, context: dict[str, Any], books: list[TownshipBook], extra: list[tuple[str, str]]
) -> None:
    """index.html: the workbooks grouped by county (links relative, so the folder can be moved)."""
    counties: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for b in sorted(books, key=lambda b: (b.county_code, b.township_code)):
        counties.setdefault((b.county_code, b.county), []).append(
            {**asdict(b), "href": f"{TOWNSHIPS.link_from(INDEX_HTML)}/{b.path.as_posix()}"}
        )
    groups = [
        {"code": code, "name": name, "books": items, "count": sum(i["warnings"] for i in items)}
        for (code, name), items in counties.items()
    ]
    page = _env().get_template("index.html.j2").render(**context, groups=groups, extra=extra)
    path.write_text(page, encoding="utf-8")


def township_rule_table(warnings: pd.DataFrame, rule_ids: list[str]) -> pd.DataFrame:
    """Warnings per township (rows) and rule (columns), with totals; every rule gets a column."""
    if not len(warnings):
        return pd.DataFrame(columns=["county_code", "county", "township_code", "township", *rule_ids, "合计"])
    t = (
        warnings.groupby(["county_code", "county", "township_code", "township", "rule"])
        .size()
        .unstack("rule", fill_value=0)
        .reindex(columns=rule_ids, fill_value=0)
    )
    t["合计"] = t.sum(axis=1)
    return t.reset_index()


def _write_count_sheet(
    wb: Any,
    title: str,
    table: pd.DataFrame,
    places: list[tuple[str, str, float]],
    rules: list[dict[str, Any]],
) -> None:
    """One sheet: place columns (text), one count column per rule, 合计; a totals row at the bottom."""
    ws = wb.add_worksheet(title.split("(")[0])
    head = wb.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
    )
    cell = wb.add_format({"border": 1})
    text = wb.add_format({"border": 1, "num_format": "@"})
    total = wb.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2"})
    ws.write_string(0, 0, title, wb.add_format({"bold": True, "font_size": 13}))
    rule_ids = [r["id"] for r in rules]
    headers = [h for _, h, _ in places] + [f"{r['id']} {r['name']}" for r in rules] + ["合计"]
    for j, h in enumerate(headers):
        ws.write_string(1, j, h, head)
    ws.set_row(1, 45)
    for j, (_, _, width) in enumerate(places):
        ws.set_column(j, j, width)
    ws.set_column(len(places), len(headers) - 1, 11)
    keys = [k for k, _, _ in places] + rule_ids + ["合计"]
    for i, row in enumerate(table[keys].itertuples(index=False), start=2):
        for j, v in enumerate(row):
            if j < len(places):
                ws.write_string(i, j, neutralise(str(v)), text)
            else:
                ws.write_number(i, j, int(v), cell)
    last = 2 + len(table)
    ws.write_string(last, 0, "合计", total)
    for j in range(1, len(places)):
        ws.write_blank(last, j, None, total)
    for j, k in enumerate(keys[len(places) :], start=len(places)):
        ws.write_number(last, j, int(table[k].sum()) if len(table) else 0, total)
    ws.freeze_panes(2, len(places))
    ws.autofilter(1, 0, max(last - 1, 2), len(headers) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(1)


def county_rule_table(table: pd.DataFrame, rule_ids: list[str]) -> pd.DataFrame:
    """``township_rule_table`` summed per county (same columns, without the township ones)."""
    counts = [*rule_ids, "合计"]
    if not len(table):
        return table.drop(columns=["township_code", "township"])
    return table.groupby(["county_code", "county"], as_index=False)[counts].sum()


def write_summary_xlsx(path: Path, table: pd.DataFrame, outcomes: list[RuleOutcome], run_date: date) -> None:
    """summary.xlsx: 乡镇×规则 (``township_rule_table``) and the same summed per county (区县×规则)."""
    import xlsxwriter

    day = run_date.isoformat()
    rules = [{"id": o.id, "name": o.name} for o in outcomes]
    by_county = county_rule_table(table, [r["id"] for r in rules])
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    try:
        _write_count_sheet(
            wb,
            f"乡镇×规则(运行日期 {day})",
            table,
            [
                ("county_code", "区县代码", 9),
                ("county", "区县", 14),
                ("township_code", "乡镇代码", 11),
                ("township", "乡镇(街道)", 16),
            ],
            rules,
        )
        _write_count_sheet(
            wb,
            f"区县×规则(运行日期 {day})",
            by_county,
            [("county_code", "区县代码", 9), ("county", "区县", 14)],
            rules,
        )
    finally:
        wb.close()
