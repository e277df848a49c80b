"""Three nights on the sample, with townships answering in between: the loop closes.

Night 1 raises warnings. Two townships answer through their workbooks (filled with openpyxl and
dropped into the state's inbox): A (大额医疗自付) 不符合, B (监测户残疾人) 符合，已纳入救助.
Night 2 imports them, sends neither again, and closes C (护理补贴) whose payment now shows in the
month's subsidy file. Night 3 sends A again because a new hospital stay raised the out-of-pocket
sum by more than the rule's share, and verifies B's enrolment against the new roster rows. The
summary's funnel numbers match the store.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pipeline.cases.store import CaseStore
from pipeline.contracts import CASES, FEEDBACK_SUMMARY, MANIFEST, SUMMARY_HTML, TOWNSHIPS, WARNINGS
from pipeline.runs import run_all
from pipeline.settings import Settings
from tests.returned import filled

D1, D2, D3 = date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)


def read_csv(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False)
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"cannot read {path}")


def add_rows(folder: Path, name: str, rows: list[dict[str, Any]], like: Path) -> None:
    """A new file of the month in a source folder, with the header of an existing one."""
    header = list(read_csv(like).columns)
    pd.DataFrame(rows, columns=header).to_csv(folder / name, index=False, encoding="utf-8")


def fill(book: Path, answers: dict[str, str], day: date, inbox: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    filled(book, answers, day).save(inbox / book.name)


def book_of(run_dir: Path, township_code: str) -> Path:
    found = list(TOWNSHIPS.at(run_dir).rglob(f"{township_code}_*.xlsx"))
    assert len(found) == 1, township_code
    return found[0]


def listed(book: Path) -> dict[str, dict[str, Any]]:
    ws = openpyxl.load_workbook(book)["预警名单"]
    head = [c.value for c in ws[3]]
    rows = [dict(zip(head, r, strict=False)) for r in ws.iter_rows(min_row=4, values_only=True)]
    return {r["预警编号"]: r for r in rows if r.get("预警编号")}


@pytest.mark.slow
def test_three_nights_close_the_loop(tmp_path: Path, sample_dir: Path) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    out, state = tmp_path / "out", tmp_path / "state"

    def night(day: date) -> Path:
        return run_all(Settings.build(extracts=extracts, out=out, state=state, run_date=day))

    # --- night 1 ---------------------------------------------------------------------------------
    run1 = night(D1)
    w = pd.read_parquet(WARNINGS.at(run1))
    placed = w[w["township_code"].notna()]

    def pick(rule: str, taken: set[str]) -> pd.Series:
        rows = placed[(placed["rule"] == rule) & ~placed["person_id"].isin(taken)]
        assert len(rows), f"the sample has no placed {rule} warning"
        return rows.iloc[0]

    a = pick("R05", set())
    b = pick("R01", {a.person_id})
    c = pick("R03", {a.person_id, b.person_id})
    e = pick("R01", {a.person_id, b.person_id, c.person_id})
    inbox = state / "inbox"
    answers: dict[str, dict[str, str]] = {}
    for who, said in ((a, "不符合"), (b, "符合，已纳入救助"), (e, "人员信息有误")):
        answers.setdefault(who.township_code, {})[who.warning_id] = said
    for town, given in answers.items():
        fill(book_of(run1, town), given, D1 + timedelta(days=1), inbox)

    # --- night 2: the answers come in; C's nursing subsidy is paid this month ---------------------
    subsidy = extracts / "subsidy"
    add_rows(
        subsidy,
        "两项补贴发放_2026-11.csv",
        [
            {
                "县(市、区)": c.county,
                "乡(镇、街道)": c.township,
                "姓名": c["name"],
                "身份证号": c.id_number,
                "补贴类别": "重度残疾人护理补贴",
                "发放年月": "2026-11",
                "发放金额": "100",
            }
        ],
        like=next(subsidy.glob("*.csv")),
    )
    run2 = night(D2)
    imported = json.loads(FEEDBACK_SUMMARY.at(run2).read_text(encoding="utf-8"))["files"]
    assert sum(f["applied"] for f in imported) == 3 and not any(f["rejected"] or f["error"] for f in imported)
    assert not list(inbox.glob("*.xlsx")) and len(list((inbox / "done").glob("*_导入结果.xlsx"))) == len(
        answers
    )
    sent2 = pd.read_parquet(CASES.at(run2)).set_index("warning_id")
    assert a.warning_id not in sent2.index and b.warning_id not in sent2.index  # answered: not sent again
    assert a.warning_id in set(pd.read_parquet(WARNINGS.at(run2))["warning_id"])  # though raised again
    store = CaseStore(f"sqlite:///{state / 'cases.sqlite'}")
    cases = store.frame().set_index("warning_id")
    assert (cases.loc[a.warning_id, "status"], cases.loc[a.warning_id, "answer"]) == ("closed", "不符合")
    assert cases.loc[b.warning_id, "verification"] == "pending"
    assert (cases.loc[c.warning_id, "status"], cases.loc[c.warning_id, "closed_reason"]) == (
        "closed",
        "vanished",
    )
    assert "享受重度残疾人护理补贴 是" in cases.loc[c.warning_id, "note"]
    # The others continue: same id, first date of night 1, shown as 已下发 in their workbook.
    others = sent2[sent2["first_seen"] == D1]
    assert len(others) and set(others["case_status"]) == {"已下发"}
    one = others.index[0]
    shown = listed(book_of(run2, str(others.loc[one, "township_code"])))[one]
    assert shown["状态"] == "已下发" and shown["首次预警日期"].date() == D1
    manifest = json.loads(MANIFEST.at(run2).read_text(encoding="utf-8"))
    assert manifest["rows"]["cases"]["closed_vanished"] >= 1 and manifest["rows"]["cases"]["suppressed"] >= 2
    assert manifest["rows"]["feedback"]["rows_applied"] == 3
    # 人员信息有误: not sent again, and the person's records are in the matching review.
    assert e.warning_id not in sent2.index and cases.loc[e.warning_id, "status"] == "answered"
    checks = pd.read_excel(run2 / "review" / "match_review.xlsx", sheet_name="乡镇反馈人员信息有误", header=2)
    assert set(checks["预警编号"]) == {e.warning_id} and len(checks) >= 1

    # --- night 3: A's new hospital stay; B on the roster ---------------------------------------------
    medical = extracts / "medical"
    stays = pd.concat([read_csv(p) for p in sorted(medical.glob("*.csv"))])
    mine = stays[stays["证件号码"].str.strip(" '\u3000") == a.id_number]
    assert len(mine), "A's stays are in the medical files"
    stay = mine.iloc[0].to_dict()
    stay.update(
        结算单号="JS209900000001", 入院日期="2026-11-20", 出院日期="2026-11-26", 个人自付=f"{a.amount:.2f}"
    )
    add_rows(medical, "住院结算_2026-11补充.csv", [stay], like=next(medical.glob("*.csv")))
    assistance = extracts / "assistance"
    add_rows(
        assistance,
        f"{b.county_code}_低保特困人员名册_新增.csv",
        [
            {
                "县(市、区)": b.county,
                "乡(镇、街道)": b.township,
                "村(社区)": b.village or "",
                "户主姓名": b["name"],
                "户主身份证号": b.id_number,
                "成员姓名": b["name"],
                "成员身份证号": b.id_number,
                "与户主关系": "户主",
                "救助类别": "农村低保",
                "保障状态": "正常",
                "纳入时间": "2026/11/20",
                "月保障金额": "470",
            }
        ],
        like=next(assistance.glob("*.csv")),
    )
    run3 = night(D3)
    sent3 = pd.read_parquet(CASES.at(run3)).set_index("warning_id")
    assert a.warning_id in sent3.index, "a material change sends a held case again"
    note = sent3.loc[a.warning_id, "case_note"]
    assert "不符合" in note and "近一年住院个人自付(元)" in note and "→" in note
    assert sent3.loc[a.warning_id, "first_seen"] == D1
    shown = listed(book_of(run3, a.township_code))[a.warning_id]
    assert shown["核查记录"] == note and shown["状态"] == "新预警"  # sent again: new in this round
    cases = store.frame().set_index("warning_id")
    assert cases.loc[b.warning_id, "verification"] == "verified"
    assert cases.loc[a.warning_id, "previous_answer"] == "不符合"

    # The summary's funnel is the store's.
    published = cases[cases["first_published"].notna()]
    expected = [
        len(published),
        int(published["first_answered"].notna().sum()),
        1,  # B eligible (A's 不符合 was cleared when it was sent again; E's answer is not eligible)
        1,
        1,
        int((published["status"] == "overdue").sum()),
    ]
    page = SUMMARY_HTML.at(run3).read_text(encoding="utf-8")
    total = re.search(r"<tr><th>全市</th>(.*?)</tr>", page)
    assert total, "the summary has the city's funnel row"
    cells = [re.sub(r"[^\d.%—]", "", x) for x in re.findall(r'<th class="num">(.*?)</th>', total.group(1))]
    numbers = [int(cells[i]) for i in (0, 1, 3, 4, 5, 6)]
    assert numbers == expected, (cells, expected)
    store.dispose()
