"""Entity resolution: one person across all extracts.

Layers (each its own module): prepare -> blocking -> compare -> model (Fellegi-Sunter) -> cluster
-> stable person IDs -> review and explanation. ``link`` runs them on a records frame; the stage
function in pipeline.stages reads and writes the files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.match.blocking import LEFT, RIGHT, Blocks, candidate_pairs, training_pairs
from pipeline.match.cluster import UnionFind
from pipeline.match.compare import COMPARISONS, ELSEWHERE, LEVEL_LABELS, REGISTRY, compare
from pipeline.match.errors import ErrorEstimates, blocking_recall, estimate
from pipeline.match.model import Model, fit, weights
from pipeline.match.prepare import (
    ANCHOR_ID,
    BIRTH_HI,
    BIRTH_LO,
    NATURAL_KEY,
    detach_foreign,
    households,
    prepare,
    unanchored_mask,
)
from pipeline.match.settings import MatchSettings
from pipeline.normalize.common import group_sizes

log = logging.getLogger(__name__)

# person_index columns
PERSON_ID = "person_id"
MATCH_PROBABILITY = "match_probability"
MATCH_WEIGHT = "match_weight"
LINK_RULE = "link_rule"  # id / model / review / none
LINKED_VIA = "linked_via"  # natural key of the record this one was linked to
EVIDENCE = "evidence"  # the comparison levels and weights of that link, in Chinese
#: Records per source whose ID is hidden to measure the blocking passes' recall (errors.py): a
#: share near 0.99 is then known to about +-0.01, at a few seconds' blocking at 1M records.
RECALL_SAMPLE = 400


@dataclass
class Decisions:
    """Reviewers' verdicts keyed by record natural keys."""

    must: list[tuple[str, str]] = field(default_factory=list)
    cannot: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class LinkResult:
    records: pd.DataFrame  # the prepared records with cluster label and link columns
    pairs: pd.DataFrame  # scored candidate pairs (left, right, passes, levels, weights, probability)
    review: pd.DataFrame  # pairs for clerical review
    model: Model
    pass_counts: dict[str, int]
    detached: int
    errors: ErrorEstimates  # expected false and missed links, from the model alone
    refused_births: int = 0  # links refused: the person would have had two birth dates


def evidence_text(
    levels: pd.DataFrame, weights: pd.DataFrame, elsewhere: pd.DataFrame | None = None
) -> list[str]:
    """'姓名一致(+11.2); 身份证号一位之差(+9.4); ...' per pair, missing comparisons left out.
    ``elsewhere``: per comparison, True where the level was read off another record of the
    candidate person (marked ELSEWHERE)."""
    parts = []
    for name in COMPARISONS:
        lv = levels[name].to_numpy()
        w = weights[name].to_numpy()
        labels = np.array(LEVEL_LABELS[name], dtype=object)[lv]
        if elsewhere is not None:
            labels = np.where(elsewhere[name].to_numpy(dtype=bool), labels + ELSEWHERE, labels)
        text = np.array([f"{lab}({x:+.1f})" for lab, x in zip(labels, w, strict=True)], dtype=object)
        parts.append(np.where(lv == 0, "", text))
    stacked = np.stack(parts, axis=1) if parts else np.empty((0, 0))
    return ["; ".join(p for p in row if p) for row in stacked]


def presence_rates(r: pd.DataFrame, unanchored: np.ndarray) -> dict[str, float]:
    """Per source: how often a record's person also has other records in the data.

    Measured on the records whose ID is usable (their other records are known exactly) and used as
    the prior that an ID-less record of that source has its person somewhere among the candidates.
    """
    shared = group_sizes(r[ANCHOR_ID]) > 1
    anchored = ~unanchored
    rates = pd.Series(shared[anchored]).groupby(r[S.SOURCE].to_numpy()[anchored]).mean()
    return {str(k): float(np.clip(v, 0.01, 0.99)) for k, v in rates.items()}


#: Place levels that say less because one side lacks detail (a village unknown).
_PARTIAL_PLACE = frozenset({"township"})


