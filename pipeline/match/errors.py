"""How many of tonight's links are probably wrong, and how many links were probably missed,
estimated from the fitted model alone (real extracts come without truth).

In the spirit of fastLink's false-discovery and false-negative rates (Enamorado, Fifield and Imai
2019), on this matcher's terms. A record with a usable ID joins its ID's person and is taken as
right. Every other record was weighed against its candidate people (``competing_posterior``):

- a record the model **linked** to a person is wrong with probability 1 - p, p the posterior of that
  person: the expected false links are the sum of 1 - p;
- a record left **alone** (a person of one record) missed its person with the probability that its
  person is one of its candidates: the sum of their posteriors, at most 1. A record whose person was
  never a candidate (the blocking passes did not bring them together) is invisible to the model: it
  is weighed by Bayes, with its source's presence rate (the share of records with a usable ID whose
  person has other records, the prior the model uses) and the blocking passes' recall, measured
  every night on records whose ID is hidden (``blocking_recall``).

The ranges are the point estimate plus or minus two standard deviations of a sum of independent
Bernoulli outcomes (sqrt of the sum of p (1 - p)); the misses' upper end adds the recall's own
uncertainty. Sampling only: not the model's own error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.match.blocking import Blocks, candidate_pairs
from pipeline.match.prepare import ANCHOR_ID
from pipeline.match.settings import MatchSettings
from pipeline.normalize.common import group_sizes

#: The columns of the prepared records this module reads (besides the source).
LINK_RULE, MATCH_PROBABILITY, CLUSTER = "link_rule", "match_probability", "cluster"


@dataclass
class Estimate:
    """An expected count with an honest range."""

    expected: float
    low: float
    high: float

    @classmethod
    def of(cls, p: np.ndarray, extra_high: float = 0.0) -> Estimate:
        mean = float(p.sum())
        sd = math.sqrt(float((p * (1 - p)).sum()))
        return cls(round(mean, 1), round(max(0.0, mean - 2 * sd), 1), round(mean + 2 * sd + extra_high, 1))


@dataclass
class ErrorEstimates:
    """Tonight's expected false and missed links, overall, per source and per pair of sources."""

    linked_by_model: int  # records joined to a person by the model (not by their ID)
    alone_without_id: int  # records without a usable ID left as a person of their own
    false_links: Estimate
    missed_links: Estimate
    #: per source of the record: {"linked", "false", "alone", "missed"} (expected counts, rounded)
    by_source: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per "record source→source it was linked to": expected false links
    false_by_source_pair: dict[str, float] = field(default_factory=dict)
    #: per source: the blocking passes' recall, measured on records whose ID was hidden
    blocking_recall: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ErrorEstimates:
        return cls(
            linked_by_model=int(d["linked_by_model"]),
            alone_without_id=int(d["alone_without_id"]),
            false_links=Estimate(**d["false_links"]),
            missed_links=Estimate(**d["missed_links"]),
            by_source=d.get("by_source", {}),
            false_by_source_pair=d.get("false_by_source_pair", {}),
            blocking_recall=d.get("blocking_recall", {}),
        )


def blocking_recall(
    r: pd.DataFrame,
    unanchored: np.ndarray,
    settings: MatchSettings,
    per_source: int,
    seed: int,
    cache: dict[str, Blocks] | None = None,
) -> dict[str, float]:
    """Per source: the share of records whose person has other records that the blocking passes
    would bring together with one of them if the record had no ID, measured on records that do
    have one (their other records are known exactly): ``per_source`` of them, their ID hidden.
    ``cache``: the night's blocks (candidate_pairs), reused."""
    ids = r[ANCHOR_ID]
    # A record without a name is never a candidate (blocking.candidate_pairs): it has one only
    # beside a usable ID, so no record like it is ever without one.
    shared = (group_sizes(ids) > 1) & ~unanchored & r[S.NAME].notna().to_numpy()
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    sources = r[S.SOURCE].to_numpy()
    for s in np.unique(sources[shared]):
        pool = np.flatnonzero(shared & (sources == s))
        chosen.append(rng.choice(pool, size=min(per_source, len(pool)), replace=False))
    if not chosen:
        return {}
    picked = np.concatenate(chosen)
    hidden = np.zeros(len(r), dtype=bool)
    hidden[picked] = True
    pairs, _ = candidate_pairs(r, hidden, settings, cache)
    id_of = ids.to_numpy(dtype=object)
    left, right = pairs["left"].to_numpy(dtype=np.int64), pairs["right"].to_numpy(dtype=np.int64)
    # A pair of two hidden records of one ID is kept once (left < right): either side found.
    same = id_of[left] == id_of[right]
    found = np.zeros(len(r), dtype=bool)
    found[left[same]] = True
    found[right[same & hidden[right]]] = True
    out = {}
    for s in np.unique(sources[picked]):
        mine = picked[sources[picked] == s]
        out[str(s)] = float(found[mine].mean())
    return out


