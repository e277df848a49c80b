"""The case lifecycle night by night, on hand-made cases. Every transition of rules/cases.yaml has a
test here. ``update_cases`` is tables in, tables out; every table a test passes from one night to the
next is written to the case store and read back, once on SQLite and once on PostgreSQL, so what a
night leaves is what the next night reads (dates, None, JSON, booleans) on both databases."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pytest

from pipeline.cases.config import load_case_rules
from pipeline.cases.feedback import apply_answer
from pipeline.cases.night import NightCases, mark_published, material_changes, update_cases
from pipeline.cases.store import CaseStore, Origin, as_frame, empty_frame
from pipeline.cases.views import case_note, funnel, funnel_cases, to_send
from pipeline.eligibility.rules import load_rules
from pipeline.errors import ConfigError
from pipeline.settings import PROJECT_ROOT
from pipeline.sources import load_sources

CR = load_case_rules(PROJECT_ROOT / "rules" / "cases.yaml")
SOURCES = {s.key for s in load_sources(PROJECT_ROOT / "rules" / "sources.yaml").sources}
RULES = {r.id: r for r in load_rules(PROJECT_ROOT / "rules" / "eligibility.yaml", SOURCES).rules}
ALL = list(RULES)
D0 = date(2026, 11, 2)
TOWN = "410822105"


def warn(rule: str, person: str, township: str | None = TOWN, **key: Any) -> dict[str, Any]:
    return {
        "warning_id": f"{rule}-{person}",
        "rule": rule,
        "person_id": person,
        "id_number": "410822196803150310",
        "name": "孟平",
        "county_code": "410822",
        "township_code": township,
        "township": "磨头镇" if township else None,
        "key_facts": json.dumps(key, ensure_ascii=False, sort_keys=True),
    }


def facts(**people: dict[str, Any]) -> pd.DataFrame:
    """Tonight's case facts, one row per person (people not named have no record tonight)."""
    rows = [{"person_id": p, **f} for p, f in people.items()]
    return pd.DataFrame(rows).set_index("person_id") if rows else pd.DataFrame()


STORES: list[CaseStore] = []


@pytest.fixture(autouse=True)
def through_the_store(db_url: str) -> Any:
    STORES.append(CaseStore(db_url))
    yield
    STORES.pop().dispose()


def kept(after: pd.DataFrame, day: date) -> pd.DataFrame:
    """``after`` written to the store and read back (the store holds only this test's cases)."""
    store = STORES[-1]
    with store.begin() as conn:
        store.save(conn, store.frame(conn), after, Origin(run_date=day))
    back = store.frame()
    return back[back["warning_id"].isin(set(after["warning_id"]))].reset_index(drop=True)


def night(
    cases: pd.DataFrame,
    warnings: list[dict[str, Any]],
    day: date,
    tonight_facts: pd.DataFrame | None = None,
    ran: list[str] = ALL,
    counties: tuple[str, ...] = (),
    publish: bool = True,
) -> NightCases:
    """One night: update the cases, then (like the reports stage) publish what is sent."""
    frame = pd.DataFrame(warnings, columns=list(warn("R01", "x")))
    result = update_cases(
        cases, frame, tonight_facts if tonight_facts is not None else facts(), RULES, ran, counties, CR, day
    )
    if publish:
        result.after = mark_published(result.after, result.send, day)
    result.after = kept(result.after, day)
    return result


def case(frame: pd.DataFrame, wid: str) -> dict[str, Any]:
    rows = frame[frame["warning_id"] == wid]
    assert len(rows) == 1, f"{wid}: {len(rows)} rows"
    return dict(rows.iloc[0])


def answered(frame: pd.DataFrame, wid: str, text: str, day: date, note: str = "入户核实") -> pd.DataFrame:
    """The township's answer, as the feedback import applies it."""
    rows = {r["warning_id"]: dict(r) for _, r in frame.iterrows()}
    c = rows[wid]
    apply_answer(c, RULES[c["rule"]], CR, text, day, note, "张三")
    return kept(as_frame(list(rows.values())), day)


def test_a_new_warning_opens_a_case_sent_tonight_and_published() -> None:
    first = night(empty_frame(), [warn("R03", "P1", disability_grade="二级")], D0, publish=False)
    c = case(first.after, "R03-P1")
    assert (c["status"], c["first_seen"], c["last_seen"]) == ("new", D0, D0)
    assert first.send == ["R03-P1"] and first.counts["opened"] == 1
    published = mark_published(first.after, first.send, D0)
    c = case(published, "R03-P1")
    assert (c["status"], c["sent_on"], c["first_published"], c["published_on"]) == ("sent", D0, D0, D0)


