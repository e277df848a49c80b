"""Candidate pairs for records without a usable ID, pass by pass.

Every pass pairs each unanchored record with every other record sharing its key; the union of the
passes is what gets compared. Records sharing a usable ID need no candidates: the ID links them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pipeline.match.prepare import ANCHOR_ID, BIRTH_YEAR, SURNAME, TYPO_ID
from pipeline.match.settings import MatchSettings, Pass
from pipeline.normalize.ids import one_edit_corrections

log = logging.getLogger(__name__)

LEFT, RIGHT, PASS = "left", "right", "pass"


def _key_frame(r: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    cols = {k: (r[SURNAME] if k == "surname" else r[k]) for k in keys}
    f = pd.DataFrame(cols, index=r.index)
    return f.dropna()


def run_pass(r: pd.DataFrame, unanchored: np.ndarray, p: Pass, max_block: int) -> pd.DataFrame:
    """Pairs (left = an unanchored record, right = any other record) for one pass."""
    if p.name == "id_one_edit":
        corr = one_edit_corrections(r.loc[unanchored, TYPO_ID])
        anchors = pd.DataFrame({"candidate": r[ANCHOR_ID], RIGHT: r.index}).dropna()
        pairs = corr.merge(anchors, on="candidate").rename(columns={"index": LEFT})[[LEFT, RIGHT]]
        return pairs.assign(**{PASS: p.name})
    keys = list(p.keys)
    keyed = _key_frame(r, p.keys).reset_index(names=RIGHT)
    if BIRTH_YEAR in keys:
        keyed[BIRTH_YEAR] = keyed[BIRTH_YEAR].astype("int64")
    sizes = keyed.groupby(keys, sort=False).size().rename("n").reset_index()
    right = keyed.merge(sizes.loc[sizes["n"] <= max_block, keys], on=keys)
    left = keyed.loc[unanchored[keyed[RIGHT].to_numpy()]].rename(columns={RIGHT: LEFT})
    if BIRTH_YEAR in keys:
        # An age stated at an event gives the birth year only to within a year either way.
        left = pd.concat([left.assign(**{BIRTH_YEAR: left[BIRTH_YEAR] + d}) for d in (-1, 0, 1)])
    pairs = left.merge(right, on=keys)[[LEFT, RIGHT]]
    pairs = pairs[pairs[LEFT] != pairs[RIGHT]]
    return pairs.assign(**{PASS: p.name})


def candidate_pairs(
    r: pd.DataFrame, unanchored: np.ndarray, settings: MatchSettings
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Union of all passes, one row per (left, right) with the passes that found it.

    A pair of two unanchored records is kept once, with left < right.
    """
    parts = []
    counts: dict[str, int] = {}
    for p in settings.passes:
        pairs = run_pass(r, unanchored, p, settings.max_block)
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
    out = allp.drop_duplicates().groupby([LEFT, RIGHT], sort=False)[PASS].sum().reset_index()
    counts["union"] = len(out)
    return out, counts


def pass_names(mask: int, settings: MatchSettings) -> str:
    """The passes of a bit mask from candidate_pairs, comma-separated."""
    return ",".join(p.name for i, p in enumerate(settings.passes) if mask >> i & 1)


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
    for b, block in enumerate(settings.training):
        keys = list(block.keys)
        sizes = r[keys].dropna().groupby(keys, sort=False).size()
        frame = r.loc[r[keys].notna().all(axis=1), keys].reset_index(names=LEFT)
        frame = frame.merge(
            sizes[(sizes >= smallest) & (sizes <= largest)].rename("n").reset_index(), on=keys
        )
        pairs = frame.merge(frame, on=keys, suffixes=("", "_r"))
        pairs = pairs[pairs[LEFT] < pairs[f"{LEFT}_r"]][[LEFT, f"{LEFT}_r"]].rename(
            columns={f"{LEFT}_r": RIGHT}
        )
        if len(pairs) > share:
            pairs = pairs.sample(share, random_state=settings.seed)
        parts.append(pairs.assign(block=b))
    if not parts:
        return pd.DataFrame(columns=[LEFT, RIGHT, "block"])
    return pd.concat(parts, ignore_index=True)
