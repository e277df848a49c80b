"""Comparison levels and model terms worked by hand (issue 16): the place levels for a record that
names only its county, the birth window an age stated in hospital allows, m(age) measured on the
records that carry both an ID and an age, the name-and-sex frequency, and the saved model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import schema as S
from pipeline.match import ELSEWHERE, evidence_text, person_evidence, person_weights, saved
from pipeline.match import model as model_module
from pipeline.match.blocking import LEFT, RIGHT, run_pass
from pipeline.match.compare import (
    COMPARISONS,
    LEVEL_LABELS,
    Sides,
    compare,
    guardian_levels,
    name_levels,
    score_adult,
    score_county,
    score_place,
)
from pipeline.match.model import Model, age_agreement, name_frequencies, weights
from pipeline.match.prepare import (
    ADULT_BY,
    ANCHOR_ID,
    BIRTH_EXACT,
    BIRTH_HI,
    BIRTH_LO,
    CUT_ID,
    DISABLED,
    HOUSEHOLD,
    NATURAL_KEY,
    adult_by,
    detach_foreign,
    grade_window,
    households,
    prepare,
    stated_window,
    unanchored_mask,
)
from pipeline.match.settings import load_matching
from pipeline.settings import PROJECT_ROOT

SETTINGS = load_matching(PROJECT_ROOT / "rules" / "matching.yaml")
PLACE = COMPARISONS["place"]


def places(rows: list[tuple[str | None, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[S.COUNTY_CODE, S.TOWNSHIP_CODE, S.VILLAGE], dtype=object)


def test_the_county_alone_is_its_own_comparison_when_a_township_is_unknown() -> None:
    r = places(
        [
            ("410822", "410822105", "东村"),  # 0
            ("410822", None, None),  # 1: a hospital stay: its 参保地 names only the county
            ("410822", "410822106", "西村"),  # 2: another township of the county
            ("410823", None, None),  # 3: another county, no township
            ("410822", "410822105", "东村"),  # 4: the same village
            ("410822", "410822105", None),  # 5: the same township, village unknown
            (None, None, None),  # 6: nothing known
            ("410823", "410823101", "南村"),  # 7: another county with a township
        ]
    )
    left = np.array([0, 0, 0, 0, 0, 1, 0])
    right = np.array([1, 2, 3, 4, 5, 6, 7])
    sides = Sides(r, left, right, SETTINGS, None)
    got = [PLACE[k - 1] if k else "missing" for k in score_place(sides)]
    assert got == ["missing", "other_township", "missing", "village", "township", "missing", "else"]
    county = [COMPARISONS["county"][k - 1] if k else "missing" for k in score_county(sides)]
    assert county == ["exact", "missing", "else", "missing", "missing", "missing", "missing"]
    labels = dict(zip(PLACE, LEVEL_LABELS["place"][1:], strict=True))
    assert labels["other_township"] == "同县区不同乡镇" and LEVEL_LABELS["county"][1] == "同县区"


def stays(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[S.AGE, S.ADMIT_DATE, S.DISCHARGE_DATE]).astype(
        {S.ADMIT_DATE: "datetime64[ns]", S.DISCHARGE_DATE: "datetime64[ns]"}
    )


def day(d: str) -> float:
    return float((pd.Timestamp(d) - pd.Timestamp(1970, 1, 1)).days)


def test_stated_window_fits_an_age_taken_at_admission_or_at_discharge() -> None:
    # Born 1990-06-10; in hospital 2026-06-01 to 2026-06-20: 35 at admission, 36 at discharge.
    r = stays(
        [(35, "2026-06-01", "2026-06-20"), (36, "2026-06-01", "2026-06-20"), (None, None, "2026-06-20")]
    )
    lo, hi = stated_window(r)
    born = day("1990-06-10")
    assert lo[0] <= born <= hi[0] and lo[1] <= born <= hi[1]
    # A year plus the stay: 36 at admission was born 1989-06-01..1990-06-01 (+ the 19 days' stay).
    assert hi[1] - lo[1] == pytest.approx(365.2425 + 19)
    assert np.isnan(lo[2]) and np.isnan(hi[2])


def test_m_of_age_is_read_off_records_with_an_id_and_an_age() -> None:
    r = stays(
        [
            (36, "2026-06-01", "2026-06-20"),  # fits 1990-06-10
            (35, "2026-06-01", "2026-06-20"),  # fits (age at admission)
            (40, "2026-06-01", "2026-06-20"),  # a slip: four years off
            (50, None, None),  # no event date: no window
            (None, "2026-06-01", "2026-06-20"),  # no age
        ]
    )
    r[S.BIRTH_DATE] = pd.Timestamp("1990-06-10")
    r[BIRTH_EXACT] = True
    r[BIRTH_LO] = day("1990-06-10")  # as prepare() sets it: an exact birth's window is its day
    share, n = age_agreement(r) or (0.0, 0)
    assert n == 3 and share == pytest.approx(2 / 3)  # records without a window do not count
    r[BIRTH_EXACT] = False
    assert age_agreement(r) is None


def toy_model(name_tf: dict[str, float], name_sex_tf: dict[tuple[str, str], float]) -> Model:
    m = {k: np.full(len(v), 1.0 / len(v)) for k, v in COMPARISONS.items()}
    u = {k: np.full(len(v), 1.0 / len(v)) for k, v in COMPARISONS.items()}
    others = len(COMPARISONS["name"]) - 1
    m["name"] = np.array([0.9] + [0.1 / others] * others)
    m["sex"], u["sex"] = np.array([0.99, 0.01]), np.array([0.5, 0.5])
    return Model(m=m, u=u, prior=0.5, name_tf=name_tf, min_tf=1e-6, name_sex_tf=name_sex_tf)


def test_agreeing_on_sex_adds_nothing_for_a_name_only_one_sex_bears() -> None:
    # 张伟: 1 in 1,000 people, all men. 王静: 1 in 1,000, half of them women, half men.
    model = toy_model(
        {"张伟": 1e-3, "王静": 1e-3}, {("张伟", "男"): 1e-3, ("王静", "女"): 5e-4, ("王静", "男"): 5e-4}
    )
    r = pd.DataFrame({S.NAME: ["张伟", "王静", "张伟"], S.SEX: ["男", "女", None]})
    levels = pd.DataFrame({k: np.zeros(3, dtype=np.int8) for k in COMPARISONS})
    levels["name"] = 1
    levels["sex"] = np.array([1, 1, 0], dtype=np.int8)
    w = weights(r, np.array([0, 1, 2]), levels, model)
    both = (w["name"] + w["sex"]).to_numpy()
    # name and sex together: log2(0.9 * 0.99 / tf(name, sex)).
    assert both[0] == pytest.approx(np.log2(0.9 * 0.99 / 1e-3))  # 张伟, 男: about one bit less than before
    assert both[1] == pytest.approx(np.log2(0.9 * 0.99 / 5e-4))  # 王静, 女: sex still tells something
    assert both[2] == pytest.approx(np.log2(0.9 / 1e-3))  # sex unknown: the name alone


def test_a_name_is_as_common_as_the_people_with_an_id_who_bear_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "MIN_PEOPLE_WITH_ID", 1)  # three people are enough here
    # Three people with IDs: 李娜 (three records), two men named 张伟. Five records without an
    # ID: a caller 李娜 and her stay (likely the 李娜 above), two stays of one infant 焦阳明 and an
    # infant 李伟's stay.
    r = pd.DataFrame(
        {
            ANCHOR_ID: ["A", "A", "A", "B", "C", None, None, None, None, None],
            S.NAME: ["李娜", "李娜", "李娜", "张伟", "张伟", "李娜", "李娜", "焦阳明", "焦阳明", "李伟"],
            S.SEX: ["女", "女", "女", "男", "男", None, "女", "男", "男", "男"],
        }
    )
    tf, min_tf, by_sex = name_frequencies(r)
    # Records without an ID are not distinct people: counting them made 李娜 as common as 张伟
    # (3 in 8 against 2 in 8), and a rare name weighed least where its bearer left the most
    # ID-less records, the very records the frequency is used to link.
    assert tf["李娜"] == pytest.approx(1 / 3) and tf["张伟"] == pytest.approx(2 / 3)
    # Nobody with an ID is called 李伟, but a third of them are 李 and two thirds are named 伟:
    # 李伟 is as common as that predicts, not unique; among men, as 伟 is among men.
    assert tf["李伟"] == pytest.approx(1 / 3 * 2 / 3)
    assert by_sex[("李伟", "男")] == pytest.approx(1 / 3 * 2 / 3) and ("李伟", "女") not in by_sex
    # Nobody with an ID is 焦: the name is as rare as can be.
    assert "焦阳明" not in tf and min_tf == pytest.approx(1 / 3)
    assert by_sex[("李娜", "女")] == pytest.approx(1 / 3) and by_sex[("张伟", "男")] == pytest.approx(2 / 3)


def test_with_almost_no_ids_every_record_counts_as_a_person() -> None:
    # Extracts that carry almost no usable ID: a frequency read off a handful of people would make
    # every other name "the rarest there is"; each record counts instead (an overcount).
    r = pd.DataFrame(
        {
            ANCHOR_ID: ["A", None, None, None],
            S.NAME: ["李娜", "李娜", "张伟", "王芳"],
            S.SEX: ["女", "女", "男", "女"],
        }
    )
    tf, min_tf, _ = name_frequencies(r)
    assert tf["李娜"] == pytest.approx(2 / 4) and tf["张伟"] == pytest.approx(1 / 4)
    assert min_tf == pytest.approx(1 / 4)


def test_a_detached_infant_does_not_inherit_the_parents_disability_status() -> None:
    parent = "410822199001011232"
    records = pd.DataFrame(
        {
            S.SOURCE: ["disability", "medical", "medical"],
            S.FILE: "hand.csv",
            S.ROW: [1, 2, 3],
            S.NAME: ["焦阳明", "焦阳明", "焦小雨"],
            S.NAME_PINYIN: ["jiao yang ming", "jiao yang ming", "jiao xiao yu"],
            S.ID_NUMBER: parent,
            S.ID_STATUS: S.IdStatus.VALID.value,
            S.BIRTH_DATE: pd.Timestamp("1990-01-01"),
            S.AGE: [None, 36, 0],
            S.DISCHARGE_DATE: pd.Timestamp("2026-05-01"),
        }
    )
    r = prepare(records)
    assert r[DISABLED].tolist() == [True, True, True]  # before: all three by the father's ID
    assert detach_foreign(r, SETTINGS.max_age_gap_years) == 1
    assert r[DISABLED].tolist()[:2] == [True, True] and r[DISABLED].iloc[2] is None


def test_saved_model_keeps_the_name_and_sex_frequencies(tmp_path: Path) -> None:
    model = toy_model({"张伟": 1e-3}, {("张伟", "男"): 9e-4, ("张伟", "女"): 1e-4})
    saved.save(tmp_path, saved.SavedModel(model, date(2026, 11, 29), "f"))
    back = saved.load(tmp_path)
    assert back is not None
    assert back.model.name_tf == {"张伟": 1e-3}
    assert back.model.name_sex_tf == {("张伟", "男"): 9e-4, ("张伟", "女"): 1e-4}
    # A model saved before the (name, sex) frequencies is not used: the night fits again.
    pd.DataFrame({"name": ["张伟"], "tf": [1e-3]}).to_parquet(tmp_path / saved.NAME_TF)
    assert saved.load(tmp_path) is None


def test_grade_window_allows_the_ages_of_a_grade() -> None:
    r = pd.DataFrame(
        {
            S.SCHOOL_STAGE: ["小学", "初中", "初中", "高中", "小学", None],
            S.GRADE: ["一年级", "七年级", "初一", "高三", "不详", None],
        }
    )
    lo, hi = grade_window(r, date(2026, 11, 29))
    # Read on the first of the run date's month: every night of November reads grades alike.
    years = (day("2026-11-01") - np.array([lo, hi])) / 365.2425
    # 一年级 (year 1 at school): 5 to 9 years old; 初一 is 七年级 (year 7); 高三 is year 12.
    assert years[:, 0] == pytest.approx([9, 5])
    assert years[:, 1] == pytest.approx([15, 11]) and years[:, 2] == pytest.approx([15, 11])
    assert years[:, 3] == pytest.approx([20, 16])
    assert np.isnan(lo[4:]).all()
    assert np.isnan(grade_window(r, None)[0]).all()  # no run date: grades unused
    same = grade_window(r, date(2026, 11, 1))
    assert np.array_equal(same[0], lo, equal_nan=True) and np.array_equal(same[1], hi, equal_nan=True)
    assert (grade_window(r, date(2026, 12, 1))[0][:4] == lo[:4] + 30).all()  # December: 30 days on


def test_a_student_row_lives_in_its_guardians_household() -> None:
    father, child = "410822198001011232", "410822201501011236"
    other = "410822197902021239"
    base = {S.ID_STATUS: S.IdStatus.VALID.value, S.GUARDIAN_ID_STATUS: None, S.GUARDIAN_ID: None}
    records = pd.DataFrame(
        [
            {**base, S.SOURCE: "monitoring", S.ROW: 1, S.ID_NUMBER: father, S.HOUSEHOLD_NO: "H1"},
            {**base, S.SOURCE: "monitoring", S.ROW: 2, S.ID_NUMBER: child, S.HOUSEHOLD_NO: "H1"},
            # The roll's rows: the child without an ID, guardian on the monitoring list; another
            # child whose guardian is on no list.
            {
                **base,
                S.SOURCE: "students",
                S.ROW: 3,
                S.ID_NUMBER: None,
                S.ID_STATUS: S.IdStatus.MISSING.value,
                S.GUARDIAN_ID: father,
                S.GUARDIAN_ID_STATUS: S.IdStatus.VALID.value,
            },
            {
                **base,
                S.SOURCE: "students",
                S.ROW: 4,
                S.ID_NUMBER: None,
                S.ID_STATUS: S.IdStatus.MISSING.value,
                S.GUARDIAN_ID: other,
                S.GUARDIAN_ID_STATUS: S.IdStatus.VALID.value,
            },
        ]
    ).assign(**{S.FILE: "hand.csv", S.NAME: "焦小雨"})
    r = prepare(records)
    assert r[HOUSEHOLD].tolist() == ["M:H1", "M:H1", "M:H1", "G:" + other]
    # The natural key of an ID-less row stays the one earlier nights persisted (not by household).
    assert r[NATURAL_KEY].iloc[2] == "R:students:焦小雨:?"


def test_a_caller_is_not_a_child() -> None:
    # A 12345 caller without an ID (adult on the run date) against a child, an adult, a hospital
    # stay whose window straddles the cut-off, and another caller.
    r = pd.DataFrame(
        {
            S.SOURCE: ["hotline", "students", "monitoring", "medical", "hotline"],
            S.BIRTH_DATE: pd.to_datetime([None, "2014-05-01", "1980-05-01", None, None]),
            S.AGE: [None, None, None, 15, None],
            S.ADMIT_DATE: pd.to_datetime([None, None, None, "2026-06-01", None]),
            S.DISCHARGE_DATE: pd.to_datetime([None, None, None, "2026-06-10", None]),
        }
    )
    r[BIRTH_EXACT] = r[S.BIRTH_DATE].notna()
    exact = (r[S.BIRTH_DATE] - pd.Timestamp(1970, 1, 1)).dt.days.to_numpy(dtype="float64")
    lo, hi = stated_window(r)
    r[BIRTH_LO] = np.where(np.isnan(exact), lo, exact)
    r[BIRTH_HI] = np.where(np.isnan(exact), hi, exact)
    r[ADULT_BY] = adult_by(r, date(2026, 11, 29))
    sides = Sides(r, np.array([0, 0, 0, 0, 1]), np.array([1, 2, 3, 4, 0]), SETTINGS, None)
    got = [COMPARISONS["adult"][k - 1] if k else "missing" for k in score_adult(sides)]
    # 15 in June 2026: born June 2010 - June 2011, maybe 16 by November: not certainly a child.
    assert got == ["else", "exact", "exact", "missing", "else"]
    assert np.isnan(adult_by(r, None)).all()
    # Adulthood is read on the first of the month: 16 on 2026-11-01, born by 2010-11-01.
    assert adult_by(r, date(2026, 11, 29))[0] == day("2026-11-01") - 16 * 365.2425


def test_a_two_character_name_with_one_character_misread_is_shape_alike_not_different() -> None:
    a = np.array(["张伟", "张伟", "刘刚", "李己", "王秀英"], dtype=object)
    b = np.array(["张玮", "张何", "刘钢", "李已", "王秀瑛"], dtype=object)
    pa, pb = np.array([None] * 5, dtype=object), np.array([""] * 5, dtype=object)
    got = [COMPARISONS["name"][k - 1] for k in name_levels(a, b, pa, pb, SETTINGS.name_fuzzy)]
    # 伟/玮 share 韦, 刚/钢 share 冈, 己/已 share a four-corner code; 伟/何 share only 亻, a radical.
    # Indel alone puts a two-character name with one character changed at 0.5: "else".
    assert got == ["shape", "else", "shape", "shape", "shape"]
    assert LEVEL_LABELS["name"][COMPARISONS["name"].index("shape") + 1] == "姓名形近"


def test_an_id_a_spreadsheet_cut_still_compares_by_its_first_15_digits() -> None:
    # 杨若's whole ID, her death record's ID cut to 15 significant digits (…000), a namesake's cut ID
    # (born 1956-11-05, not 1957-01-20), the same cut ID behind an apostrophe, a stay of hers with a
    # cut ID and her age, an infant's stay under her parent's cut ID, and an ID of which the
    # spreadsheet kept only six digits.
    whole = "410823195701201786"
    records = pd.DataFrame(
        {
            S.SOURCE: ["assistance", "deaths", "medical", "subsidy", "medical", "medical", "vehicles"],
            S.FILE: "hand.csv",
            S.ROW: range(7),
            S.NAME: ["杨若", "杨若", "杨若", "杨若", "杨若", "王琪", "杨若"],
            S.NAME_PINYIN: ["yang ruo"] * 5 + ["wang qi", "yang ruo"],
            S.ID_NUMBER: [whole, None, None, None, None, None, None],
            S.ID_RAW: [
                whole,
                "410823195701201000",
                "410823195611050000",
                "'410823195701201000",
                "410823195701201000",
                "410883199009132000",
                "4.10823E+17",
            ],
            S.ID_STATUS: ["valid"] + ["mangled"] * 6,
            S.BIRTH_DATE: pd.to_datetime(["1957-01-20", None, None, None, None, None, None]),
            S.AGE: [None, None, 68, None, 67, 0, None],
            S.DISCHARGE_DATE: pd.to_datetime(
                [None, None, "2025-01-26", None, "2024-12-01", "2025-11-01", None]
            ),
        }
    )
    r = prepare(records)
    detach_foreign(r, SETTINGS.max_age_gap_years)
    # The infant's stay carries a cut ID whose birth date is decades before its age: not its own.
    hers, namesakes = "410823195701201", "410823195611050"
    assert r[CUT_ID].tolist() == [None, hers, namesakes, hers, hers, None, None]
    left = np.array([1, 2, 3, 4, 5, 6, 1])
    right = np.array([0, 0, 0, 0, 0, 0, 3])
    levels = compare(r, left, right, SETTINGS, households(r))
    prefix = [COMPARISONS["id_prefix"][k - 1] if k else "missing" for k in levels["id_prefix"]]
    assert prefix == ["exact", "else", "exact", "exact", "missing", "missing", "exact"]
    # Her stay's age says nothing the cut digits did not (they hold the birth date); the
    # namesake's stay keeps its age (68 in January 2025 fits 1957-01-20: evidence both ways).
    assert levels["age"].tolist()[1] == 1 and levels["age"].tolist()[3] == 0
    # The id_prefix pass brings the cut records to the whole ID and to each other, nobody else.
    pairs = run_pass(r, unanchored_mask(r), next(p for p in SETTINGS.passes if p.name == "id_prefix"), 400)
    got = {tuple(sorted(x)) for x in zip(pairs[LEFT], pairs[RIGHT], strict=True)}
    assert got == {(0, 1), (0, 3), (0, 4), (1, 3), (1, 4), (3, 4)}


def test_an_infant_under_an_unseen_parents_id_is_not_a_listed_households_child() -> None:
    # 王琪's stay at 0 under her father's ID; her father appears nowhere else. Another 王琪, born the
    # same month, is on a roster household whose members are listed without him; a third child's
    # roll row names him as guardian; a fourth record is of someone in no listed household.
    father = "410883199009132299"
    namesake, mother_of_namesake = "410883202510093304", "410883199202022224"
    student, nobody = "410883201801012222", "410883201701013333"
    valid = S.IdStatus.VALID.value
    records = pd.DataFrame(
        {
            S.SOURCE: ["medical", "assistance", "assistance", "students", "disability"],
            S.FILE: "hand.csv",
            S.ROW: range(5),
            S.NAME: ["王琪", "王琪", "李芳", "王琪", "王琪"],
            S.ID_NUMBER: [father, namesake, mother_of_namesake, student, nobody],
            S.ID_STATUS: valid,
            S.BIRTH_DATE: pd.to_datetime(
                ["1990-09-13", "2025-10-09", "1992-02-02", "2018-01-01", "2017-01-01"]
            ),
            S.HEAD_ID: [None, mother_of_namesake, mother_of_namesake, None, None],
            S.HEAD_ID_STATUS: [None, valid, valid, None, None],
            S.GUARDIAN_ID: [None, None, None, father, None],
            S.GUARDIAN_ID_STATUS: [None, None, None, valid, None],
            S.AGE: [0, None, None, None, None],
            S.DISCHARGE_DATE: pd.to_datetime(["2025-10-29", None, None, None, None]),
        }
    )
    r = prepare(records)
    assert detach_foreign(r, SETTINGS.max_age_gap_years) == 1
    levels = guardian_levels(r, np.array([0, 0, 0]), np.array([1, 3, 4]), households(r))
    got = [COMPARISONS["guardian"][k - 1] if k else "missing" for k in levels]
    assert got == ["else", "exact", "missing"]


def _pairs(rows: list[dict[str, float]]) -> pd.DataFrame:
    """Scored pairs by hand: each row's levels (name -> level key) and weights; the rest missing."""
    out = []
    for row in rows:
        rec: dict[str, float] = {"left": row["left"], "right_node": row["node"]}
        for name, keys in COMPARISONS.items():
            level = row.get(name)
            rec[f"lv_{name}"] = keys.index(str(level)) + 1 if level else 0
            rec[f"w_{name}"] = float(row.get(f"w_{name}", 0.0))
        rec["weight"] = sum(rec[f"w_{n}"] for n in COMPARISONS)
        out.append(rec)
    return pd.DataFrame(out)