def test_raised_again_the_case_continues_with_its_first_date() -> None:
    first = night(empty_frame(), [warn("R03", "P1")], D0)
    later = D0 + timedelta(days=7)
    second = night(first.after, [warn("R03", "P1")], later)
    c = case(second.after, "R03-P1")
    assert (c["status"], c["first_seen"], c["last_seen"], c["sent_on"]) == ("sent", D0, later, D0)
    assert second.counts["continued"] == 1 and second.counts["opened"] == 0
    assert len(second.after) == 1 and second.send == ["R03-P1"]


def test_a_published_case_without_an_answer_becomes_overdue_after_the_deadline() -> None:
    cases = night(empty_frame(), [warn("R03", "P1")], D0).after
    deadline = D0 + timedelta(days=CR.days["feedback_deadline"])
    on_time = night(cases, [warn("R03", "P1")], deadline)
    assert case(on_time.after, "R03-P1")["status"] == "sent"
    late = night(on_time.after, [warn("R03", "P1")], deadline + timedelta(days=1))
    c = case(late.after, "R03-P1")
    assert c["status"] == "overdue" and late.counts["overdue"] == 1 and late.send == ["R03-P1"]
    assert "超过15天未反馈" in case_note(c, CR)
    # Answering an overdue case ends it like any other.
    done = answered(late.after, "R03-P1", "不符合", deadline)
    assert case(done, "R03-P1")["status"] == "closed"


def test_a_final_answer_holds_the_case_then_sends_it_again_after_the_hold() -> None:
    cases = night(empty_frame(), [warn("R03", "P1", disability_grade="二级")], D0).after
    day = D0 + timedelta(days=3)
    cases = answered(cases, "R03-P1", "不符合", day)
    c = case(cases, "R03-P1")
    assert (c["status"], c["closed_reason"], c["suppressed_until"]) == (
        "closed",
        "answer",
        day + timedelta(180),
    )
    held = night(cases, [warn("R03", "P1", disability_grade="二级")], D0 + timedelta(days=30))
    assert held.send == [] and held.counts["suppressed"] == 1
    assert case(held.after, "R03-P1")["status"] == "closed"
    again = night(held.after, [warn("R03", "P1", disability_grade="二级")], day + timedelta(days=180))
    c = case(again.after, "R03-P1")
    assert again.send == ["R03-P1"] and again.counts["reraised"] == 1
    assert (c["status"], c["first_seen"], c["previous_answer"], c["previous_answer_date"]) == (
        "sent",
        D0,
        "不符合",
        day,
    )
    assert c["answer"] is None and "不符合" in c["note"] and "再次核实" in c["note"]


@pytest.mark.parametrize(
    ("rule", "before", "now", "expected"),
    [
        ("R03", {"disability_grade": "三级"}, {"disability_grade": "一级"}, ["残疾等级 三级→一级"]),
        ("R03", {"disability_grade": "二级"}, {"disability_grade": "三级"}, []),  # less severe
        ("R03", {"disability_grade": "二级"}, {"disability_grade": None}, []),  # unknown is no change
        ("R05", {"medical_out_of_pocket": 20000.0}, {"medical_out_of_pocket": 26500.0}, ["26,500"]),
        ("R05", {"medical_out_of_pocket": 20000.0}, {"medical_out_of_pocket": 25000.0}, []),  # +25% < 30%
        ("R06", {"guardian_death_date": "2026-03-01"}, {"guardian_death_date": "2026-10-09"}, ["2026-10-09"]),
        ("R07", {"death_date": "2026-05-01"}, {"death_date": "2026-05-01"}, []),
        ("R07", {"death_date": None}, {"death_date": "2026-05-01"}, ["死亡日期 无→2026-05-01"]),
        ("R01", {"monitoring_risk_open": False}, {"monitoring_risk_open": True}, ["监测户风险未消除 否→是"]),
    ],
)
def test_material_changes_per_rule_fingerprint(
    rule: str, before: dict[str, Any], now: dict[str, Any], expected: list[str]
) -> None:
    said = material_changes(RULES[rule], json.dumps(before), json.dumps(now))
    assert len(said) == len(expected)
    for text, part in zip(said, expected, strict=True):
        assert part in text


