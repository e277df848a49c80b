"""The rule file is checked whole before a run; every mistake names the file and the rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.eligibility import FACTS, evaluate, load_rules
from pipeline.errors import ConfigError
from pipeline.settings import PROJECT_ROOT
from pipeline.sources import load_sources

RULES = PROJECT_ROOT / "rules" / "eligibility.yaml"
SOURCES = {s.key for s in load_sources(PROJECT_ROOT / "rules" / "sources.yaml").sources}


def test_the_shipped_rules_load() -> None:
    rules = load_rules(RULES, SOURCES)
    assert rules.ids() == ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09"]
    r07 = rules.select(["R07"]).rules[0]
    # Only sources read as evidence of an absence must be whole: R07 (on the roster and dead) reads
    # none that way; R03 and R04 ("no payment") need the subsidy file whole, the others the roster.
    assert not r07.exclude_deceased and r07.requires == ()
    assert {r.id: r.requires for r in rules.rules if r.id != "R07"} == {
        "R01": ("assistance",),
        "R02": ("assistance",),
        "R03": ("subsidy",),
        "R04": ("subsidy",),
        "R05": ("assistance",),
        "R06": ("assistance",),
        "R08": ("assistance",),
        "R09": ("assistance",),
    }
    assert all(r.exclude_deceased for r in rules.rules if r.id != "R07")


def _broken(tmp_path: Path, **change: object) -> Path:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    doc["rules"][1].update(change)
    p = tmp_path / "eligibility.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"when": "disabled and incom_per_capita < 100"}, "unknown fact 'incom_per_capita'"),
        ({"when": "age >= $adult_age"}, "unknown parameter '$adult_age'"),
        ({"when": "age >= (18"}, "expected )"),
        ({"evidence": [{"source": "hospital", "fields": ["name"]}]}, "unknown source `hospital`"),
        ({"evidence": [{"source": "medical", "fields": ["cost"]}]}, "unknown field `cost`"),
        ({"requires": ["taxes"]}, "unknown source `taxes` in `requires`"),
        ({"id": "R01"}, "id R01 used twice"),
        ({"suggestion": ""}, "`suggestion` must be non-empty text"),
        ({"colour": "red"}, "unknown key `colour`"),
    ],
)
def test_a_mistake_names_file_and_rule(tmp_path: Path, change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_rules(_broken(tmp_path, **change), SOURCES)
    text = str(e.value)
    assert message in text and str(tmp_path / "eligibility.yaml") in text
    assert "rule R0" in text


def test_selecting_an_unknown_rule_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no rule R99"):
        load_rules(RULES, SOURCES).select(["R05", "R99"])


def test_a_rule_whose_source_failed_is_skipped() -> None:
    runnable, skipped = load_rules(RULES, SOURCES).runnable({"subsidy"})
    assert skipped == {"R03": ["subsidy"], "R04": ["subsidy"]}
    assert "R03" not in runnable.ids() and "R01" in runnable.ids()


def test_unknown_facts_never_warn_and_the_dead_are_excluded() -> None:
    facts = pd.DataFrame(
        {name: [None, None, None] for name in FACTS},
        index=pd.Index(["P1", "P2", "P3"], name="person_id"),
    ).astype("object")
    facts["disability_grade"] = ["一级", None, "一级"]
    facts["nursing_subsidy_paid"] = [False, False, False]
    facts["deceased"] = [False, False, True]
    hits = evaluate(load_rules(RULES, SOURCES).select(["R03"]), facts, {})
    # P2's grade is unknown: no warning; P3 is dead: no warning.
    assert hits["person_id"].tolist() == ["P1"]
