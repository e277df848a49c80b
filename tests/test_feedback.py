"""Returned township workbooks read back: every check, on SQLite and on PostgreSQL.

The workbooks are the real ones (written by the reports code for the hand-made warnings of
test_reports.py) and filled in through openpyxl as an officer would in a spreadsheet program.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pipeline.cases.config import REVISIT_DUE, load_case_rules
from pipeline.cases.feedback import ImportResult, import_workbook, parse_date, write_result
from pipeline.cases.night import mark_published, update_cases
from pipeline.cases.store import CaseStore, Origin
from pipeline.reports import history
from pipeline.reports.prepare import prepare, prepare_revisits
from pipeline.settings import PROJECT_ROOT
from tests.office import libreoffice
from tests.test_reports import CHOICES, HOUSEHOLDS, PERSONS, RULES, WARNINGS, D, written_books

CR = load_case_rules(PROJECT_ROOT / "rules" / "cases.yaml")
BY_ID = {r.id: r for r in RULES.rules}
TOWNSHIPS = {
    "410822105": ("410822", "磨头镇"),
    "410822101": ("410822", "柏山镇"),
    "410822102": ("410822", "许良镇"),
}
TODAY = D + timedelta(days=5)
MOTOU = "410822_博爱县/410822105_磨头镇.xlsx"
BAISHAN = "410822_博爱县/410822101_柏山镇.xlsx"
COUNTY_LIST = "410822_博爱县/410822000_博爱县未确定乡镇.xlsx"
RULES_TABLE = [[r.id, r.name, r.meaning, r.suggestion, "", "已运行"] for r in RULES.rules]


def first_night(store: CaseStore) -> None:
    """Night 1: the warnings become cases, published."""
    with store.begin() as conn:
        before = store.frame(conn)
        night = update_cases(
            before, WARNINGS.assign(key_facts="{}"), pd.DataFrame(), BY_ID, list(BY_ID), (), CR, D
        )
        store.save(conn, before, mark_published(night.after, night.send, D), Origin(run_date=D))


def books(out: Path, revisits: pd.DataFrame | None = None) -> Path:
    tonight = WARNINGS.assign(first_seen=D, case_status="已下发", case_note="")
    prepared = prepare(history.mark_new(tonight, D), HOUSEHOLDS, PERSONS)
    due = None
    if revisits is not None:
        due = prepare_revisits(revisits, {k: ("博爱县", v[1]) for k, v in TOWNSHIPS.items()}, {"R01": "x"})
    written_books(prepared, out, D, RULES_TABLE, CHOICES, {"410822": ["磨头镇", "柏山镇", "许良镇"]}, due)
    return out


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> tuple[CaseStore, Path]:
    store = CaseStore(db_url)
    first_night(store)
    yield store, books(tmp_path / "townships")
    store.dispose()


def fill(
    path: Path, rows: dict[str, dict[str, Any]], sheet: str = "预警名单", extra: list[dict[str, Any]] = ()
) -> Path:
    """Fill the named warnings' cells (by header) and append ``extra`` rows; save in place."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = {c.value: c.column for c in ws[3] if c.value}
    by_id = {ws.cell(r, header["预警编号"]).value: r for r in range(4, ws.max_row + 1)}
    for wid, values in rows.items():
        for h, v in values.items():
            ws.cell(by_id[wid], header[h]).value = v
    for values in extra:
        r = ws.max_row + 1
        for h, v in values.items():
            ws.cell(r, header[h]).value = v
    wb.save(path)
    return path


def answer(
    text: str, day: date = D + timedelta(days=2), note: str = "入户核实", by: str = "张三"
) -> dict[str, Any]:
    return {"核查结果": text, "核查说明": note, "核查人": by, "核查日期": day}


def run(store: CaseStore, path: Path, today: date = TODAY) -> ImportResult:
    return import_workbook(store, path, BY_ID, CR, TOWNSHIPS, today, user="tester")


def test_valid_answers_apply_together_with_feedback_rows_and_an_audit_trail(
    world: tuple[CaseStore, Path],
) -> None:
    store, out = world
    path = fill(out / MOTOU, {"R01-P01": answer("不符合"), "R03-P01": answer("符合，已纳入救助")})
    result = run(store, path)
    assert (result.applied, result.rejected, result.blank, result.error) == (2, 0, 1, None)
    assert result.township_code == "410822105"  # from the workbook's own properties
    cases = store.frame().set_index("warning_id")
    assert cases.loc["R01-P01", "status"] == "closed" and cases.loc["R01-P01", "answer"] == "不符合"
    assert cases.loc["R01-P01", "suppressed_until"] == D + timedelta(days=2 + 180)
    assert cases.loc["R03-P01", "verification"] == "pending"
    assert cases.loc["R01-P01", "answer_by"] == "张三" and cases.loc["R01-P02", "status"] == "sent"
    trail = store.table("audit")
    mine = trail[trail["by_file"] == path.name]
    status = mine[(mine["warning_id"] == "R01-P01") & (mine["field"] == "status")].iloc[0]
    assert (status["old"], status["new"], status["by_row"], status["by_user"]) == (
        "sent",
        "closed",
        4,
        "tester",
    )
    received = store.table("feedback")
    assert sorted(received["warning_id"]) == ["R01-P01", "R03-P01"] and set(received["outcome"]) == {
        "applied"
    }
    assert store.table("imports")["rows_applied"].tolist() == [2]