def test_a_material_change_sends_a_held_case_again_with_what_changed() -> None:
    cases = night(empty_frame(), [warn("R05", "P1", medical_out_of_pocket=21000.0)], D0).after
    cases = answered(cases, "R05-P1", "不符合", D0 + timedelta(days=2))
    small = night(cases, [warn("R05", "P1", medical_out_of_pocket=24000.0)], D0 + timedelta(days=20))
    assert small.send == [] and small.counts["suppressed"] == 1
    big = night(small.after, [warn("R05", "P1", medical_out_of_pocket=30000.0)], D0 + timedelta(days=27))
    c = case(big.after, "R05-P1")
    assert big.send == ["R05-P1"] and big.counts["reraised"] == 1
    assert c["status"] == "sent" and "近一年住院个人自付(元) 21,000→30,000" in c["note"]
    assert c["previous_answer"] == "不符合" and c["first_seen"] == D0


def test_an_open_case_whose_condition_vanished_closes_with_tonights_facts() -> None:
    cases = night(empty_frame(), [warn("R01", "P1"), warn("R03", "P2")], D0).after
    day = D0 + timedelta(days=7)
    on_roster = facts(P1={"active_assistance": True}, P2={"nursing_subsidy_paid": True})
    gone = night(cases, [], day, on_roster)
    c = case(gone.after, "R01-P1")
    assert (c["status"], c["closed_reason"], c["closed_on"]) == ("closed", "vanished", day)
    assert "条件已消失" in c["note"] and "户内享受低保或特困 是" in c["note"]
    assert "享受重度残疾人护理补贴 是" in case(gone.after, "R03-P2")["note"]
    assert gone.counts["closed_vanished"] == 2
    # Raised again later: sent again, first date kept.
    back = night(gone.after, [warn("R01", "P1")], day + timedelta(days=7))
    c = case(back.after, "R01-P1")
    assert c["status"] == "sent" and c["note"] == "预警条件再次出现" and c["first_seen"] == D0


def test_a_case_stays_open_when_its_rule_did_not_run_or_its_county_was_not_in_the_run() -> None:
    cases = night(empty_frame(), [warn("R01", "P1")], D0).after
    day = D0 + timedelta(days=7)
    skipped = night(cases, [], day, ran=["R03"])  # R01's source failed tonight
    assert case(skipped.after, "R01-P1")["status"] == "sent"
    other_county = night(cases, [], day, counties=("410821",))
    assert case(other_county.after, "R01-P1")["status"] == "sent"
    gone = night(cases, [], day)
    assert "本次各部门数据中已无此人的记录" in case(gone.after, "R01-P1")["note"]


def test_a_done_answer_is_verified_by_the_extracts_or_flagged_when_not_seen() -> None:
    cases = night(empty_frame(), [warn("R01", "P1"), warn("R01", "P2")], D0).after
    day = D0 + timedelta(days=5)
    cases = answered(cases, "R01-P1", "符合，已纳入救助", day)
    cases = answered(cases, "R01-P2", "符合，已纳入救助", day)
    assert case(cases, "R01-P1")["verification"] == "pending"
    soon = night(cases, [], day + timedelta(days=10), facts(P1={"active_assistance": True}))
    assert case(soon.after, "R01-P1")["verification"] == "verified"
    assert case(soon.after, "R01-P2")["verification"] == "pending" and soon.counts["verified"] == 1
    limit = day + timedelta(days=CR.days["verify_within"])
    still = night(soon.after, [], limit, facts(P2={"active_assistance": False}))
    assert case(still.after, "R01-P2")["verification"] == "pending"
    late = night(still.after, [], limit + timedelta(days=1), facts(P2={"active_assistance": False}))
    assert case(late.after, "R01-P2")["verification"] == "not_seen" and late.counts["not_seen"] == 1
    # Seen on the roster at last: verified after all.
    seen = night(late.after, [], limit + timedelta(days=8), facts(P2={"active_assistance": True}))
    assert case(seen.after, "R01-P2")["verification"] == "verified"
    # R07's done answer (benefit stopped) is verified by the person leaving the roster.
    r07 = night(empty_frame(), [warn("R07", "P9")], D0).after
    r07 = answered(r07, "R07-P9", "属实，已停发", day)
    stopped = night(r07, [], day + timedelta(days=3), facts(P9={"on_roster_active": False}))
    assert case(stopped.after, "R07-P9")["verification"] == "verified"


