"""Clerical review: uncertain pairs out to a workbook, reviewers' verdicts back into the state.

The workbook shows both records side by side with the evidence per comparison and a 判定 column
(同一人 / 不同人). A reviewer fills it in and drops it into ``<state>/review/``; every later run reads
all workbooks there (and the verdicts already stored in the state) and honours them: 同一人 joins
the two records' people, 不同人 keeps them apart.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.cells import neutralise
from pipeline.match import Decisions, evidence_text
from pipeline.match.compare import COMPARISONS
from pipeline.match.prepare import NATURAL_KEY

log = logging.getLogger(__name__)

SAME, DIFFERENT = "同一人", "不同人"
_SIDE_FIELDS = [
    (S.SOURCE, "来源"),
    (S.FILE, "文件"),
    (S.ROW, "行号"),
    (S.NAME, "姓名"),
    (S.ID_NUMBER, "身份证号"),
    (S.SEX, "性别"),
    (S.BIRTH_DATE, "出生日期"),
    (S.AGE, "年龄"),
    (S.DISCHARGE_DATE, "出院日期"),  # the day a hospital record's age was stated: checks 年龄不符
    (S.PHONE, "电话"),
    (S.COUNTY_CODE, "县区代码"),
    (S.TOWNSHIP_CODE, "乡镇代码"),
]
KEY_A, KEY_B, VERDICT = "A键", "B键", "判定"


#: A second candidate for the same record within this probability of the best is shown beside it.
RUNNER_UP_GAP = 0.10
RUNNER_UP, SAME_QUESTION, IMPACT = "次佳候选", "同一问题的记录对", "影响预警"
PERSON_A, PERSON_B = "A人员", "B人员"  # hidden: who the answer joins or keeps apart
_HIDDEN = (KEY_A, KEY_B, PERSON_A, PERSON_B)


def review_table(
    review: pd.DataFrame, records: pd.DataFrame, source_labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """One question per record: is this record (side A, of the smaller of the two people) the same
    person as the best candidate (side B)? The uncertain pairs between the same two people are one
    question (their count is shown); a second candidate person within ``RUNNER_UP_GAP`` of the best
    is named beside it. Most uncertain first; ``order_by_impact`` puts those that decide a warning
    first once the rules have run. ``records`` carry ``person_id``."""
    from pipeline.match import PERSON_ID

    labels = source_labels or {}
    if review.empty:
        return _table(review, records, labels, [], [], [])
    rv = review.copy()
    person = records[PERSON_ID]
    size = person.value_counts()
    pa, pb = person.loc[rv["left"].to_numpy()].to_numpy(), person.loc[rv["right"].to_numpy()].to_numpy()
    na, nb = size.reindex(pa).to_numpy(), size.reindex(pb).to_numpy()
    # The record asking is the one of the smaller person (a lone hospital record against a person
    # with five records); the comparison is symmetric, so only the sides swap.
    swap = (na > nb) | ((na == nb) & (pa > pb))
    left, right = rv["left"].to_numpy(), rv["right"].to_numpy()
    rv["left"], rv["right"] = np.where(swap, right, left), np.where(swap, left, right)
    rv["pa"], rv["pb"] = np.where(swap, pb, pa), np.where(swap, pa, pb)
    rv = rv.sort_values("probability", ascending=False, kind="stable")
    rv["same_question"] = rv.groupby(["pa", "pb"])["probability"].transform("size")
    rv = rv.drop_duplicates(["pa", "pb"])  # the strongest pair stands for its question
    rv["rank"] = rv.groupby("pa").cumcount()
    best = rv[rv["rank"] == 0]
    second = rv[rv["rank"] == 1]
    seconds = dict(zip(second["pa"], zip(second["right"], second["probability"], strict=True), strict=True))
    runner = []
    for p, prob in zip(best["pa"], best["probability"], strict=True):
        other = seconds.get(p)
        if other is not None and other[1] >= prob - RUNNER_UP_GAP:
            rec = records.loc[other[0]]
            shown = (
                labels.get(str(rec[S.SOURCE]), str(rec[S.SOURCE])),
                rec[S.NAME],
                rec[S.ID_NUMBER],
                f"{rec[S.FILE]} 第{int(rec[S.ROW])}行",
                f"匹配概率 {float(other[1]):.2f}",
            )
            runner.append("、".join(v for v in shown if isinstance(v, str) and v))
        else:
            runner.append("")
    # Most uncertain first: a probability near 0.5 is the model's coin toss.
    order = (best["probability"] - 0.5).abs().to_numpy().argsort(kind="stable")
    best = best.iloc[order]
    return _table(
        best,
        records,
        labels,
        [runner[i] for i in order],
        best["same_question"].astype(int).tolist(),
        [best["pa"].tolist(), best["pb"].tolist()],
    )


def _table(
    review: pd.DataFrame,
    records: pd.DataFrame,
    source_labels: dict[str, str],
    runner: list[str],
    same_question: list[int],
    persons: list[list[str]],
) -> pd.DataFrame:
    out: dict[str, object] = {"序号": list(range(1, len(review) + 1))}
    for side, col in (("A", "left"), ("B", "right")):
        rec = records.loc[review[col].to_numpy()] if len(review) else records.iloc[:0]
        for field, label in _SIDE_FIELDS:
            values = rec[field]
            if field == S.SOURCE:  # 医保住院结算, not "medical"
                values = values.map(lambda k: source_labels.get(k, k))
            if field == S.AGE:  # a whole number of years, not 79.0
                values = pd.to_numeric(values, errors="coerce").astype("Int64").astype("object")
            if field in (S.BIRTH_DATE, S.DISCHARGE_DATE):
                values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
            out[f"{side}{label}"] = values.astype("object").where(values.notna(), "").astype(str).to_numpy()
    lv = review[[f"lv_{k}" for k in COMPARISONS]].rename(columns=lambda c: c[3:])
    w = review[[f"w_{k}" for k in COMPARISONS]].rename(columns=lambda c: c[2:])
    out["匹配概率"] = review["probability"].round(4).to_numpy()
    out["比对依据"] = evidence_text(lv, w) if len(review) else []
    out[RUNNER_UP] = runner
    out[SAME_QUESTION] = same_question
    out[VERDICT] = [""] * len(review)
    if len(review):
        out[KEY_A] = records.loc[review["left"].to_numpy(), NATURAL_KEY].to_numpy()
        out[KEY_B] = records.loc[review["right"].to_numpy(), NATURAL_KEY].to_numpy()
        out[PERSON_A], out[PERSON_B] = persons
    else:
        for k in _HIDDEN:
            out[k] = []
    return pd.DataFrame(out)


def order_by_impact(table: pd.DataFrame, warned: set[str]) -> pd.DataFrame:
    """Questions about a person with a warning tonight first (the answer can add, drop or change
    it), then as they were (most uncertain first); 影响预警 says which, 序号 counts again."""
    impact = table[PERSON_A].isin(warned) | table[PERSON_B].isin(warned)
    out = table.assign(**{IMPACT: np.where(impact, "是", "")})
    out = out.iloc[np.argsort(~impact.to_numpy(), kind="stable")].reset_index(drop=True)
    out["序号"] = range(1, len(out) + 1)
    cols = [c for c in out.columns if c != IMPACT]
    cols.insert(1, IMPACT)
    return out[cols]


def write_review(
    path: Path,
    table: pd.DataFrame,
    run_date: str,
    inbox: Path | None = None,
    person_checks: pd.DataFrame | None = None,
) -> None:
    """The review workbook; ``inbox`` is where a filled-in copy goes (``<state>/review/``), spelled
    out in the instructions. ``person_checks`` (``person_check_table``): the records of people a
    township answered 人员信息有误 for, on a second sheet."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    try:
        ws = wb.add_worksheet("待复核")
        title = wb.add_format({"bold": True, "font_size": 13})
        head = wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        fill = wb.add_format({"bg_color": "#FFF2CC", "border": 1, "locked": False})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        ws.write_string(0, 0, f"人员比对待复核清单(运行日期 {run_date},共 {len(table)} 个问题)", title)
        ws.write_string(
            1,
            0,
            "每行一个问题:A 记录与 B 记录是否为同一人(B 为最可能的候选,“次佳候选”为概率相近的另一人)。"
            "“影响预警”为“是”的排在前面:其中一人有今晚的预警,判定会改变预警。"
            "请在“判定”列选择“同一人”或“不同人”,保存后放入"
            + (f"文件夹 {inbox} " if inbox else "状态文件夹的 review 子文件夹")
            + ";"
            "以后每次运行都会采用您的判定。",
        )
        cols = list(table.columns)
        for j, c in enumerate(cols):
            ws.write_string(2, j, c, head)
        verdict_col = cols.index(VERDICT)
        for i, row in enumerate(table.itertuples(index=False), start=3):
            for j, v in enumerate(row):
                if j == verdict_col:
                    ws.write_blank(i, j, None, fill)
                elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
                    ws.write_number(i, j, float(v))
                else:
                    ws.write_string(i, j, neutralise(str(v)), wrap if cols[j] == "比对依据" else None)
        last = max(len(table) + 2, 3)
        ws.data_validation(
            3, verdict_col, last, verdict_col, {"validate": "list", "source": [SAME, DIFFERENT]}
        )
        ws.freeze_panes(3, 1)
        ws.autofilter(2, 0, last, len(cols) - 1)
        ws.set_column(0, len(cols) - 1, 12)
        ws.set_column(cols.index("比对依据"), cols.index("比对依据"), 60)
        for hidden in _HIDDEN:
            if hidden in cols:
                ws.set_column(cols.index(hidden), cols.index(hidden), 12, None, {"hidden": True})
        if RUNNER_UP in cols:
            ws.set_column(cols.index(RUNNER_UP), cols.index(RUNNER_UP), 30)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(2)
        if person_checks is not None:
            _write_person_checks(wb.add_worksheet(PERSON_CHECKS), person_checks, title, head, wrap)
    finally:
        wb.close()