BAD_ROWS = [
    ("unknown id", {}, [{"预警编号": "R01-P99", **answer("不符合")}], "系统中没有这条预警"),
    ("another township's warning", {}, [{"预警编号": "R05-P05", **answer("不符合")}], "属于柏山镇"),
    ("altered name", {"R01-P01": {"姓名": "孟平平", **answer("不符合")}}, [], "锁定的列“姓名”被修改"),
    (
        "altered id",
        {"R01-P01": {"身份证号": "410822196803150311", **answer("不符合")}},
        [],
        "“身份证号”被修改",
    ),
    ("answer of another rule", {"R01-P01": answer("属实，已停发")}, [], "不是本规则的可选项"),
    ("typed answer", {"R01-P01": answer("符合")}, [], "不是本规则的可选项"),
    ("no answer", {"R01-P01": {"核查说明": "没找到人"}}, [], "核查结果未选择"),
    ("no date", {"R01-P01": answer("不符合", day=None)}, [], "核查日期未填写"),
    ("not a date", {"R01-P01": answer("不符合", day="2026-02-30")}, [], "不是有效日期"),
    ("date after today", {"R01-P01": answer("不符合", day=TODAY + timedelta(days=1))}, [], "晚于今天"),
    (
        "date before the warning",
        {"R01-P01": answer("不符合", day=D - timedelta(days=1))},
        [],
        "早于首次预警日期",
    ),
    (
        "the same id twice",
        {"R01-P01": answer("不符合")},
        [
            {
                "预警编号": "R01-P01",
                "姓名": "孟平",
                "身份证号": "410822196803150310",
                **answer("符合，正在办理"),
            }
        ],
        "出现多次",
    ),
]


