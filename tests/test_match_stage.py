"""The matching stage end to end: stable person IDs across two nights, and a reviewer's verdict
returned through the review workbook honoured on the next run."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline import schema as S
from pipeline.contracts import CASES, MATCH_SUMMARY, PERSON_INDEX, PERSONS, RECORDS, MatchSummary
from pipeline.match.review import DIFFERENT, IMPACT, KEY_A, KEY_B, PERSON_A, PERSON_B, SAME, VERDICT
from pipeline.runs import FOUNDATION, run_in_place
from pipeline.sample import SampleSpec, generate
from pipeline.settings import Settings
from pipeline.sources import SourcesConfig
from pipeline.state import StateStore


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("stage")
    generate(SampleSpec(households=3000, seed=8, error_scale=3.0), root / "extracts")
    s = Settings.build(
        extracts=root / "extracts", out=root / "reports", state=root / "state", run_date=date(2026, 11, 29)
    )
    # Through the reports: the review workbook is written there, once tonight's warnings are known.
    run_in_place(s, [*FOUNDATION, "match", "households", "rules", "cases", "reports"])
    return s


def _index(s: Settings) -> pd.DataFrame:
    return pd.read_parquet(PERSON_INDEX.at(s.run_dir))


def test_outputs(night: Settings) -> None:
    index = _index(night)
    records = pd.read_parquet(RECORDS.at(night.run_dir))
    assert len(index) == len(records) and index["person_id"].str.fullmatch(r"P\d{10}").all()
    persons = pd.read_parquet(PERSONS.at(night.run_dir))
    assert set(persons["person_id"]) == set(index["person_id"])
    assert {
        "id_number",
        "name",
        "sex",
        "birth_date",
        "county_code",
        "township_code",
        "phone",
        "sources",
    } <= set(persons.columns)
    # Every linked-by-model record says why.
    model = index[index["link_rule"] == "model"]
    assert len(model) and model["evidence"].str.len().gt(0).all() and model["match_probability"].ge(0.9).all()


def test_person_ids_stable_when_new_records_arrive(night: Settings, tmp_path: Path) -> None:
    first = _index(night).set_index([S.SOURCE, S.FILE, S.ROW])["person_id"]
    # Next night: the same extracts plus a new department file with new people and known people.
    records = pd.read_parquet(RECORDS.at(night.run_dir))
    extra = records.sample(40, random_state=1).assign(**{S.FILE: "next_month.csv"})
    extra[S.ROW] = range(2, 42)
    nxt = Settings.build(
        extracts=night.extracts,
        out=tmp_path / "reports",
        state=tmp_path / "state",
        run_date=date(2026, 11, 30),
    )
    shutil.copytree(night.state, nxt.state)
    RECORDS.at(nxt.run_dir).parent.mkdir(parents=True)
    pd.concat([extra, records], ignore_index=True).to_parquet(RECORDS.at(nxt.run_dir), index=False)
    run_in_place(nxt, ["match"])
    second = _index(nxt).set_index([S.SOURCE, S.FILE, S.ROW])["person_id"]
    common = first.index.intersection(second.index)
    assert len(common) == len(first)
    assert (first.loc[common] == second.loc[common]).mean() > 0.999


def test_review_verdicts_come_back_through_the_workbook(night: Settings, tmp_path: Path) -> None:
    path = night.run_dir / "review" / "match_review.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[3]]
    assert header[0] == "序号" and VERDICT in header
    dv = ws.data_validations.dataValidation
    assert any(SAME in (v.formula1 or "") and DIFFERENT in (v.formula1 or "") for v in dv)
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert rows, "the sample must produce some pairs for review"
    col = {name: header.index(name) for name in (VERDICT, KEY_A, KEY_B)}
    first = rows[0]
    ws.cell(row=4, column=col[VERDICT] + 1, value=SAME)
    state = tmp_path / "state"
    shutil.copytree(night.state, state)
    (state / "review").mkdir(exist_ok=True)
    wb.save(state / "review" / "checked.xlsx")
    nxt = Settings.build(
        extracts=night.extracts, out=tmp_path / "reports", state=state, run_date=date(2026, 11, 30)
    )
    RECORDS.at(nxt.run_dir).parent.mkdir(parents=True)
    shutil.copy(RECORDS.at(night.run_dir), RECORDS.at(nxt.run_dir))
    run_in_place(nxt, ["match"])
    index = _index(nxt)
    a = index.loc[index["record_key"] == first[col[KEY_A]], "person_id"].unique()
    b = index.loc[index["record_key"] == first[col[KEY_B]], "person_id"].unique()
    assert len(a) == 1 and list(a) == list(b)
    assert len(StateStore(state).decisions()) == 1


def test_the_review_workbook_speaks_to_a_steward(night: Settings, cfg: SourcesConfig) -> None:
    """Sources in Chinese, ages as whole numbers, and where to put the filled-in copy, in words."""
    ws = openpyxl.load_workbook(night.run_dir / "review" / "match_review.xlsx").worksheets[0]
    assert str(night.state / "review") in ws["A2"].value
    header = [c.value for c in ws[3]]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    sources = {r[header.index(side + "来源")] for r in rows for side in "AB"}
    labels = {s.label for s in cfg.sources}  # the labels of rules/sources.yaml
    assert sources and sources <= labels, sources
    assert not sources & {
        "medical",
        "students",
        "monitoring",
        "disability",
        "assistance",
        "subsidy",
        "deaths",
    }
    assert {"A出院日期", "B出院日期"} <= set(header)  # the date an age was stated, to check 年龄不符
    ages = [r[header.index(side + "年龄")] for r in rows for side in "AB"]
    assert all(a in ("", None) or "." not in str(a) for a in ages)
    # One question per record, those about a person with a warning tonight first: 影响预警 says
    # which (the order itself is worked by hand in test_review_queue).
    impact = [r[header.index(IMPACT)] for r in rows]
    warned = set(pd.read_parquet(CASES.at(night.run_dir), columns=["person_id"])["person_id"])
    about = [r[header.index(PERSON_A)] in warned or r[header.index(PERSON_B)] in warned for r in rows]
    assert impact == ["是" if a else "" for a in about]
    assert impact == sorted(impact, key=lambda v: v != "是")
    summary = MatchSummary.read(MATCH_SUMMARY.at(night.run_dir))
    assert len(rows) == summary.review_questions <= summary.review_pairs
    asking = [(r[header.index(PERSON_A)]) for r in rows]
    assert len(asking) == len(set(asking))
    hidden = {j + 1 for d in ws.column_dimensions.values() if d.hidden for j in range(d.min - 1, d.max)}
    assert {header.index(h) + 1 for h in (KEY_A, KEY_B, PERSON_A)} <= hidden  # internal keys out of sight
    assert header.index(VERDICT) + 1 not in hidden


def test_a_question_about_a_person_with_a_warning_comes_first(night: Settings, tmp_path: Path) -> None:
    """The reports stage orders the review workbook by tonight's cases (the wiring; the order
    itself is worked by hand in test_review_queue)."""
    book = night.run_dir / "review" / "match_review.xlsx"
    ws = openpyxl.load_workbook(book).worksheets[0]
    header = [c.value for c in ws[3]]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) >= 2, "the sample must produce at least two questions"
    last = rows[-1][header.index(PERSON_A)]
    # The same night, where one of tonight's cases is about the last question's person.
    shutil.copytree(night.out, tmp_path / "reports")
    shutil.copytree(night.state, tmp_path / "state")
    again = Settings.build(
        extracts=night.extracts, out=tmp_path / "reports", state=tmp_path / "state", run_date=night.run_date
    )
    cases = pd.read_parquet(CASES.at(again.run_dir))
    cases.loc[cases.index[0], "person_id"] = last
    cases.to_parquet(CASES.at(again.run_dir), index=False)
    run_in_place(again, ["reports"])
    ws = openpyxl.load_workbook(again.run_dir / "review" / "match_review.xlsx").worksheets[0]
    moved = list(ws.iter_rows(min_row=4, values_only=True))
    assert moved[0][header.index(PERSON_A)] == last and moved[0][header.index(IMPACT)] == "是"
    assert moved[0][header.index("序号")] == 1
