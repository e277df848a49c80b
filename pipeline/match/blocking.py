"""Candidate pairs for records without a usable ID, pass by pass.

Every pass pairs each unanchored record with every other record sharing its key; the union of the
passes is what gets compared. Records sharing a usable ID need no candidates: the ID links them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.match.prepare import ANCHOR_ID, BIRTH_YEAR, SURNAME, TYPO_ID
from pipeline.match.settings import MatchSettings, Pass
from pipeline.normalize.common import member
from pipeline.normalize.ids import one_edit_corrections

log = logging.getLogger(__name__)

LEFT, RIGHT, PASS = "left", "right", "pass"


def _key_frame(
    r: pd.DataFrame, keys: tuple[str, ...], codes: dict[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """The pass's keys of the records that have them all: text keys as integer codes (factorized
    once per column and shared by the passes: the joins and groupings then run on integers, and
    missing values are code -1 instead of an object test per row), the birth year as its value
    (the birth-year shift adds to it)."""
    codes = {} if codes is None else codes
    cols: dict[str, Any] = {}
    present = np.ones(len(r), dtype=bool)
    for k in keys:
        if k == BIRTH_YEAR:
            year = r[BIRTH_YEAR]
            cols[k] = year
            present &= year.notna().to_numpy()
            continue
        if k not in codes:
            codes[k] = pd.factorize(r[SURNAME] if k == "surname" else r[k])[0]
        cols[k] = codes[k]
        present &= codes[k] >= 0
    return pd.DataFrame(cols, index=r.index)[present]


@dataclass(frozen=True)
class Blocks:
    """One pass's blocks over all records: each keyed record's group code, the group codes of the
    key values (for the birth-year shift), and the records of the groups small enough to join."""

    keyed: pd.DataFrame  # the pass's keys per record with all keys present, indexed by position
    code: np.ndarray  # group code per row of ``keyed``
    table: pd.DataFrame  # the keys of each group and its code ("g")
    right: pd.DataFrame  # RIGHT, g: the records of groups of at most max_block records


def _group_codes(keyed: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(group code per row, size of each row's group): joins then go on one integer column, not on
    the text keys (about 4x faster at 1M records)."""
    code = keyed.groupby(keys, sort=False).ngroup().to_numpy(dtype=np.int64)
    size = np.bincount(code) if len(code) else np.zeros(0, dtype=np.int64)
    return code, size[code]


def _blocks(r: pd.DataFrame, p: Pass, max_block: int, codes: dict[str, np.ndarray] | None = None) -> Blocks:
    keys = list(p.keys)
    keyed = _key_frame(r, p.keys, codes)
    if BIRTH_YEAR in keys:
        keyed[BIRTH_YEAR] = keyed[BIRTH_YEAR].astype("int64")
    code, size = _group_codes(keyed, keys)
    small = size <= max_block
    right = pd.DataFrame({RIGHT: keyed.index.to_numpy()[small], "g": code[small]})
    table = keyed.assign(g=code).drop_duplicates("g")
    return Blocks(keyed, code, table, right)