@pytest.mark.parametrize(("what", "rows", "extra", "reason"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_refused_with_its_reason_and_changes_nothing(
    world: tuple[CaseStore, Path], what: str, rows: dict, extra: list, reason: str
) -> None:
    store, out = world
    before = store.frame()
    audit_rows = len(store.table("audit"))
    result = run(store, fill(out / MOTOU, rows, extra=extra))
    assert [p.reason for p in result.problems if reason in p.reason], (what, result.problems)
    if what == "the same id twice":  # the first occurrence is imported, the second refused
        assert result.applied == 1 and result.problems[0].row == 7
        return
    assert result.applied == 0 and result.rejected == 1
    pd.testing.assert_frame_equal(store.frame(), before)
    assert len(store.table("audit")) == audit_rows
    refused = store.table("feedback")
    assert refused["outcome"].tolist() == ["rejected"] and reason in refused["reason"].iloc[0]


def test_an_older_file_never_overwrites_a_newer_answer(world: tuple[CaseStore, Path], tmp_path: Path) -> None:
    store, out = world
    original = tmp_path / "copy.xlsx"
    shutil.copy(out / MOTOU, original)
    newer = fill(out / MOTOU, {"R01-P01": answer("不符合", day=D + timedelta(days=3))})
    assert run(store, newer).applied == 1
    older = fill(original, {"R01-P01": answer("符合，正在办理", day=D + timedelta(days=1))})
    result = run(store, older)
    assert result.applied == 0 and "已有更新的核查结果(不符合,2026-12-02)" in result.problems[0].reason
    assert store.frame().set_index("warning_id").loc["R01-P01", "answer"] == "不符合"


def test_the_same_file_twice_or_its_resaved_copy_changes_nothing(
    world: tuple[CaseStore, Path], tmp_path: Path
) -> None:
    store, out = world
    path = fill(out / MOTOU, {"R01-P01": answer("不符合")})
    assert run(store, path).applied == 1
    before, trail = store.frame(), len(store.table("audit"))
    again = run(store, path)
    assert again.duplicate_of and again.applied == 0 and "导入过" in again.line()
    # Saved again (other bytes, same content): every row is unchanged.
    wb = openpyxl.load_workbook(path)
    wb.properties.lastModifiedBy = "另一台电脑"
    wb.save(tmp_path / "resaved.xlsx")
    copy = run(store, tmp_path / "resaved.xlsx")
    assert (copy.applied, copy.unchanged, copy.duplicate_of) == (0, 1, None)
    pd.testing.assert_frame_equal(store.frame(), before)
    assert len(store.table("audit")) == trail


def test_a_county_routes_its_unresolved_warning_to_a_township(world: tuple[CaseStore, Path]) -> None:
    store, out = world
    path = fill(out / COUNTY_LIST, {"R05-P04": {"应属乡镇": "柏山镇", **answer("符合，正在办理")}})
    result = run(store, path)
    assert result.township_code == "410822000" and result.applied == 1
    c = store.frame().set_index("warning_id").loc["R05-P04"]
    assert (c["routed_township_code"], c["status"]) == ("410822101", "in_progress")
    wrong = fill(out / COUNTY_LIST, {"R05-P04": {"应属乡镇": "解放区", **answer("符合，正在办理")}})
    assert "不是本县(市、区)的乡镇" in run(store, wrong).problems[0].reason


def test_revisits_are_read_from_their_own_sheet(db_url: str, tmp_path: Path) -> None:
    store = CaseStore(db_url)
    try:
        first_night(store)
        with store.begin() as conn:
            before = store.frame(conn)
            after = before.copy()
            due = after["warning_id"] == "R01-P01"
            after.loc[due, ["status", "answer", "answer_date", "closed_reason"]] = [
                REVISIT_DUE,
                "符合，已纳入救助",
                D + timedelta(days=1),
                "answer",
            ]
            store.save(conn, before, after, Origin(run_date=D))
        revisits = after[due].assign(answer_note="已纳入低保", phone="13900000000")
        out = books(tmp_path / "townships", revisits)
        wb = openpyxl.load_workbook(out / MOTOU)
        assert wb["待回访"].cell(4, 2).value == "R01-P01"
        visit = {
            "回访结果": "已回访，救助到位",
            "回访说明": "生活有改善",
            "回访人": "李四",
            "回访日期": TODAY,
        }
        result = run(store, fill(out / MOTOU, {"R01-P01": visit}, sheet="待回访"))
        assert result.applied == 1, result.problems
        c = store.frame().set_index("warning_id").loc["R01-P01"]
        assert (c["status"], c["revisit_answer"], c["revisit_date"]) == (
            "revisited",
            "已回访，救助到位",
            TODAY,
        )
        # A revisit of a case that is not due is refused.
        late = run(store, fill(out / MOTOU, {"R01-P01": {**visit, "回访结果": "无法联系"}}, sheet="待回访"))
        assert "不是待回访" in late.problems[0].reason
    finally:
        store.dispose()


def test_a_file_that_is_not_a_township_workbook_fails_alone(
    world: tuple[CaseStore, Path], tmp_path: Path
) -> None:
    store, _ = world
    junk = tmp_path / "410822105_磨头镇.xlsx"
    junk.write_bytes(b"PK\x03\x04 not really a workbook")
    result = run(store, junk)
    assert result.error and "无法打开文件" in result.error and result.applied == 0
    other = tmp_path / "名单.xlsx"
    openpyxl.Workbook().save(other)
    assert "无法确定这份名单属于哪个乡镇" in (run(store, other).error or "")
    write_result(tmp_path / "导入结果.xlsx", [result])
    assert openpyxl.load_workbook(tmp_path / "导入结果.xlsx")["导入结果"]["B2"].value.startswith("未导入")


def test_dates_as_officers_type_them() -> None:
    assert parse_date("2026.11.3") == date(2026, 11, 3)
    assert parse_date(" 2026 年 11 月 3 日 ") == date(2026, 11, 3)
    assert parse_date("11/3/2026") is None and parse_date("") is None and parse_date(True) is None


@pytest.mark.slow
def test_a_workbook_resaved_by_libreoffice_imports_the_same(tmp_path: Path) -> None:
    out = books(tmp_path / "townships")
    filled = fill(out / MOTOU, {"R01-P01": answer("不符合"), "R03-P01": answer("符合，已纳入救助", note="")})
    resaved = tmp_path / "lo"
    done = libreoffice([filled], "xlsx:Calc MS Excel 2007 XML", resaved, tmp_path / "lo-profile", 300)
    assert done.returncode == 0, done.stderr
    frames = []
    for name, path in (("original", filled), ("libreoffice", resaved / filled.name)):
        store = CaseStore(f"sqlite:///{tmp_path / name}.sqlite")
        first_night(store)
        result = run(store, path)
        assert (result.applied, result.rejected, result.township_code) == (2, 0, "410822105"), name
        frames.append(store.frame().drop(columns=[]).set_index("warning_id"))
        store.dispose()
    pd.testing.assert_frame_equal(frames[0], frames[1])
