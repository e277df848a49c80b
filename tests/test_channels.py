"""The channels' facts and a rule's exclusion condition, hand-worked on small frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline import schema as S
from pipeline.eligibility.facts import _channel_facts, _economic_facts, cases_acted_on
from pipeline.eligibility.requests import load_lexicon
from pipeline.eligibility.rules import evaluate, load_rules
from pipeline.errors import ConfigError
from pipeline.households import HOUSEHOLD_KEY, PERSON_ID
from pipeline.sources import load_sources

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "eligibility.yaml"
SOURCES = {s.key for s in load_sources(ROOT / "rules" / "sources.yaml").sources}
D, START = pd.Timestamp("2026-11-29"), pd.Timestamp("2025-11-29")


def _with_unless(tmp_path: Path, unless: str) -> Path:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    next(r for r in doc["rules"] if r["id"] == "R08")["unless"] = unless
    path = tmp_path / "eligibility.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _facts(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "hotline_hardship": [True, True, True],
        "active_assistance": [False, False, False],
        "deceased": [False, False, False],
        "household_vehicles": [1, pd.NA, 0],
        "household_floor_area": [200.0, 200.0, 200.0],
    }
    base.update(columns)
    return pd.DataFrame(base, index=pd.Index(["A", "B", "C"], name=PERSON_ID)).astype(
        {"household_vehicles": "Int64"}
    )


def test_the_exclusion_is_off_by_default() -> None:
    rules = load_rules(RULES, SOURCES).select(["R08"])
    assert rules.rules[0].unless is None
    assert set(evaluate(rules, _facts(), {})["person_id"]) == {"A", "B", "C"}


def test_a_rule_whose_exclusion_is_switched_on(tmp_path: Path) -> None:
    rules = load_rules(
        _with_unless(tmp_path, "household_vehicles >= 1 and household_floor_area > 150"), SOURCES
    )
    hits = evaluate(rules.select(["R08"]), _facts(), {})
    # A has a car and 200 ㎡: excluded. B's vehicle check was not read (unknown): never excluded.
    assert set(hits["person_id"]) == {"B", "C"}


def test_an_exclusion_naming_an_unknown_fact_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rule R08: unknown fact 'cars'"):
        load_rules(_with_unless(tmp_path, "cars >= 1"), SOURCES)


def _records() -> pd.DataFrame:
    rows = [
        # person, household, source, date, text
        ("P1", "H1", "reports", "2026-10-01", "该户户主患肺癌，长期住院治疗"),
        ("P2", "H2", "reports", "2026-10-01", "该户户主患肺癌，长期住院治疗"),
        ("P3", "H3", "reports", "2026-10-01", "走访了解该户已纳入低保，生活基本稳定"),
        ("P4", "H4", "reports", "2025-06-01", "该户户主失业在家"),  # outside the window
        ("P5", "H5", "hotline", "2026-11-01", "家里电费太高了"),
        ("P6", "H6", "hotline", "2026-11-01", "我老伴住院了，拿不出钱"),
    ]
    r = pd.DataFrame(rows, columns=[PERSON_ID, HOUSEHOLD_KEY, S.SOURCE, "when", "text"])
    r[S.REPORT_DATE] = pd.to_datetime(r["when"].where(r[S.SOURCE].eq("reports")))
    r[S.REQUEST_DATE] = pd.to_datetime(r["when"].where(r[S.SOURCE].eq("hotline")))
    r[S.HARDSHIP_TEXT] = r["text"].where(r[S.SOURCE].eq("reports"))
    r[S.REQUEST_TEXT] = r["text"].where(r[S.SOURCE].eq("hotline"))
    return r


def test_reports_and_requests_in_the_window_that_describe_a_hardship() -> None:
    r = _records()
    idx = pd.Index([f"P{i}" for i in range(1, 7)], name=PERSON_ID)
    f = pd.DataFrame(index=idx)
    # P1's township had a case open since before the report; P2's case was raised after it.
    cases = pd.DataFrame(
        {"person_id": ["P1", "P2"], "status": ["sent", "new"], "first_seen": ["2026-09-01", "2026-10-02"]}
    )
    _channel_facts(f, r, idx, D, START, load_lexicon(ROOT / "rules" / "hardship.yaml"), cases, None)
    assert f["village_report_hardship"].tolist() == [True, True, False, False, False, False]
    assert f["case_before_report"].tolist() == [True, False, False, False, False, False]
    assert f["hotline_hardship"].tolist() == [False, False, False, False, False, True]
    assert f.loc["P1", "report_categories"] == "因病" and f.loc["P6", "hotline_categories"] == "因病"
    # The records carry what was read, for the evidence to quote.
    assert r.loc[0, "hardship"] == "因病" and "“住院”" in r.loc[0, "hardship_reason"]
    assert r.loc[2, "hardship"] == "" and r.loc[4, "hardship"] == ""


def test_the_households_vehicles_and_flats_in_words() -> None:
    hh = pd.DataFrame(
        {HOUSEHOLD_KEY: ["H1", "H1", "H2", "H3"]}, index=pd.Index(["A", "B", "C", "E"], name=PERSON_ID)
    )
    r = pd.DataFrame(
        {
            S.SOURCE: ["vehicles", "vehicles", "vehicles", "property", "property", "property"],
            HOUSEHOLD_KEY: ["H1", "H1", "H2", "H1", "H1", "H3"],
            S.VEHICLE_USE: ["非营运", "营运", "非营运", None, None, None],
            S.VEHICLE_STATUS: ["正常", "正常", "注销", None, None, None],
            S.VEHICLE_TYPE: ["小型轿车", "轻型普通货车", "小型轿车", None, None, None],
            S.FLOOR_AREA: [None, None, None, 96.5, 89.3, 60.0],
        }
    )
    f = pd.DataFrame(index=hh.index)
    _economic_facts(f, r, hh, r[S.SOURCE])
    assert f["household_vehicles"].tolist() == [1, 1, 0, 0]
    assert f["household_properties"].tolist() == [2, 2, 0, 1]
    assert f["economic_hint"].tolist() == [
        "名下非营运车辆1辆(小型轿车);房产2套,共186㎡",
        "名下非营运车辆1辆(小型轿车);房产2套,共186㎡",
        "",
        "房产1套,共60㎡",
    ]
    # Without the checks read at all, the facts are unknown (and never exclude).
    g = pd.DataFrame(index=hh.index)
    _economic_facts(g, r.iloc[:0], hh, r.iloc[:0][S.SOURCE])
    assert g["household_vehicles"].isna().all() and g["economic_hint"].eq("").all()


def test_a_reports_rule_is_not_silenced_by_its_own_case() -> None:
    # R09's open case, then a newer report about the same person: the case must continue, not
    # vanish (and come back the night after). Another rule's open case does count; closed ones not.
    rules = load_rules(RULES, SOURCES).rules
    cases = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3"],
            "rule": ["R09", "R05", "R05"],
            "status": ["sent", "sent", "closed"],
            "first_seen": ["2026-01-05", "2026-01-05", "2026-01-05"],
        }
    )
    assert cases_acted_on(cases, rules)["person_id"].tolist() == ["P2"]