PERSON_CHECKS = "乡镇反馈人员信息有误"


def person_check_table(flagged: pd.DataFrame, records: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Every record of the people a township answered 人员信息有误 (or 死亡信息有误) for, with how
    each was linked: what a reviewer needs to see whether records of two people were joined.

    ``flagged``: warning_id, person_id, answer, answer_date, answer_note (from the case store).
    """
    cols = [
        "预警编号",
        "乡镇反馈",
        "反馈日期",
        "核查说明",
        "数据源",
        "文件",
        "行号",
        "姓名",
        "身份证号",
        "关联方式",
        "匹配概率",
    ]
    if flagged.empty:
        return pd.DataFrame(columns=cols)
    from pipeline.match import LINK_RULE, MATCH_PROBABILITY, PERSON_ID

    mine = flagged.merge(records, left_on="person_id", right_on=PERSON_ID)
    mine = mine.sort_values(["warning_id", S.SOURCE, S.FILE, S.ROW])
    return pd.DataFrame(
        {
            "预警编号": mine["warning_id"].to_numpy(),
            "乡镇反馈": mine["answer"].to_numpy(),
            "反馈日期": mine["answer_date"].astype(str).to_numpy(),
            "核查说明": mine["answer_note"].fillna("").to_numpy(),
            "数据源": mine[S.SOURCE].map(labels).fillna(mine[S.SOURCE]).to_numpy(),
            "文件": mine[S.FILE].to_numpy(),
            "行号": mine[S.ROW].astype(int).to_numpy(),
            "姓名": mine[S.NAME].fillna("").to_numpy(),
            "身份证号": mine[S.ID_NUMBER].fillna("").to_numpy(),
            "关联方式": mine[LINK_RULE]
            .map({"id": "身份证号一致", "model": "模型关联"})
            .fillna("仅此一条")
            .to_numpy(),
            "匹配概率": mine[MATCH_PROBABILITY].astype(float).round(4).to_numpy(),
        }
    )


def _write_person_checks(ws: Any, table: pd.DataFrame, title: Any, head: Any, wrap: Any) -> None:
    ws.write_string(
        0, 0, f"乡镇反馈“人员信息有误”的人员及其全部记录(共 {table['预警编号'].nunique()} 条预警)", title
    )
    ws.write_string(
        1,
        0,
        "请核对这些记录是否属于同一人;不属于的,在“待复核”表中将相应记录对判定为“不同人”,"
        "或修正源数据后下次运行自动更新。",
    )
    for j, c in enumerate(table.columns):
        ws.write_string(2, j, c, head)
    for i, row in enumerate(table.itertuples(index=False), start=3):
        for j, v in enumerate(row):
            if isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, neutralise(str(v)), wrap)
    if table.empty:
        ws.write_string(3, 0, "目前没有乡镇反馈人员信息有误的预警。")
    ws.set_column(0, len(table.columns) - 1, 12)
    ws.set_column(3, 3, 30)
    ws.freeze_panes(3, 1)


def merge_decisions(stored: pd.DataFrame, workbooks: list[Path]) -> tuple[pd.DataFrame, bool]:
    """Verdicts from the returned workbooks on top of those stored before (the newest wins).

    Returns the merged table (a, b, verdict) and whether it differs from ``stored``; a workbook
    that cannot be read is logged and skipped, never stops the night.
    """
    found = []
    for path in workbooks:
        try:
            table = pd.read_excel(path, sheet_name=0, header=2, dtype=str, engine="calamine")
        except Exception as e:  # a damaged workbook must not stop the night
            log.error("review workbook %s cannot be read (%s); its verdicts are skipped", path.name, e)
            continue
        if not {KEY_A, KEY_B, VERDICT} <= set(table.columns):
            log.error(
                "review workbook %s lacks the %s/%s/%s columns; skipped", path.name, KEY_A, KEY_B, VERDICT
            )
            continue
        t = table[table[VERDICT].isin([SAME, DIFFERENT])][[KEY_A, KEY_B, VERDICT]]
        found.append(t.rename(columns={KEY_A: "a", KEY_B: "b", VERDICT: "verdict"}))
    allv = pd.concat([stored, *found], ignore_index=True).drop_duplicates(["a", "b"], keep="last")
    return allv, bool(len(allv) != len(stored) or found)


def as_decisions(verdicts: pd.DataFrame) -> Decisions:
    """The matcher's constraints from a verdict table (a, b, verdict)."""
    same = verdicts["verdict"] == SAME
    different = verdicts["verdict"] == DIFFERENT
    return Decisions(
        must=list(zip(verdicts.loc[same, "a"], verdicts.loc[same, "b"], strict=True)),
        cannot=list(zip(verdicts.loc[different, "a"], verdicts.loc[different, "b"], strict=True)),
    )
