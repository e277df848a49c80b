"""The review queue, hand-worked: one question per record, the runner-up when close, the most
uncertain first, and the questions that decide a warning ahead of the rest."""

from __future__ import annotations

import pandas as pd

from pipeline import schema as S
from pipeline.match import PERSON_ID
from pipeline.match.compare import COMPARISONS
from pipeline.match.prepare import NATURAL_KEY
from pipeline.match.review import (
    IMPACT,
    KEY_A,
    KEY_B,
    PERSON_A,
    PERSON_B,
    RUNNER_UP,
    SAME_QUESTION,
    order_by_impact,
    review_table,
)

#: record -> (person, source, name): Y has three records; X, Z, W and V one each.
RECORDS = {
    "s1": ("X", "students", "王小明"),
    "m1": ("Y", "monitoring", "王晓明"),
    "r1": ("Y", "assistance", "王晓明"),
    "a1": ("Y", "disability", "王晓明"),
    "z1": ("Z", "medical", "王小名"),
    "w1": ("W", "medical", "李四"),
    "v1": ("V", "deaths", "李思"),
}


def records() -> pd.DataFrame:
    r = pd.DataFrame(
        {
            PERSON_ID: [p for p, _, _ in RECORDS.values()],
            S.SOURCE: [s for _, s, _ in RECORDS.values()],
            S.NAME: [n for _, _, n in RECORDS.values()],
            S.FILE: "f.csv",
            S.ROW: range(2, 2 + len(RECORDS)),
            NATURAL_KEY: [f"key-{k}" for k in RECORDS],
        },
        index=list(RECORDS),
    )
    for field in (S.ID_NUMBER, S.SEX, S.BIRTH_DATE, S.AGE, S.DISCHARGE_DATE, S.PHONE, S.COUNTY_CODE):
        r[field] = None
    r[S.TOWNSHIP_CODE] = None
    return r


def pairs(*rows: tuple[str, str, float]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["left", "right", "probability"])
    for k in COMPARISONS:
        out[f"lv_{k}"] = 1 if k == "name" else 0
        out[f"w_{k}"] = 2.0 if k == "name" else 0.0
    return out


def test_one_question_per_record_with_the_runner_up_when_close() -> None:
    review = pairs(
        ("m1", "s1", 0.70),  # the student against Y's monitoring row …
        ("s1", "r1", 0.65),  # … and Y's roster row: the same question
        ("s1", "z1", 0.62),  # another person, 0.08 below the best: the runner-up
        ("w1", "v1", 0.55),  # a separate question
    )
    t = review_table(review, records(), {"students": "学生学籍", "medical": "医保住院结算"})
    assert len(t) == 2  # four pairs, two questions
    # Most uncertain first: 0.55 is nearer a coin toss than 0.70.
    assert t["匹配概率"].tolist() == [0.55, 0.70]
    wv, xy = t.iloc[0], t.iloc[1]
    assert (wv[PERSON_A], wv[PERSON_B]) == ("V", "W")  # equal sizes: the smaller person id asks
    assert (xy[PERSON_A], xy[PERSON_B]) == ("X", "Y")  # the lone student record asks about Y
    assert (xy[KEY_A], xy[KEY_B], xy[SAME_QUESTION]) == ("key-s1", "key-m1", 2)
    assert xy["A来源"] == "学生学籍" and "医保住院结算、王小名" in xy[RUNNER_UP] and "0.62" in xy[RUNNER_UP]
    assert wv[RUNNER_UP] == "" and wv[SAME_QUESTION] == 1


def test_a_runner_up_further_than_the_gap_is_not_shown() -> None:
    t = review_table(pairs(("s1", "m1", 0.80), ("s1", "z1", 0.65)), records())
    assert len(t) == 1 and t.iloc[0][RUNNER_UP] == ""


def test_questions_that_decide_a_warning_come_first() -> None:
    t = review_table(pairs(("s1", "m1", 0.70), ("w1", "v1", 0.55)), records())
    ordered = order_by_impact(t, warned={"Y"})
    assert ordered[PERSON_B].tolist() == ["Y", "W"] and ordered[IMPACT].tolist() == ["是", ""]
    assert ordered["序号"].tolist() == [1, 2] and list(ordered.columns)[:2] == ["序号", IMPACT]
    assert order_by_impact(t, warned=set())[PERSON_B].tolist() == ["W", "Y"]  # else as they were


def test_no_uncertain_pairs_make_an_empty_queue_with_every_column() -> None:
    t = review_table(pairs(), records())
    assert t.empty and {KEY_A, KEY_B, PERSON_A, PERSON_B, RUNNER_UP} <= set(t.columns)
    assert order_by_impact(t, {"Y"}).empty
