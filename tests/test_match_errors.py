"""The label-free error estimates (pipeline.match.errors) on constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline.match.errors import Estimate, candidate_mass, estimate


def frame(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source", "link_rule", "match_probability", "cluster"])


def pairs(rows: list[tuple[int, int, int, float, bool]]) -> pd.DataFrame:
    p = pd.DataFrame(rows, columns=["left", "right", "right_node", "probability", "linked"])
    p["weight"] = np.log2(p["probability"] / (1 - p["probability"] + 1e-12))
    return p


def test_hand_worked_false_and_missed_links() -> None:
    # 0, 1: one ID's records (person 0). 2: a hospital stay linked to it by the model at 0.8.
    # 3: a stay left alone, with two candidates at 0.2 and 0.1 (two rows for the first: two records
    # of that person, one candidate). 4: a stay alone with no candidate at all.
    records = frame(
        [
            ("assistance", "id", 1.0, 0),
            ("disability", "id", 1.0, 0),
            ("medical", "model", 0.8, 0),
            ("medical", "none", math.nan, 3),
            ("medical", "none", math.nan, 4),
        ]
    )
    scored = pairs(
        [
            (2, 0, 0, 0.8, True),
            (2, 1, 0, 0.8, False),
            (3, 0, 0, 0.2, False),
            (3, 1, 0, 0.2, False),
            (3, 2, 7, 0.1, False),
        ]
    )
    unanchored = np.array([False, False, True, True, True])
    est = estimate(records, scored, unanchored, {"medical": 0.5})
    assert est.linked_by_model == 1 and est.alone_without_id == 2
    assert est.false_links.expected == 0.2  # 1 - 0.8
    assert est.missed_links.expected == 0.3  # 0.2 + 0.1 for record 3; record 4 has no candidate
    sd = math.sqrt(0.3 * 0.7)  # record 3 is one Bernoulli outcome of p = 0.3; record 4 adds none
    assert est.missed_links.low == round(max(0, 0.3 - 2 * sd), 1)
    # The upper end counts record 4 at its source's presence rate: the misses blocking hides.
    assert est.missed_links.high == round(0.3 + 2 * sd + 0.5, 1)
    assert est.by_source["medical"] == {"linked": 1, "false": 0.2, "alone": 2, "missed": 0.3}
    assert est.false_by_source_pair == {"medical→assistance": 0.2}


def test_a_pair_of_two_records_without_an_id_counts_for_both() -> None:
    # Records 0 and 1 have no ID; 2 has one.
    scored = pairs([(0, 1, 9, 0.4, False), (0, 2, 3, 0.9, False)])
    assert candidate_mass(scored, np.array([True, True, False])).tolist() == [1.0, 0.4, 0.0]  # capped at 1


def test_the_estimate_matches_outcomes_drawn_from_calibrated_probabilities() -> None:
    # 4,000 model links and 3,000 alone records whose probabilities are right by construction: the
    # true counts, drawn from them, fall within the stated range, and near the expected count.
    rng = np.random.default_rng(7)
    p_link = rng.uniform(0.85, 1.0, 4000)
    p_alone = rng.beta(0.3, 3.0, 3000)
    n = len(p_link) + len(p_alone)
    records = frame(
        [("medical", "model", float(p), 0) for p in p_link]
        + [("students", "none", math.nan, 1 + i) for i in range(len(p_alone))]
    )
    records.loc[: len(p_link) - 1, "cluster"] = 0
    scored = pairs(
        [(i, n, 0, float(p), True) for i, p in enumerate(p_link)]
        + [(len(p_link) + i, n, 0, float(p), False) for i, p in enumerate(p_alone)]
    )
    records = pd.concat([records, frame([("assistance", "id", 1.0, 0)])], ignore_index=True)
    unanchored = np.r_[np.ones(n, dtype=bool), False]
    est = estimate(records, scored, unanchored, {})
    # A two-deviation range holds the truth about 95% of the time.
    inside = {"false": 0, "missed": 0}
    trials = 400
    for _ in range(trials):
        wrong = int((rng.random(len(p_link)) < 1 - p_link).sum())
        missed = int((rng.random(len(p_alone)) < p_alone).sum())
        inside["false"] += est.false_links.low <= wrong <= est.false_links.high
        inside["missed"] += est.missed_links.low <= missed <= est.missed_links.high
    assert all(0.9 <= k / trials for k in inside.values()), inside
    assert abs(est.false_links.expected - (1 - p_link).sum()) < 0.1
    assert abs(est.missed_links.expected - p_alone.sum()) < 0.1


def test_the_range_is_the_expected_count_plus_minus_two_deviations() -> None:
    e = Estimate.of(np.array([0.5, 0.5, 0.5, 0.5]))
    assert (e.expected, e.low, e.high) == (2.0, 0.0, 4.0)  # sd = 1
