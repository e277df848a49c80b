"""Township workbooks, the warnings history and the summary, on a handful of hand-made warnings.

Three townships: two in 博爱县, one warning without a township (→ 未确定乡镇). One person's department
rows carried formula-looking text; one ID ends in X.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from pipeline.cases.config import load_case_rules
from pipeline.contracts import QualitySummary, RuleOutcome, RulesSummary, SourceStatus
from pipeline.eligibility.rules import load_rules
from pipeline.normalize.places import Township
from pipeline.reports import (
    COLUMNS,
    FILL_IN,
    SHEET_HELP,
    SHEET_LIST,
    SHEET_RULES,
    Choices,
    history,
    plan_township_books,
    write_books,
)
from pipeline.reports.prepare import prepare
from pipeline.reports.summary import (
    linkage_context,
    mask_id,
    summary_context,
    township_rule_table,
    write_index_html,
    write_steward_html,
    write_summary_html,
    write_summary_xlsx,
)
from pipeline.reports.workbook import (
    FIRST_DATA_ROW,
    FONT_SIZE,
    HEADER_ROW,
    LINE_HEIGHT,
    LINE_SPACING,
    MAX_ROW_HEIGHT,
    PRINTED,
    evidence_size,
    lines_needed,
    neutralise,
    rule_rows,
)
from pipeline.settings import PROJECT_ROOT
from pipeline.sources import load_sources
from pipeline.state import StateStore

D = date(2026, 11, 29)
NO_TREND = StateStore(Path("/nonexistent")).warning_trend()
SOURCES = {s.key for s in load_sources(PROJECT_ROOT / "rules" / "sources.yaml").sources}


def warning(
    rule: str, person: str, id_number: str, name: str, township: tuple[str, str] | None, **kw: object
) -> dict:
    code, town = township or (None, None)
    return {
        "warning_id": f"{rule}-{person}",
        "rule": rule,
        "rule_name": {
            "R01": "监测户残疾人未纳入低保",
            "R03": "重度残疾人护理补贴未享受",
            "R05": "大额医疗自付",
        }[rule],
        "person_id": person,
        "id_number": id_number,
        "name": name,
        "sex": "男",
        "age": 60,
        "county_code": "410822",
        "county": "博爱县",
        "township_code": code,
        "township": town,
        "village": kw.get("village", "东村"),
        "address": kw.get("address", f"河南省焦作市博爱县{town}东村{person[-1]}号" if town else None),
        "phone": kw.get("phone", "13900000000"),
        "hospital": kw.get("hospital"),
        "household_key": kw.get("household", f"P:{person}"),
        "evidence": kw.get(
            "evidence", "【残疾人信息】残疾人信息.xlsx 第3行:残疾等级 一级\n【判断】户内享受低保或特困 否"
        ),
        "evidence_records": "[]",
        "suggestion": "入户核实。",
        "match_confidence": kw.get("confidence", 1.0),
        "amount": kw.get("amount", float("nan")),
        "run_date": D,
    }


MOTOU = ("410822105", "磨头镇")
STAY = (
    "【医保住院结算】住院结算.csv 第190行:出院日期 2026-08-06,定点医疗机构 沁阳市人民医院,个人自付 2,408.91"
)
BAIXIANG = ("410822101", "柏山镇")
WARNINGS = pd.DataFrame(
    [
        warning("R01", "P01", "410822196803150310", "孟平", MOTOU, household="M:4108221050000001"),
        warning("R03", "P01", "410822196803150310", "孟平", MOTOU, household="M:4108221050000001"),
        warning("R01", "P02", "41082219700822042X", "孟妻", MOTOU, household="M:4108221050000001"),
        warning(
            "R03",
            "P03",
            "410822195001010011",
            '=HYPERLINK("http://x","点我")',
            BAIXIANG,
            village="-1+2",
            evidence="@SUM(A1)\n【判断】",
            confidence=0.93,
        ),
        warning(
            "R05",
            "P04",
            "410822198001010019",
            "赵六",
            None,
            village=None,
            phone=None,
            hospital="焦作市人民医院",
        ),
        warning(
            "R05",
            "P05",
            "410822198101010015",
            "钱七",
            BAIXIANG,
            evidence="\n".join([STAY] * 16),
            amount=38_534.56,
        ),
    ]
)
HOUSEHOLDS = pd.DataFrame(
    {
        "household_key": ["M:4108221050000001", "P:P03", "P:P04", "P:P05"],
        "household_size": [2, 1, 1, 1],
    }
)
PERSONS = pd.DataFrame(
    {
        "person_id": ["P01", "P02", "P03", "P04", "P05"],
        "id_number": [
            "410822196803150310",
            "41082219700822042X",
            "410822195001010011",
            "410822198001010019",
            "410822198101010015",
        ],
        "name": ["孟平", "孟妻", "x", "赵六", "钱七"],
    }
)


def first_night(warnings: pd.DataFrame, day: date = D) -> pd.DataFrame:
    """Warnings as the cases stage hands them on a first night: every case new."""
    return history.mark_new(warnings.assign(first_seen=day, case_status="新预警", case_note=""), day)


RULES = load_rules(PROJECT_ROOT / "rules" / "eligibility.yaml", SOURCES)
CHOICES = Choices.of(RULES, load_case_rules(PROJECT_ROOT / "rules" / "cases.yaml"))


@pytest.fixture(scope="module")
def rules_table() -> list[list[str]]:
    rules = load_rules(PROJECT_ROOT / "rules" / "eligibility.yaml", SOURCES)
    summary = RulesSummary(
        run_date=D.isoformat(),
        rules=[RuleOutcome(r.id, r.name, "ran", [], 0) for r in rules.rules],
        deceased_excluded=True,
        params={},
    )
    summary.rules[4] = RuleOutcome("R05", "x", "skipped", ["medical"], 0)
    return rule_rows(rules, summary, {"medical": "医保住院结算"})


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory, rules_table: list[list[str]]) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("townships")
    prepared = prepare(first_night(WARNINGS), HOUSEHOLDS, PERSONS)
    return out, written_books(
        prepared, out, D, rules_table, CHOICES, {"410822": ["磨头镇", "柏山镇", "许良镇"]}
    )


def written_books(*args: Any, **kwargs: Any) -> list[Any]:
    """The township workbooks planned, then written (what the reports stage does)."""
    books, jobs = plan_township_books(*args, **kwargs)
    write_books(jobs)
    return books


def rows_of(path: Path) -> list[dict[str, object]]:
    ws = openpyxl.load_workbook(path)[SHEET_LIST]
    headers = [c.value for c in ws[HEADER_ROW + 1]]
    out = []
    for row in ws.iter_rows(min_row=FIRST_DATA_ROW + 1):
        out.append(dict(zip(headers, [c.value for c in row], strict=True)))
    return out


def test_one_workbook_per_township_and_one_for_the_unresolved(books: tuple[Path, list]) -> None:
    out, written = books
    assert sorted(b.path.as_posix() for b in written) == [
        "410822_博爱县/410822000_博爱县未确定乡镇.xlsx",
        "410822_博爱县/410822101_柏山镇.xlsx",
        "410822_博爱县/410822105_磨头镇.xlsx",
    ]
    for b in written:
        ids = {r["预警编号"] for r in rows_of(out / b.path)}
        expected = WARNINGS["township_code"].fillna("000000000") == b.township_code
        assert ids == set(WARNINGS.loc[expected, "warning_id"]), b.path
        assert b.warnings == len(ids)
    motou = next(b for b in written if b.township == "磨头镇")
    assert (motou.warnings, motou.households, motou.new) == (3, 1, 3)


def test_the_list_sheet_reads_as_the_township_expects(books: tuple[Path, list]) -> None:
    out, _ = books
    wb = openpyxl.load_workbook(out / "410822_博爱县" / "410822105_磨头镇.xlsx")
    assert wb.sheetnames == [SHEET_LIST, "待回访", SHEET_RULES, SHEET_HELP]
    ws = wb[SHEET_LIST]
    assert "磨头镇" in ws["A1"].value and "预警 3 条,涉及 1 户" in ws["A2"].value
    assert [c.value for c in ws[HEADER_ROW + 1]] == [c.header for c in COLUMNS]
    rows = rows_of(out / "410822_博爱县" / "410822105_磨头镇.xlsx")
    # Visiting order: one household together, then person, then rule; numbered from 1.
    assert [(r["序号"], r["预警编号"]) for r in rows] == [(1, "R01-P01"), (2, "R03-P01"), (3, "R01-P02")]
    assert rows[0]["户"] == "监测户\n4108221050000001\n共2人"
    assert rows[0]["状态"] == "新预警" and rows[0]["首次预警日期"].date() == D
    assert rows[0]["规则"] == "R01 监测户残疾人未纳入低保"
    assert ws.freeze_panes == "D4"
    # Printed: 序号 … 核查日期, the four boxes the officer fills in included; the rest is on screen.
    last_printed = get_column_letter(PRINTED)
    assert COLUMNS[PRINTED - 1].header == "核查日期"
    assert all(c.printed for c in COLUMNS if c.header in FILL_IN)
    assert ws.print_area == f"'{SHEET_LIST}'!$A$1:${last_printed}${FIRST_DATA_ROW + 3}"
    last = get_column_letter(len(COLUMNS))
    assert ws.auto_filter.ref == f"A{HEADER_ROW + 1}:{last}{FIRST_DATA_ROW + 3}"
    # fitToWidth 1 and operator "between" are the file format's defaults, so writers omit them.
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth in (None, 1)
    assert ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$3:$3"
    # Every row tall enough for its evidence (Excel does not grow rows a library wrote).
    assert all(ws.row_dimensions[r].height >= 30 for r in range(FIRST_DATA_ROW + 1, FIRST_DATA_ROW + 4))


def test_ids_are_18_character_text(books: tuple[Path, list]) -> None:
    out, written = books
    col = next(i for i, c in enumerate(COLUMNS) if c.header == "身份证号") + 1
    for b in written:
        ws = openpyxl.load_workbook(out / b.path)[SHEET_LIST]
        cells = [ws.cell(r, col) for r in range(FIRST_DATA_ROW + 1, ws.max_row + 1)]
        assert cells and all(c.data_type == "s" and len(c.value) == 18 for c in cells)
        assert all(c.number_format == "@" for c in cells)
    ids = [r["身份证号"] for r in rows_of(out / "410822_博爱县" / "410822105_磨头镇.xlsx")]
    assert "41082219700822042X" in ids


def test_dropdown_and_date_validation_on_the_fill_in_columns(books: tuple[Path, list]) -> None:
    out, _ = books
    ws = openpyxl.load_workbook(out / "410822_博爱县" / "410822105_磨头镇.xlsx")[SHEET_LIST]
    rows = f"{FIRST_DATA_ROW + 1}:{FIRST_DATA_ROW + 3}"
    by_type = {dv.type: dv for dv in ws.data_validations.dataValidation}
    listed = by_type["list"]
    verdict = get_column_letter(next(i for i, c in enumerate(COLUMNS) if c.kind == "verdict") + 1)
    assert str(listed.sqref) == "{0}{1}:{0}{2}".format(verdict, *rows.split(":"))
    assert listed.formula1.strip('"').split(",") == list(CHOICES.answers_of["R01"])
    assert "符合，已纳入救助" in CHOICES.answers_of["R01"] and "属实，已停发" in CHOICES.answers_of["R07"]
    assert listed.showErrorMessage
    dated = by_type["date"]
    day = get_column_letter(next(i for i, c in enumerate(COLUMNS) if c.kind == "fill_date") + 1)
    assert str(dated.sqref) == "{0}{1}:{0}{2}".format(day, *rows.split(":"))
    assert dated.operator in (None, "between")
    assert dated.formula1 and dated.formula2  # the earliest and latest accepted dates
    assert dated.showErrorMessage


def test_only_the_fill_in_columns_are_unlocked(books: tuple[Path, list]) -> None:
    out, _ = books
    ws = openpyxl.load_workbook(out / "410822_博爱县" / "410822105_磨头镇.xlsx")[SHEET_LIST]
    assert ws.protection.sheet and ws.protection.autoFilter is False  # False = filtering allowed
    for row in ws.iter_rows(min_row=FIRST_DATA_ROW + 1):
        for c, col in zip(row, COLUMNS, strict=True):
            assert c.protection.locked == (col.header not in FILL_IN), (c.coordinate, col.header)
    for name in (SHEET_RULES, SHEET_HELP):
        assert ws.parent[name].protection.sheet


def test_evidence_too_long_for_one_row_is_set_smaller_not_cut(books: tuple[Path, list]) -> None:
    out, _ = books
    ws = openpyxl.load_workbook(out / "410822_博爱县" / "410822101_柏山镇.xlsx")[SHEET_LIST]
    col = next(i for i, c in enumerate(COLUMNS) if c.key == "evidence") + 1
    key = next(i for i, c in enumerate(COLUMNS) if c.key == "warning_id") + 1
    rows = {ws.cell(r, key).value: r for r in range(FIRST_DATA_ROW + 1, ws.max_row + 1)}
    long, short = rows["R05-P05"], rows["R03-P03"]
    assert ws.cell(short, col).font.sz == FONT_SIZE
    size = ws.cell(long, col).font.sz
    assert size < FONT_SIZE and ws.row_dimensions[long].height <= MAX_ROW_HEIGHT
    # at that size the whole text fits in the row
    needed = size * LINE_SPACING * lines_needed(ws.cell(long, col).value, COLUMNS[col - 1].width, size) + 3
    assert needed <= ws.row_dimensions[long].height + 0.25  # heights are stored in quarter points
    # 35 CJK characters and 32 others: 350 + 32 * 6 = 542 pt in lines of 5.25 * 46 = 241.5 pt.
    assert evidence_size(STAY, 46, 2) == (FONT_SIZE, LINE_HEIGHT * 3 + 3)
    assert evidence_size(STAY, 46, 4) == (FONT_SIZE, LINE_HEIGHT * 4 + 3)


def test_lines_are_counted_as_excel_wraps_them() -> None:
    assert FONT_SIZE == 10  # the hand-worked widths below: a CJK character 10 pt, a digit 6 pt
    assert lines_needed("汉" * 24, 46) == 1  # 240 pt of 241.5
    assert lines_needed("汉" * 25, 46) == 2
    # An ID is not broken: 200 pt of CJK, then 18 digits (108 pt) move to the next line whole.
    assert lines_needed("汉" * 20 + "410822197008220421", 46) == 2
    assert lines_needed("汉" * 20 + "4108", 46) == 1  # 224 pt
    assert lines_needed("汉" * 20 + "4108221", 46) == 2  # 242 pt: the run moves
    assert lines_needed("一\n二\n", 46) == 3  # every line break counts, an empty last line too


def test_formula_looking_text_is_neutralised(books: tuple[Path, list]) -> None:
    out, written = books
    rows = rows_of(out / "410822_博爱县" / "410822101_柏山镇.xlsx")
    assert rows[0]["姓名"] == '\'=HYPERLINK("http://x","点我")'
    assert rows[0]["村(社区)"] == "'-1+2"
    assert rows[0]["预警依据"].startswith("'@SUM(A1)")
    for b in written:
        wb = openpyxl.load_workbook(out / b.path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (b.path, c.coordinate)
                    if isinstance(c.value, str):
                        assert not c.value.startswith(("=", "+", "-", "@")), (b.path, c.coordinate)
    assert neutralise("正常") == "正常" and neutralise("+86") == "'+86"


def test_rules_sheet_lists_every_rule_with_tonights_status(books: tuple[Path, list]) -> None:
    out, _ = books
    ws = openpyxl.load_workbook(out / "410822_博爱县" / "410822105_磨头镇.xlsx")[SHEET_RULES]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert sorted(rows) == [f"R0{i}" for i in range(1, 10)]
    assert rows["R01"][1] == "监测户残疾人未纳入低保" and rows["R01"][6] == "2"
    assert rows["R05"][5] == "已跳过:缺少医保住院结算"
    assert all(r[2] and r[3] for r in rows.values())  # meaning and suggestion from the rule file
    unresolved = openpyxl.load_workbook(out / "410822_博爱县" / "410822000_博爱县未确定乡镇.xlsx")
    assert "未确定乡镇" in unresolved[SHEET_LIST]["A1"].value


def test_new_warnings_and_the_trend_counts_whole_runs(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "state")

    def night(warnings: pd.DataFrame, day: date, whole_run: bool) -> pd.DataFrame:
        """What the reports stage does with the trend."""
        prepared = prepare(history.mark_new(warnings, day), HOUSEHOLDS, PERSONS)
        if whole_run:
            state.save_warning_trend(history.with_tonight(state.warning_trend(), prepared, day))
        return prepared

    first = night(WARNINGS.assign(first_seen=D), D, whole_run=True)
    assert set(first["status"]) == {"新增"}
    later = date(2026, 11, 30)
    tonight = pd.concat([WARNINGS.iloc[:2], WARNINGS.iloc[:1].assign(warning_id="R05-P01", rule="R05")])
    tonight = tonight.assign(first_seen=[D, D, later])
    # What went since the last whole night: its warnings not raised tonight, per rule (the cases'
    # first and last nights).
    seen = WARNINGS[["warning_id"]].assign(first_seen=D, last_seen=D)
    gone = history.gone_since_last_whole_run(seen, state.warning_trend(), tonight, later)
    assert gone == {"R01": 1, "R03": 1, "R05": 2}
    second = night(tonight, later, whole_run=True)
    assert sorted(second["status"]) == ["持续", "持续", "新增"]
    # A partial run (some counties or rules) is not in the trend.
    night(tonight, date(2026, 12, 1), whole_run=False)
    t = history.trend(state.warning_trend(), WARNINGS.iloc[:0].assign(first_seen=D), date(2026, 12, 1), False)
    totals = t.groupby("run_date")["warnings"].sum()
    assert totals.to_dict() == {D: 6, later: 3}
    assert t.groupby("run_date")["new"].sum().to_dict() == {D: 6, later: 1}
    # Re-running a date replaces its counts rather than adding to them.
    state.save_warning_trend(history.with_tonight(state.warning_trend(), second, later))
    t = history.trend(state.warning_trend(), WARNINGS.iloc[:0].assign(first_seen=D), date(2026, 12, 1), False)
    assert t.groupby("run_date")["warnings"].sum().to_dict() == {D: 6, later: 3}


def test_summary_masks_ids_and_names_no_one(books: tuple[Path, list], tmp_path: Path) -> None:
    assert mask_id("41082219700822042X") == "410822********042X"
    assert mask_id(None) == "—"
    _, written = books
    prepared = prepare(first_night(WARNINGS), HOUSEHOLDS, PERSONS)
    rules_summary = RulesSummary(
        run_date=D.isoformat(),
        rules=[RuleOutcome(r, n, "ran", [], 0) for r, n in (("R01", "a"), ("R03", "b"), ("R05", "c"))],
        deceased_excluded=True,
        params={},
    )
    quality = QualitySummary(
        run_date=D.isoformat(),
        counties=None,
        extracts="x",
        sources={"medical": SourceStatus(label="医保住院结算", status="failed", error_zh="文件损坏")},
    )
    trend = history.trend(NO_TREND, prepared, D, whole_run=True)
    places = [
        Township("410822105", "磨头镇", "410822", "博爱县", "镇"),
        Township("410822101", "柏山镇", "410822", "博爱县", "镇"),
        Township("410822102", "许良镇", "410822", "博爱县", "镇"),
    ]
    context = summary_context(
        prepared, written, rules_summary, quality, {"records": 9}, trend, D, True, places, {"R01": 4}
    )
    page, steward = tmp_path / "summary.html", tmp_path / "steward.html"
    write_summary_html(page, context)
    write_steward_html(steward, context)
    for text in (page.read_text(encoding="utf-8"), steward.read_text(encoding="utf-8")):
        for _, w in WARNINGS.iterrows():
            assert w["id_number"] not in text
        for name in ("孟平", "孟妻", "赵六", "HYPERLINK"):
            assert name not in text
        assert "<script" not in text and "http" not in text  # no network needed
    text = page.read_text(encoding="utf-8")
    assert "文件损坏" in text  # a source not used tonight is said on the analysts' page too
    # Every township of the scope, 0 included; those with warnings link to their workbook; the
    # county's 未确定乡镇 list apart.
    rows = {t["township"]: t for t in context["townships"]}
    assert set(rows) == {"磨头镇", "柏山镇", "许良镇"} and rows["许良镇"]["warnings"] == 0
    assert '<a href="townships/410822_博爱县/410822105_磨头镇.xlsx">磨头镇</a>' in text
    assert "许良镇" in text and [b["warnings"] for b in context["unresolved_books"]] == [1]
    assert "townships/410822_博爱县/410822000_博爱县未确定乡镇.xlsx" in text
    r01 = next(r for r in context["rules"] if r["id"] == "R01")
    assert (r01["count"], r01["new"], r01["continued"], r01["gone"]) == (2, 2, 0, 4)
    assert not context["compared"] and "已消失" not in text  # a first whole night compares with nothing
    # Money by county: the R05 amounts summed (the warning without an amount adds nothing).
    assert [r["id"] for r in context["money"]["rules"]] == ["R05"]
    assert context["money"]["rows"][0]["sums"] == {"R05": 38_534.56} and "38,535" in text
    # The steward's page: data quality, matching, the lowest-confidence warnings with masked IDs.
    stewards = steward.read_text(encoding="utf-8")
    assert "410822********0011" in stewards and "文件损坏" in stewards and "人员比对" in stewards
    table = township_rule_table(prepared, ["R01", "R03", "R05"])
    assert table["合计"].sum() == len(WARNINGS)
    assert table.set_index("township").loc["磨头镇", ["R01", "R03", "R05"]].tolist() == [2, 1, 0]
    write_summary_xlsx(tmp_path / "summary.xlsx", table, rules_summary.rules, D)
    wb = openpyxl.load_workbook(tmp_path / "summary.xlsx")
    assert wb.sheetnames == ["乡镇×规则", "区县×规则"]
    towns = wb["乡镇×规则"]
    assert [c.value for c in towns[towns.max_row]] == ["合计", None, None, None, 2, 2, 2, 6]
    assert towns["C3"].data_type == "s"  # township codes stay text
    county = [c.value for c in wb["区县×规则"][3]]
    assert county == ["410822", "博爱县", 2, 2, 2, 6]
    assert json.dumps(context)  # plain values: the Prefect artifacts are built from them


def test_a_night_without_warnings_still_has_a_summary_and_an_index(tmp_path: Path) -> None:
    empty = prepare(first_night(WARNINGS.iloc[:0]), HOUSEHOLDS, PERSONS)
    assert written_books(empty, tmp_path / "townships", D, [], CHOICES) == []
    rules = [RuleOutcome("R07", "死亡未停保", "ran", [], 0)]
    summary = RulesSummary(run_date=D.isoformat(), rules=rules, deceased_excluded=True, params={})
    quality = QualitySummary(run_date=D.isoformat(), counties=None, extracts="x", sources={})
    trend = history.trend(NO_TREND, empty, D, whole_run=False)
    context = summary_context(empty, [], summary, quality, {}, trend, D, False)
    write_summary_html(tmp_path / "summary.html", context)
    write_index_html(tmp_path / "index.html", context, [], [])
    write_summary_xlsx(tmp_path / "summary.xlsx", township_rule_table(empty, ["R07"]), rules, D)
    assert "本次没有预警" in (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "本次没有预警" in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "部分运行" in (tmp_path / "summary.html").read_text(encoding="utf-8")
    ws = openpyxl.load_workbook(tmp_path / "summary.xlsx")["乡镇×规则"]
    assert [c.value for c in ws[3]] == ["合计", None, None, None, 0, 0]


def test_artifact_links_use_the_served_address_when_there_is_one(tmp_path: Path) -> None:
    from pipeline.reports.artifacts import report_link

    run_dir = tmp_path / "reports" / "dry-run" / "2026-11-29"  # a dry run publishes under dry-run/
    out = tmp_path / "reports"  # --out, the folder AD_REPORTS_URL serves
    assert report_link(run_dir, out, "index.html", "http://10.0.0.5:8080/reports/") == (
        "http://10.0.0.5:8080/reports/dry-run/2026-11-29/index.html"
    )
    assert report_link(run_dir, out, "index.html", "") == (run_dir / "index.html").resolve().as_uri()


def test_the_list_says_where_to_find_each_person_and_the_answers_on_every_page(
    books: tuple[Path, list],
) -> None:
    out, _ = books
    ws = openpyxl.load_workbook(out / "410822_博爱县" / "410822105_磨头镇.xlsx")[SHEET_LIST]
    header = [c.value for c in ws[HEADER_ROW + 1]]
    contact = header.index("住址、电话") + 1
    by_id = {
        ws.cell(r, header.index("预警编号") + 1).value: ws.cell(r, contact).value
        for r in range(FIRST_DATA_ROW + 1, ws.max_row + 1)
    }
    # The address without the province, city, county and township the list already names; the phone.
    assert by_id["R01-P01"] == "东村1号\n电话 13900000000"
    assert "应属乡镇" not in header  # only the 未确定乡镇 lists route
    assert "核查结果填:符合，已纳入救助 / 符合，正在办理 / 不符合" in ws.oddHeader.left.text


def test_a_county_routes_its_unresolved_warnings_from_its_own_list(books: tuple[Path, list]) -> None:
    out, _ = books
    ws = openpyxl.load_workbook(out / "410822_博爱县" / "410822000_博爱县未确定乡镇.xlsx")[SHEET_LIST]
    header = [c.value for c in ws[HEADER_ROW + 1]]
    assert header[-1] == "应属乡镇"
    rows = list(ws.iter_rows(min_row=FIRST_DATA_ROW + 1, values_only=True))
    assert [r[0] for r in rows] == [1]  # numbered from 1 in every list
    assert rows[0][header.index("住址、电话")] == "就诊医院 焦作市人民医院"
    route = get_column_letter(len(header))
    dv = next(v for v in ws.data_validations.dataValidation if str(v.sqref).startswith(route))
    assert dv.formula1 == '"磨头镇,柏山镇,许良镇"'
    assert not ws.cell(FIRST_DATA_ROW + 1, len(header)).protection.locked


def test_linkage_errors_are_said_in_whole_numbers_worst_source_first() -> None:
    errors = {
        "linked_by_model": 120,
        "alone_without_id": 40,
        "false_links": {"expected": 2.4, "low": 0.0, "high": 5.6},
        "missed_links": {"expected": 7.5, "low": 3.1, "high": 30.2},
        "by_source": {
            "students": {"linked": 20, "false": 0.2, "alone": 10, "missed": 0.4},
            "medical": {"linked": 100, "false": 2.2, "alone": 30, "missed": 7.1},
        },
    }
    got = linkage_context(errors, {"medical": "医保住院结算", "students": "学生学籍"})
    assert got is not None
    assert got["false"] == {"expected": 2, "low": 0, "high": 6} and got["missed"]["expected"] == 8
    assert [r["label"] for r in got["by_source"]] == ["医保住院结算", "学生学籍"]
    assert got["worst"] == "医保住院结算"  # 学生学籍's 0.6 expected errors round to nothing worth naming
    assert linkage_context({}, {}) is None  # a night matched before the estimate existed


def test_workbooks_written_by_workers_are_the_same(
    books: tuple[Path, list], rules_table: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.reports as reports

    monkeypatch.setenv("AD_WORKERS", "2")
    monkeypatch.setattr(reports, "BOOKS_IN_WORKERS", 0)  # three books: use the workers anyway
    out, written = books
    prepared = prepare(first_night(WARNINGS), HOUSEHOLDS, PERSONS)
    again = written_books(
        prepared, tmp_path, D, rules_table, CHOICES, {"410822": ["磨头镇", "柏山镇", "许良镇"]}
    )
    assert [b.path for b in again] == [b.path for b in written]
    for b in written:
        for sheet in (SHEET_LIST, SHEET_RULES, SHEET_HELP):
            one = openpyxl.load_workbook(out / b.path)[sheet]
            two = openpyxl.load_workbook(tmp_path / b.path)[sheet]
            assert [[c.value for c in r] for r in one.iter_rows()] == [
                [c.value for c in r] for r in two.iter_rows()
            ]
