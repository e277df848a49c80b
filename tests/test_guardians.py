"""A student's guardian found as a person (pipeline.eligibility.facts.resolve_guardians), by hand."""

from __future__ import annotations

import pandas as pd

from pipeline import schema as S
from pipeline.eligibility.facts import PERSON_ID, resolve_guardians
from pipeline.households import HOUSEHOLD_KEY
from pipeline.normalize.ids import check_char

FATHER = "41082219800101123"
FATHER += check_char(FATHER)
TYPO = FATHER[:10] + str((int(FATHER[10]) + 1) % 10) + FATHER[11:]  # one wrong digit: fails the check


def rows(*recs: dict[str, object]) -> pd.DataFrame:
    base = {
        S.FILE: "hand.csv",
        S.GUARDIAN_NAME: None,
        S.GUARDIAN_NAME_PINYIN: None,
        S.GUARDIAN_ID: None,
        S.GUARDIAN_ID_RAW: None,
        S.GUARDIAN_ID_STATUS: None,
        S.ID_RAW: None,
        HOUSEHOLD_KEY: None,
    }
    return pd.DataFrame([{**base, S.ROW: i + 1, **r} for i, r in enumerate(recs)])


def student(guardian_py: str) -> dict[str, object]:
    return {
        S.SOURCE: "students",
        PERSON_ID: "P-student",
        S.NAME_PINYIN: "qin xiao yu",
        S.ID_NUMBER: "410822201501011234",
        S.ID_STATUS: S.IdStatus.VALID.value,
        S.GUARDIAN_NAME: "秦建国",
        S.GUARDIAN_NAME_PINYIN: guardian_py,
        S.GUARDIAN_ID: FATHER,
        S.GUARDIAN_ID_STATUS: S.IdStatus.VALID.value,
    }


def death(person: str, py: str) -> dict[str, object]:
    """A death record whose own ID was typed with one wrong digit: nobody's records carry FATHER."""
    return {
        S.SOURCE: "deaths",
        PERSON_ID: person,
        S.NAME_PINYIN: py,
        S.ID_NUMBER: TYPO,
        S.ID_STATUS: S.IdStatus.INVALID.value,
    }


def test_a_valid_guardian_id_nobody_holds_finds_the_death_record_one_typo_away() -> None:
    assert TYPO != FATHER and check_char(TYPO[:17]) != TYPO[17]
    g = resolve_guardians(r := rows(student("qin jian guo"), death("P-dead", "qin jian guo")), r)
    assert g[["guardian", "guardian_rule"]].values.tolist() == [["P-dead", "id_one_edit"]]


def test_the_typo_record_must_answer_to_the_guardians_name() -> None:
    g = resolve_guardians(r := rows(student("qin jian guo"), death("P-dead", "wang fang")), r)
    assert g.empty


def test_two_people_one_typo_away_leave_the_guardian_unknown() -> None:
    r = rows(student("qin jian guo"), death("P-dead", "qin jian guo"), death("P-other", "qin jian guo"))
    assert resolve_guardians(r, r).empty


def cut(whole: str) -> str:
    """An ID as a spreadsheet keeps it: 15 significant digits, the rest zeros."""
    return whole[:15] + "000"


def test_a_guardian_id_a_spreadsheet_cut_finds_the_holder_of_the_whole_id_by_its_first_15_digits() -> None:
    roll = {
        **student("qin jian guo"),
        S.GUARDIAN_ID: None,
        S.GUARDIAN_ID_RAW: cut(FATHER),
        S.GUARDIAN_ID_STATUS: S.IdStatus.MANGLED.value,
    }
    dead = {**death("P-dead", "qin jian guo"), S.ID_NUMBER: FATHER, S.ID_STATUS: S.IdStatus.VALID.value}
    g = resolve_guardians(r := rows(roll, dead), r)
    assert g[["guardian", "guardian_rule"]].values.tolist() == [["P-dead", "id_cut"]]
    # The name must answer too: the first 15 digits are shared by everyone born that day in that
    # county whose sequence number starts alike.
    other = {**dead, S.NAME_PINYIN: "wang fang"}
    assert resolve_guardians(r := rows(roll, other), r).empty


def test_a_whole_guardian_id_finds_the_death_record_that_carries_it_cut() -> None:
    dead = {
        **death("P-dead", "qin jian guo"),
        S.ID_NUMBER: None,
        S.ID_RAW: cut(FATHER),
        S.ID_STATUS: S.IdStatus.MANGLED.value,
    }
    g = resolve_guardians(r := rows(student("qin jian guo"), dead), r)
    assert g[["guardian", "guardian_rule"]].values.tolist() == [["P-dead", "id_cut"]]
    # Two people of the guardian's name carrying it cut: the guardian stays unknown.
    twin = {**dead, PERSON_ID: "P-other"}
    assert resolve_guardians(r := rows(student("qin jian guo"), dead, twin), r).empty