def candidate_mass(pairs: pd.DataFrame, unanchored: np.ndarray) -> np.ndarray:
    """Per record (by position): the posterior that its person is one of its candidates, at most 1.
    A pair between two records without an ID counts for both (it says the same of either)."""
    n = len(unanchored)
    best = pairs.drop_duplicates(["left", "right_node"])
    mass = np.bincount(
        best["left"].to_numpy(dtype=np.int64), weights=best["probability"].to_numpy(), minlength=n
    )
    right = pairs["right"].to_numpy(dtype=np.int64)
    both = unanchored[right]
    mass += np.bincount(right[both], weights=pairs["probability"].to_numpy()[both], minlength=n)
    return np.minimum(np.asarray(mass, dtype=float), 1.0)


def unseen_probability(presence: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """The probability that a record without candidates has its person among the records anyway:
    Bayes with the prior ``presence`` (its person has other records) and the blocking passes'
    ``recall`` (they find one of them when there is one), per record.

    >>> unseen_probability(np.array([0.5, 0.0]), np.array([0.99, 0.5])).round(4).tolist()
    [0.0099, 0.0]
    """
    missed = presence * (1 - recall)
    total = missed + 1 - presence
    return np.divide(missed, total, out=np.zeros_like(missed, dtype=float), where=total > 0)


def estimate(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    unanchored: np.ndarray,
    presence: dict[str, float],
    recall: dict[str, float] | None = None,
    recall_sample: int = 0,
) -> ErrorEstimates:
    """``records``: the linked records by position (source, link_rule, match_probability, cluster);
    ``pairs``: the scored candidate pairs (left, right, right_node, weight, probability, linked);
    ``unanchored``: per record, no usable ID;
    ``presence``: per source, the share of records whose person has other records; ``recall``: per
    source, the blocking passes' recall measured on ``recall_sample`` records (``blocking_recall``).
    Without it a record without candidates counts only in the range's upper end, at ``presence``."""
    n = len(records)
    source = records[S.SOURCE].to_numpy().astype(str)
    model = records[LINK_RULE].to_numpy() == "model"
    size = records.groupby(CLUSTER)[CLUSTER].transform("size").to_numpy()
    alone = unanchored & (size == 1)
    wrong = np.where(model, 1 - records[MATCH_PROBABILITY].fillna(1.0).to_numpy(dtype=float), 0.0)
    mass = candidate_mass(pairs, unanchored)
    seen = np.zeros(n, dtype=bool)
    seen[pairs["left"].to_numpy(dtype=np.int64)] = True
    right = pairs["right"].to_numpy(dtype=np.int64)
    seen[right[unanchored[right]]] = True  # the other side of a pair of two records without an ID
    unseen = alone & ~seen
    prior = pd.Series(source).map(presence).fillna(0.5).to_numpy(dtype=float)
    if recall is not None:
        # The misses blocking hides, by Bayes; the upper end takes the recall's own uncertainty
        # (two binomial deviations of the sample it was measured on) on top.
        b = pd.Series(source).map(recall).fillna(1.0).to_numpy(dtype=float)
        mass = np.where(unseen, unseen_probability(prior, b), mass)
        dev = 2 * np.sqrt(b * (1 - b) / max(recall_sample, 1))
        worse = unseen_probability(prior, np.clip(b - dev, 0.0, 1.0))
        extra_high = float((worse - mass)[unseen].sum())
    else:
        extra_high = float(prior[unseen].sum())
    missed = np.where(alone, mass, 0.0)

    by_source: dict[str, dict[str, float]] = {}
    for s in sorted(set(source[model | alone])):
        m = source == s
        by_source[s] = {
            "linked": int((model & m).sum()),
            "false": round(float(wrong[m].sum()), 1),
            "alone": int((alone & m).sum()),
            "missed": round(float(missed[m].sum()), 1),
        }
    # The pair each model link stands on: the record's strongest linked pair (as in its evidence).
    best = pairs[pairs["linked"]].sort_values("weight", ascending=False, kind="stable")
    best = best.drop_duplicates("left")
    target = np.full(n, "", dtype=object)
    target[best["left"].to_numpy(dtype=np.int64)] = source[best["right"].to_numpy(dtype=np.int64)]
    pair_false: dict[str, float] = {}
    for s, t, w in zip(source[model], target[model], wrong[model], strict=True):
        key = f"{s}→{t}"
        pair_false[key] = pair_false.get(key, 0.0) + float(w)
    return ErrorEstimates(
        linked_by_model=int(model.sum()),
        alone_without_id=int(alone.sum()),
        false_links=Estimate.of(wrong[model]),
        missed_links=Estimate.of(missed[alone], extra_high=extra_high),
        by_source=by_source,
        false_by_source_pair={k: round(v, 1) for k, v in sorted(pair_false.items(), key=lambda kv: -kv[1])},
        blocking_recall={k: round(v, 4) for k, v in (recall or {}).items()},
    )


__all__ = [
    "ErrorEstimates",
    "Estimate",
    "blocking_recall",
    "candidate_mass",
    "estimate",
    "unseen_probability",
]