def test_an_enrolment_is_due_for_a_revisit_after_the_configured_days() -> None:
    cases = night(empty_frame(), [warn("R01", "P1"), warn("R03", "P2")], D0).after
    cases = answered(cases, "R01-P1", "符合，已纳入救助", D0)
    cases = answered(cases, "R03-P2", "不符合", D0)  # no revisit for a negative answer
    due_day = D0 + timedelta(days=CR.days["revisit_after"])
    before = night(cases, [], due_day - timedelta(days=1), facts(P1={"active_assistance": True}))
    assert case(before.after, "R01-P1")["status"] == "closed"
    due = night(before.after, [], due_day, facts(P1={"active_assistance": True}))
    assert case(due.after, "R01-P1")["status"] == "revisit_due" and due.counts["revisit_due"] == 1
    assert case(due.after, "R03-P2")["status"] == "closed"


def test_in_progress_stays_open_and_is_sent_with_the_last_answer() -> None:
    cases = night(empty_frame(), [warn("R05", "P1")], D0).after
    cases = answered(cases, "R05-P1", "符合，正在办理", D0 + timedelta(days=4))
    later = night(cases, [warn("R05", "P1")], D0 + timedelta(days=7))
    c = case(later.after, "R05-P1")
    assert c["status"] == "in_progress" and later.send == ["R05-P1"]
    assert "上次反馈:符合，正在办理(2026-11-06)" in case_note(c, CR)
    sent = to_send(pd.DataFrame([warn("R05", "P1")]), later.after, later.send, CR, {})
    assert sent["case_status"].tolist() == ["办理中"]


def test_wrong_person_data_is_not_sent_again_until_the_hold_ends() -> None:
    cases = night(empty_frame(), [warn("R03", "P1")], D0).after
    cases = answered(cases, "R03-P1", "人员信息有误", D0)
    assert case(cases, "R03-P1")["status"] == "answered"
    later = night(cases, [warn("R03", "P1")], D0 + timedelta(days=30))
    assert later.send == [] and later.counts["suppressed"] == 1


def test_dead_or_moved_away_holds_every_rule_for_the_person_until_a_newer_record() -> None:
    cases = night(empty_frame(), [warn("R01", "P1"), warn("R03", "P1")], D0).after
    day = D0 + timedelta(days=3)
    cases = answered(cases, "R01-P1", "已死亡或迁出", day)
    quiet = facts(P1={"latest_record_date": D0 - timedelta(days=40)})
    held = night(
        cases, [warn("R01", "P1"), warn("R03", "P1"), warn("R05", "P1")], D0 + timedelta(days=7), quiet
    )
    assert held.send == [] and held.counts["person_held"] == 3
    assert case(held.after, "R03-P1")["closed_reason"] == "person_held"
    assert case(held.after, "R05-P1")["status"] == "closed"  # a new rule for the person is held too
    newer = facts(P1={"latest_record_date": D0 + timedelta(days=10)})
    back = night(held.after, [warn("R03", "P1"), warn("R05", "P1")], D0 + timedelta(days=14), newer)
    assert sorted(back.send) == ["R03-P1", "R05-P1"]
    assert "解除" in case(back.after, "R01-P1")["note"] and not case(back.after, "R01-P1")["hold_person"]


def test_the_funnel_counts_each_step_per_township() -> None:
    cases = night(empty_frame(), [warn("R01", "P1"), warn("R01", "P2"), warn("R03", "P3")], D0).after
    cases = answered(cases, "R01-P1", "符合，已纳入救助", D0 + timedelta(days=4))
    cases = answered(cases, "R01-P2", "不符合", D0 + timedelta(days=6))
    cases = night(
        cases, [warn("R03", "P3")], D0 + timedelta(days=20), facts(P1={"active_assistance": True})
    ).after
    f = funnel(funnel_cases(cases, RULES, CR), ["county_code", "township_code"]).set_index("township_code")
    row = f.loc[TOWN]
    assert (
        row["warned"],
        row["answered"],
        row["eligible"],
        row["done"],
        row["verified"],
        row["overdue"],
    ) == (
        3,
        2,
        1,
        1,
        1,
        1,
    )
    assert row["median_days"] == 5.0


def test_the_case_rules_file_is_checked_whole(tmp_path: Any) -> None:
    bad = tmp_path / "cases.yaml"
    text = (PROJECT_ROOT / "rules" / "cases.yaml").read_text(encoding="utf-8")
    bad.write_text(
        text.replace("suppress: 180", "suppress: soon").replace("status: in_progress", "status: doing", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_case_rules(bad)
    assert "days: `suppress`" in str(e.value) and "answer_sets.assistance #2" in str(e.value)
    assert str(bad) in str(e.value)
