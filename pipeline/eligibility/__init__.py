"""Eligibility: facts per person, rules as data, warnings with their evidence (Prefect-free)."""

from __future__ import annotations

import pandas as pd

from pipeline.eligibility.facts import FACTS, INPUT_COLUMNS, FactsResult, compute_facts
from pipeline.eligibility.requests import Lexicon, classify, load_lexicon
from pipeline.eligibility.rules import Rule, RuleSet, evaluate, load_rules
from pipeline.eligibility.warnings import WARNING_SCHEMA, build_warnings, warning_id
from pipeline.normalize.places import Gazetteer
from pipeline.params import Params

__all__ = [
    "FACTS",
    "INPUT_COLUMNS",
    "WARNING_SCHEMA",
    "FactsResult",
    "Rule",
    "RuleSet",
    "Lexicon",
    "build_warnings",
    "classify",
    "load_lexicon",
    "compute_facts",
    "evaluate",
    "find_warnings",
    "load_rules",
    "warning_id",
]


def find_warnings(
    records: pd.DataFrame,
    person_index: pd.DataFrame,
    households: pd.DataFrame,
    persons: pd.DataFrame,
    params: Params,
    rules: RuleSet,
    gazetteer: Gazetteer,
    lexicon: Lexicon | None = None,
    cases: pd.DataFrame | None = None,
    hardship: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, FactsResult]:
    """Facts, rule hits and the warnings frame (WARNING_SCHEMA) for one run (the last three: see
    ``compute_facts``)."""
    fr = compute_facts(records, person_index, households, persons, params, lexicon, cases, hardship)
    hits = evaluate(rules, fr.facts, params.scalars())
    return build_warnings(hits, rules, fr, persons, households, params, gazetteer), fr