def run_pass(
    r: pd.DataFrame,
    unanchored: np.ndarray,
    p: Pass,
    max_block: int,
    cache: dict[str, Blocks] | None = None,
    codes: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Pairs (left = an unanchored record, right = any other record) for one pass. ``cache``: the
    pass's blocks from an earlier call on the same records (they do not depend on ``unanchored``);
    ``codes``: the key columns' integer codes, shared by the passes (``_key_frame``)."""
    if p.name == "id_one_edit":
        corr = one_edit_corrections(r.loc[unanchored, TYPO_ID])
        # Only the records holding one of the corrections (a join over every ID cost a second).
        holds = member(r[ANCHOR_ID], corr["candidate"].unique())
        anchors = pd.DataFrame({"candidate": r.loc[holds, ANCHOR_ID], RIGHT: r.index[holds]}).dropna()
        pairs = corr.merge(anchors, on="candidate").rename(columns={"index": LEFT})[[LEFT, RIGHT]]
        return pairs.assign(**{PASS: p.name})
    if cache is not None and p.name in cache:
        b = cache[p.name]
    else:
        b = _blocks(r, p, max_block, codes)
        if cache is not None:
            cache[p.name] = b
    position = b.keyed.index.to_numpy()
    mine = unanchored[position]
    if BIRTH_YEAR in p.keys:
        # An age stated at an event gives the birth year only to within a year either way.
        keys = list(p.keys)
        asked = b.keyed.loc[mine].reset_index(names=LEFT)
        shifted = pd.concat([asked.assign(**{BIRTH_YEAR: asked[BIRTH_YEAR] + d}) for d in (-1, 0, 1)])
        left = shifted.merge(b.table[[*keys, "g"]], on=keys)[[LEFT, "g"]]
    else:
        left = pd.DataFrame({LEFT: position[mine], "g": b.code[mine]})
    pairs = left.merge(b.right, on="g")[[LEFT, RIGHT]]
    pairs = pairs[pairs[LEFT] != pairs[RIGHT]]
    return pairs.assign(**{PASS: p.name})


def candidate_pairs(
    r: pd.DataFrame,
    unanchored: np.ndarray,
    settings: MatchSettings,
    cache: dict[str, Blocks] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Union of all passes, one row per (left, right) with the passes that found it, in (left,
    right) order. A pair of two unanchored records is kept once, with left < right. ``cache``:
    shared by calls on the same records (the blocking recall reuses the night's blocks)."""
    parts = []
    counts: dict[str, int] = {}
    codes: dict[str, np.ndarray] = {}
    for p in settings.passes:
        pairs = run_pass(r, unanchored, p, settings.max_block, cache, codes)
        counts[p.name] = len(pairs)
        parts.append(pairs)
        log.info("blocking pass %s: %d pairs", p.name, len(pairs))
    if not parts:
        return pd.DataFrame(columns=[LEFT, RIGHT, PASS]), counts
    allp = pd.concat(parts, ignore_index=True)
    both = unanchored[allp[RIGHT].to_numpy()]
    swap = both & (allp[LEFT].to_numpy() > allp[RIGHT].to_numpy())
    lo = np.where(swap, allp[RIGHT], allp[LEFT])
    hi = np.where(swap, allp[LEFT], allp[RIGHT])
    # Which passes found a pair, as a bit mask (pass i -> bit i): a sum over distinct passes.
    bit = {p.name: 1 << i for i, p in enumerate(settings.passes)}
    allp = pd.DataFrame({LEFT: lo, RIGHT: hi, PASS: allp[PASS].map(bit).to_numpy(dtype=np.int64)})
    out = allp.drop_duplicates().groupby([LEFT, RIGHT], sort=True)[PASS].sum().reset_index()
    # A record kept without a name (its ID is usable: rules/sources.yaml, not_null: unless_id)
    # links by its ID only. Against a record without an ID its missing name would weigh nothing,
    # and a phone or a village shared with a relative would be all the evidence left.
    named = r[S.NAME].notna().to_numpy()
    out = out[named[out[LEFT].to_numpy()] & named[out[RIGHT].to_numpy()]].reset_index(drop=True)
    counts["union"] = len(out)
    return out, counts


def pass_names(mask: int, settings: MatchSettings) -> str:
    """The passes of a bit mask from candidate_pairs, comma-separated."""
    return ",".join(p.name for i, p in enumerate(settings.passes) if mask >> i & 1)


def pairs_within(rows: np.ndarray, group: np.ndarray, most: int, seed: int) -> pd.DataFrame:
    """The pairs (left < right) of ``rows`` (ascending) that share a ``group``, or ``most`` of them
    drawn at random: exactly the rows a self-merge on the group, filtered to left < right and then
    ``DataFrame.sample(most, random_state=seed)``, gives, in the same order.

    The pairs are numbered instead of listed: row i's pairs are the later rows of its group, so the
    k-th pair is found by a binary search over the running count. The self-merge listed every
    ordered pair first, both ways round and each row with itself: 1.7 GB at 3M records.
    """
    if len(rows) == 0:
        return pd.DataFrame({LEFT: rows, RIGHT: rows})
    members = np.argsort(group, kind="stable")  # positions, grouped, ascending within a group
    starts = np.r_[0, np.flatnonzero(np.diff(group[members])) + 1]
    sizes = np.diff(np.r_[starts, len(members)])
    at = np.empty(len(rows), dtype=np.int64)  # each row's place in the grouped order
    at[members] = np.arange(len(members))
    stop = np.empty(len(rows), dtype=np.int64)  # where its group ends there
    stop[members] = np.repeat(starts + sizes, sizes)
    later = stop - at - 1  # pairs with a later row of the group
    ends = np.cumsum(later)
    total = int(ends[-1])
    # pandas' sample: a RandomState's choice of positions without replacement, in drawn order.
    k = np.random.RandomState(seed).choice(total, most, replace=False) if total > most else np.arange(total)
    i = np.searchsorted(ends, k, side="right")
    j = members[at[i] + 1 + k - (ends[i] - later[i])]
    return pd.DataFrame({LEFT: rows[i], RIGHT: rows[j]})


def training_pairs(r: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """Pairs for EM, sampled from the training blockings of rules/matching.yaml (``block`` says
    which one).

    Each comparison must vary within some blocking that does not use it, or EM cannot learn how
    often true matches disagree on it (Splink trains each comparison on rules that exclude it):
    name blocks show IDs and birth dates varying, ID and birth-date blocks show names varying.
    """
    parts = []
    smallest, largest = settings.training_block_size
    share = settings.training_pairs // max(len(settings.training), 1)
    codes: dict[str, np.ndarray] = {}
    for b, block in enumerate(settings.training):
        keys = list(block.keys)
        keyed = _key_frame(r, block.keys, codes)
        code, size = _group_codes(keyed, keys)
        ok = (size >= smallest) & (size <= largest)
        pairs = pairs_within(keyed.index.to_numpy()[ok], code[ok], share, settings.seed)
        parts.append(pairs.assign(block=b))
    if not parts:
        return pd.DataFrame(columns=[LEFT, RIGHT, "block"])
    return pd.concat(parts, ignore_index=True)