def _first_per_group(group: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    """The position of each group's highest ``score`` (groups numbered 0..n-1)."""
    order = np.lexsort((-score, group))
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    out = np.zeros(n, dtype=np.int64)
    out[group[order][first]] = order[first]
    return out


def person_weights(pairs: pd.DataFrame) -> np.ndarray:
    """Each pair's evidence about the candidate *person* (its right node): the levels of the
    person's best-matching record, with what that record leaves unknown read off the person's
    other records. Before, a record missing a field hid another record's disagreement: a caller's
    phone against a roster row without one while the person's monitoring row shows another phone,
    or a subsidy row without a village while the monitoring row names another village.

    Per comparison the best record's level is kept where it is known (for place: where the
    village is known on both sides); where it is not, the strongest level known among the
    person's other records counts instead. The county alone (a record naming no township) counts
    only where no record of the person gave a place: a township outranks it. Then, as in
    ``compare``, a comparison another one's agreement implies (phone and place once the household
    agrees) counts nothing. Returns the weight per pair (the same for every pair of one record and
    person)."""
    return person_evidence(pairs).weight


@dataclass
class PersonEvidence:
    """person_weights' result with its parts, aligned to the pairs: the levels and weights that
    counted per comparison (0 where implied), and where a level came from another record."""

    weight: np.ndarray
    levels: pd.DataFrame
    weights: pd.DataFrame
    elsewhere: pd.DataFrame


def person_evidence(pairs: pd.DataFrame) -> PersonEvidence:
    """person_weights with the levels behind it (see there)."""
    group = pairs.groupby([LEFT, "right_node"], sort=False).ngroup().to_numpy()
    n = int(group.max()) + 1 if len(group) else 0
    best = _first_per_group(group, pairs["weight"].to_numpy(dtype="float64"), n)
    partial = [i + 1 for i, k in enumerate(COMPARISONS["place"]) if k in _PARTIAL_PLACE]
    levels: dict[str, np.ndarray] = {}
    weights_: dict[str, np.ndarray] = {}
    elsewhere: dict[str, np.ndarray] = {}
    for name in COMPARISONS:
        lv = pairs[f"lv_{name}"].to_numpy()
        w = pairs[f"w_{name}"].to_numpy(dtype="float64")
        known = lv != 0
        if name == "place":
            known &= ~np.isin(lv, partial)
        take = best
        if known.any() and not known[best].all():
            strongest = _first_per_group(group, np.where(known, w, -np.inf), n)
            take = np.where(known[best] | ~known[strongest], best, strongest)
        levels[name], weights_[name], elsewhere[name] = lv[take], w[take], take != best
    total = np.zeros(n)
    for c in REGISTRY:
        implied = np.zeros(n, dtype=bool)
        for other in c.outranked_by:  # the county alone, where another record gave a place
            implied |= levels[other] != 0
        for other in c.implied_by:
            implied |= levels[other] == 1
        weights_[c.name] = np.where(implied, 0.0, weights_[c.name])
        levels[c.name] = np.where(implied, 0, levels[c.name])
        total += weights_[c.name]
    return PersonEvidence(
        weight=np.asarray(total[group]),
        levels=pd.DataFrame({k: v[group] for k, v in levels.items()}, index=pairs.index),
        weights=pd.DataFrame({k: v[group] for k, v in weights_.items()}, index=pairs.index),
        elsewhere=pd.DataFrame({k: v[group] for k, v in elsewhere.items()}, index=pairs.index),
    )


def competing_posterior(
    pairs: pd.DataFrame, rates: dict[str, float], source: np.ndarray, people: int, anchored_nodes: int
) -> np.ndarray:
    """The probability that each candidate person is the record's person, all candidates considered.

    The record's person is one of ``people`` people in the data (prior rate/people each) or none
    of them (prior 1 - rate); each candidate's Bayes factor is the largest ``weight`` of its pairs (the link
    stage passes ``person_weights``: the same for every pair of one record and person). So a lone
    candidate with moderate evidence can be likely, and two equally good candidates share it.
    Only anchored candidates (nodes below ``anchored_nodes``: different usable IDs, so different
    people) compete; a candidate without an ID may be any of them, so it is weighed on its own.
    """
    if pairs.empty:
        return np.zeros(0)
    best = pairs.groupby([LEFT, "right_node"], sort=False)["weight"].max().rename("bf").reset_index()
    alone = best["right_node"].to_numpy() >= anchored_nodes
    # Candidates weighed alone get a group of their own, keyed apart from every record number.
    best["group"] = np.where(alone, -1 - np.arange(len(best)), best[LEFT].to_numpy())
    rate = np.array([rates.get(s, 0.5) for s in source[best[LEFT].to_numpy()]])
    log_prior = np.log2(rate / max(people, 1))
    best["term"] = log_prior + best["bf"].to_numpy()
    # log2( sum over candidates 2^term + (1 - rate) ), per record, computed stably.
    top = best.groupby("group")["term"].transform("max").to_numpy()
    scaled = np.exp2(np.clip(best["term"].to_numpy() - top, -200, 0))
    sums = pd.Series(scaled).groupby(best["group"].to_numpy()).transform("sum").to_numpy()
    log_den = top + np.log2(sums + (1 - rate) * np.exp2(np.clip(-top, -1000, 1000)))
    best["p"] = np.exp2(np.clip(best["term"].to_numpy() - log_den, -200, 0))
    merged = pairs[[LEFT, "right_node"]].merge(
        best[[LEFT, "right_node", "p"]], on=[LEFT, "right_node"], how="left"
    )
    return np.asarray(merged["p"].to_numpy())


def link(
    records: pd.DataFrame,
    settings: MatchSettings,
    decisions: Decisions | None = None,
    model: Model | None = None,
    as_of: date | None = None,
) -> LinkResult:
    """Cluster records into people. See rules/matching.yaml for the model and its reasons.
    ``model``: a model fitted on an earlier night (pipeline.match.saved); None fits one.
    ``as_of``: the run date (a student's grade says their age in its month: prepare.reading_day);
    None leaves grades unused."""
    decisions = decisions or Decisions()
    r = prepare(records, as_of)
    detached = detach_foreign(r, settings.max_age_gap_years)
    unanchored = unanchored_mask(r)
    log.info(
        "match: %d records, %d without a usable ID (%d detached)", len(r), int(unanchored.sum()), detached
    )

    # Nodes: one per usable ID, one per record without one.
    codes, uniques = pd.factorize(r[ANCHOR_ID])
    n_ids = len(uniques)
    node = codes.copy()
    node[unanchored] = n_ids + np.arange(int(unanchored.sum()))
    idents = np.concatenate([np.asarray(uniques, dtype=object), np.full(int(unanchored.sum()), None, object)])

    blocks: dict[str, Blocks] = {}  # each pass's blocks, reused by the blocking recall
    cands, counts = candidate_pairs(r, unanchored, settings, blocks)
    recall = blocking_recall(r, unanchored, settings, RECALL_SAMPLE, settings.seed, blocks)
    blocks.clear()  # the passes' blocks: a few hundred MB at 3M records, not needed any more
    hh = households(r)
    if model is None:
        model = fit(r, training_pairs(r, settings), settings, hh)
    left = cands[LEFT].to_numpy(dtype=np.int64)
    right = cands[RIGHT].to_numpy(dtype=np.int64)
    levels = compare(r, left, right, settings, hh)
    per = weights(r, left, levels, model)
    bayes = per.sum(axis=1).to_numpy()  # log2 Bayes factor of each pair
    pairs = pd.concat([cands, levels.add_prefix("lv_"), per.add_prefix("w_")], axis=1).assign(
        weight=bayes, left_node=node[left], right_node=node[right]
    )
    presence = presence_rates(r, unanchored)
    person = person_evidence(pairs)
    source = r[S.SOURCE].to_numpy()
    pairs["probability"] = competing_posterior(
        pairs.assign(weight=person.weight), presence, source, len(idents), n_ids
    )

    # A record with two different people above the link bar is ambiguous: nobody is linked, a
    # reviewer decides. Pairs between two anchored nodes cannot occur (left is never anchored).
    strong = pairs[pairs["probability"] >= settings.link]
    anchored_right = ~unanchored[strong[RIGHT].to_numpy()]
    per_left = strong[anchored_right].groupby(LEFT)["right_node"].nunique()
    ambiguous = set(per_left[per_left > 1].index)
    review_mask = (
        (pairs["probability"] >= settings.review) & (pairs["probability"] < settings.link)
    ) | pairs[LEFT].isin(ambiguous)

    uf = UnionFind(
        len(idents),
        idents,
        births=_node_births(r, node, len(idents)),
        slack=settings.birth_conflict_years * 365.25,
    )
    wanted = {k for pair in [*decisions.cannot, *decisions.must] for k in pair}
    key_nodes: dict[str, list[int]] = {}
    if wanted:
        hit = r[NATURAL_KEY].isin(wanted).to_numpy()
        for k, x in zip(r[NATURAL_KEY].to_numpy()[hit], node[hit], strict=True):
            key_nodes.setdefault(str(k), []).append(int(x))
    # Cannot-links first: the union-find tracks members only once it knows there are any.
    for a, b in decisions.cannot:
        for x in key_nodes.get(a, []):
            for y in key_nodes.get(b, []):
                uf.add_cannot(x, y)
    for a, b in decisions.must:
        xs, ys = key_nodes.get(a, []), key_nodes.get(b, [])
        if xs and ys:
            uf.union(xs[0], ys[0], force=True)

    # Strongest links first, so a record's best candidate claims it before weaker ones are tried.
    accept = pairs[(pairs["probability"] >= settings.link) & ~pairs[LEFT].isin(ambiguous)]
    accept = accept.sort_values("weight", ascending=False, kind="stable")
    linked = np.zeros(len(pairs), dtype=bool)
    for pos, a, b in zip(
        accept.index.to_numpy(), accept["left_node"].to_numpy(), accept["right_node"].to_numpy(), strict=True
    ):
        linked[pos] = uf.union(int(a), int(b))
    pairs["linked"] = linked
    if uf.refused_births:
        log.info("match: %d links refused: the person would have two birth dates", uf.refused_births)

    label = uf.labels()[node]
    r["cluster"] = label
    _link_columns(r, pairs, person, unanchored, decisions)
    review = pairs[review_mask & ~pairs["linked"]].copy()
    errors = estimate(r, pairs, unanchored, presence, recall, RECALL_SAMPLE)
    log.info(
        "match: %d people; %d pairs compared, %d linked, %d for review; expected false links %.0f "
        "(%.0f-%.0f), missed %.0f (%.0f-%.0f)",
        len(np.unique(label)),
        len(pairs),
        int(linked.sum()),
        len(review),
        errors.false_links.expected,
        errors.false_links.low,
        errors.false_links.high,
        errors.missed_links.expected,
        errors.missed_links.low,
        errors.missed_links.high,
    )
    return LinkResult(r, pairs, review, model, counts, detached, errors, uf.refused_births)


def _node_births(r: pd.DataFrame, node: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per node, the birth dates its records allow (days since 1970; NaN when none says):
    the latest of their earliest and the earliest of their latest."""
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    np.fmax.at(lo, node, r[BIRTH_LO].to_numpy(dtype="float64", na_value=np.nan))
    np.fmin.at(hi, node, r[BIRTH_HI].to_numpy(dtype="float64", na_value=np.nan))
    # An ID whose own records disagree (no window fits them all) says nothing usable about birth.
    torn = lo > hi
    lo[torn] = np.nan
    hi[torn] = np.nan
    return lo, hi


def _link_columns(
    r: pd.DataFrame, pairs: pd.DataFrame, person: PersonEvidence, unanchored: np.ndarray, decisions: Decisions
) -> None:
    """How each record joined its person: by ID, by the model (best accepted pair; its evidence and
    weight are the person's, person_evidence), or not at all."""
    r[MATCH_PROBABILITY] = np.where(unanchored, np.nan, 1.0)
    r[MATCH_WEIGHT] = np.nan
    r[LINK_RULE] = np.where(unanchored, "none", "id")
    r[LINKED_VIA] = None
    r[EVIDENCE] = pd.Series("身份证号一致", index=r.index, dtype="object").where(~unanchored, None)
    linked = pairs[pairs["linked"]]
    if len(linked):
        best = linked.sort_values("weight", ascending=False).drop_duplicates(LEFT)
        idx = best[LEFT].to_numpy()
        at = best.index
        r.loc[idx, MATCH_PROBABILITY] = best["probability"].to_numpy()
        r.loc[idx, MATCH_WEIGHT] = person.weight[pairs.index.get_indexer(at)]
        r.loc[idx, LINK_RULE] = "model"
        r.loc[idx, LINKED_VIA] = r[NATURAL_KEY].to_numpy()[best[RIGHT].to_numpy()]
        r.loc[idx, EVIDENCE] = evidence_text(
            person.levels.loc[at], person.weights.loc[at], person.elsewhere.loc[at]
        )
    if decisions.must:
        keys = {k for pair in decisions.must for k in pair}
        forced = r[NATURAL_KEY].isin(keys) & (r[LINK_RULE] == "none")
        r.loc[forced, LINK_RULE] = "review"
        r.loc[forced, EVIDENCE] = "人工复核判定为同一人"
        r.loc[forced, MATCH_PROBABILITY] = 1.0


__all__ = [
    "Decisions",
    "ELSEWHERE",
    "LinkResult",
    "competing_posterior",
    "evidence_text",
    "link",
    "person_evidence",
    "person_weights",
    "presence_rates",
]