def test_a_person_is_weighed_with_what_their_best_record_leaves_unknown() -> None:
    # A caller (record 0) against 谢保 (node 7): his roster row agrees on name and village and has no
    # phone; his monitoring row shows another phone. Against 韩恩辉 (node 8): the caller's household
    # row agrees on the household (so phone and place say nothing more), and his disability row,
    # outside any household, agrees on phone and village.
    pairs = _pairs(
        [
            {"left": 0, "node": 7, "name": "exact", "w_name": 14, "place": "village", "w_place": 9},
            {
                "left": 0,
                "node": 7,
                "name": "exact",
                "w_name": 14,
                "phone": "else",
                "w_phone": -2,
                "place": "village",
                "w_place": 9,
            },
            {"left": 1, "node": 8, "name": "else", "w_name": -7, "household": "exact", "w_household": 13},
            {
                "left": 1,
                "node": 8,
                "name": "else",
                "w_name": -7,
                "phone": "exact",
                "w_phone": 14,
                "place": "village",
                "w_place": 9,
            },
            # A lone record: its own weight.
            {"left": 2, "node": 9, "name": "exact", "w_name": 10, "place": "township", "w_place": 8},
        ]
    )
    got = person_weights(pairs).tolist()
    # 23 + the monitoring row's phone; -7 + the household, whose agreement covers phone and place.
    assert got == [21.0, 21.0, 6.0, 6.0, 18.0]
    # What the link's explanation shows: the phone read off his monitoring row, marked as such; the
    # household taken from the household row, with the phone and village it covers left out.
    ev = person_evidence(pairs)
    assert ev.elsewhere["phone"].tolist()[:2] == [True, True] and not ev.elsewhere["name"].any()
    assert ev.levels.loc[3, ["household", "phone", "place"]].tolist() == [1, 0, 0]
    text = evidence_text(ev.levels.loc[[0, 3]], ev.weights.loc[[0, 3]], ev.elsewhere.loc[[0, 3]])
    assert text == [
        f"姓名一致(+14.0); 电话不同{ELSEWHERE}(-2.0); 同村(+9.0)",
        f"姓名不同(-7.0); 同户{ELSEWHERE}(+13.0)",
    ]


def test_a_township_read_off_another_record_outranks_the_county_alone() -> None:
    # A caller in 王屯乡 (record 0) against a person whose best record is a hospital stay naming
    # only the county (county agrees, +3) and whose roster row names another township of the county
    # (-3): the township counts and the county alone does not, so the person gets 14 - 3.
    pairs = _pairs(
        [
            {
                "left": 0,
                "node": 7,
                "name": "exact",
                "w_name": 14,
                "age": "close",
                "w_age": 6,
                "county": "exact",
                "w_county": 3,
            },
            {"left": 0, "node": 7, "name": "exact", "w_name": 14, "place": "other_township", "w_place": -3},
            # Nobody else names a township: the county alone counts.
            {"left": 1, "node": 8, "name": "exact", "w_name": 14, "county": "exact", "w_county": 3},
        ]
    )
    assert person_weights(pairs).tolist() == [17.0, 17.0, 17.0]
    ev = person_evidence(pairs)
    assert ev.levels.loc[0, ["place", "county"]].tolist() == [4, 0]
    assert bool(ev.elsewhere.loc[0, "place"]) and ev.levels.loc[2, "county"] == 1
