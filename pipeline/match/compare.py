"""Comparisons with ordered levels for record pairs, vectorized over the pairs.

Level 0 is always `missing` (either side blank: no evidence either way); levels 1.. follow
``COMPARISONS`` in pipeline.match.settings, strongest agreement first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Indel

from pipeline import schema as S
from pipeline.match.prepare import (
    ANCHOR_ID,
    BIRTH_EXACT,
    BIRTH_HI,
    BIRTH_LO,
    CARRIED_ID,
    DISABILITY_SOURCES,
    DISABLED,
    HOUSEHOLD,
    TYPO_ID,
    Households,
)
from pipeline.match.settings import COMPARISONS, MatchSettings


def _take(r: pd.DataFrame, col: str, idx: np.ndarray) -> np.ndarray:
    values = r[col]
    if values.dtype != object:  # prepare() makes text columns object already; the rest are few
        values = values.astype("object").where(values.notna(), None)
    return np.asarray(values.to_numpy()[idx])


def _present(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(pd.notna(a) & pd.notna(b))


def _levels(present: np.ndarray, *conditions: np.ndarray) -> np.ndarray:
    """Level 0 where a side is missing, else the first condition that holds (1-based), else last+1."""
    out = np.full(len(present), len(conditions) + 1, dtype=np.int8)
    for k in range(len(conditions), 0, -1):
        out[conditions[k - 1]] = k
    out[~present] = 0
    return out


def name_levels(a: np.ndarray, b: np.ndarray, pa_: np.ndarray, pb: np.ndarray, fuzzy: float) -> np.ndarray:
    """exact simplified name / same pinyin / one character dropped / Indel similarity >= fuzzy / else.

    >>> name_levels(np.array(["张磊", "张磊", "王秀英", "王秀英", "张伟", None], dtype=object),
    ...             np.array(["张磊", "张蕾", "王秀", "玉秀英", "张磊", "张伟"], dtype=object),
    ...             np.array(["zhang lei", "zhang lei", "wang xiu ying", "wang xiu ying", "zhang wei", None],
    ...                      dtype=object),
    ...             np.array(["zhang lei", "zhang lei", "wang xiu", "yu xiu ying", "zhang lei", "zhang wei"],
    ...                      dtype=object),
    ...             0.65)
    array([1, 2, 3, 4, 5, 0], dtype=int8)
    """
    present = _present(a, b)
    sa = np.where(present, a, "").astype(str)
    sb = np.where(present, b, "").astype(str)
    sim = (
        process.cpdist(list(sa), list(sb), scorer=Indel.normalized_similarity, workers=1)
        if len(sa)
        else np.zeros(0)
    )
    la = np.fromiter((len(x) for x in sa), dtype=np.int64, count=len(sa))
    lb = np.fromiter((len(x) for x in sb), dtype=np.int64, count=len(sb))
    # One character dropped: lengths differ by one and Indel distance (insertions + deletions) is 1,
    # i.e. similarity 1 - 1 / (la + lb).
    dropped = (np.abs(la - lb) == 1) & np.isclose(np.asarray(sim), 1 - 1 / np.maximum(la + lb, 1))
    return _levels(present, sa == sb, np.asarray(pa_ == pb) & present, dropped, np.asarray(sim) >= fuzzy)


def one_edit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 where two equal-length strings differ in one position, 2 where by one adjacent swap, else 0.

    >>> one_edit(np.array(["12345", "12345", "12345"]), np.array(["12395", "12435", "54321"]))
    array([1, 2, 0], dtype=int8)
    """
    out = np.zeros(len(a), dtype=np.int8)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if not isinstance(x, str) or not isinstance(y, str) or len(x) != len(y) or x == y:
            continue
        diff = [k for k in range(len(x)) if x[k] != y[k]]
        if len(diff) == 1:
            out[i] = 1
        elif (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and x[diff[0]] == y[diff[1]]
            and x[diff[1]] == y[diff[0]]
        ):
            out[i] = 2
    return out


def guardian_levels(
    r: pd.DataFrame, left: np.ndarray, right: np.ndarray, hh: Households | None
) -> np.ndarray:
    """For a record carrying someone else's ID (an infant under a parent's): exact when the other
    record carries the same ID, or when the other record's person shares a household with the
    carried ID's holder; else; missing when neither side carries an ID or nothing is known."""
    ca, cb = _take(r, CARRIED_ID, left), _take(r, CARRIED_ID, right)
    out = np.zeros(len(left), dtype=np.int8)
    todo = np.flatnonzero(pd.notna(ca) | pd.notna(cb))
    if len(todo) == 0 or hh is None:
        return out
    ida, idb = _take(r, ANCHOR_ID, left), _take(r, ANCHOR_ID, right)
    for k in todo:
        a, b = ca[k], cb[k]
        if a is not None and b is not None:
            out[k] = 1 if a == b else 2
            continue
        carried, other = (a, idb[k]) if a is not None else (b, ida[k])
        if other is None:
            continue  # two records without IDs and one carrying: nothing to check
        if hh.share_household(other, carried):
            out[k] = 1
        elif carried in hh.members_of_carried and other in hh.in_any_household:
            out[k] = 2
    return out


def compare(
    r: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    settings: MatchSettings,
    hh: Households | None = None,
) -> pd.DataFrame:
    """Level codes for each pair, one int8 column per comparison. ``hh``: households(r)."""
    n = len(left)
    out: dict[str, np.ndarray] = {}
    out["name"] = name_levels(
        _take(r, S.NAME, left),
        _take(r, S.NAME, right),
        _take(r, S.NAME_PINYIN, left),
        _take(r, S.NAME_PINYIN, right),
        settings.name_fuzzy,
    )
    # ID: usable vs usable compares as is; a typo'd ID compares by one edit; otherwise missing.
    ida, idb = _take(r, ANCHOR_ID, left), _take(r, ANCHOR_ID, right)
    ta, tb = _take(r, TYPO_ID, left), _take(r, TYPO_ID, right)
    xa = np.where(pd.notna(ida), ida, ta)
    xb = np.where(pd.notna(idb), idb, tb)
    present = _present(xa, xb)
    edit = np.zeros(n, dtype=np.int8)
    # Two different valid IDs are never one edit apart (the check character would differ too), so
    # only pairs with a typo'd side need the slow character comparison.
    typo_side = present & (pd.notna(ta) | pd.notna(tb)) & np.asarray(xa != xb)
    if typo_side.any():
        edit[typo_side] = one_edit(xa[typo_side], xb[typo_side])
    out["id"] = _levels(present, np.asarray(xa == xb) & present, edit == 1, edit == 2)
    # Birth: exact dates from IDs compare exactly; an age-derived year compares within tolerance.
    ea = r[BIRTH_EXACT].to_numpy(dtype=bool)[left]
    eb = r[BIRTH_EXACT].to_numpy(dtype=bool)[right]
    da, db = _take(r, S.BIRTH_DATE, left), _take(r, S.BIRTH_DATE, right)
    both_exact = ea & eb
    out["birth"] = _levels(both_exact, np.asarray(da == db))
    # Age: a birth window from an age at an event against a date or another window; they agree
    # when they overlap (two days' slack for the calendar arithmetic).
    lo = r[BIRTH_LO].to_numpy(dtype="float64")
    hi = r[BIRTH_HI].to_numpy(dtype="float64")
    approx = ~np.isnan(lo[left]) & ~np.isnan(lo[right]) & ~both_exact
    overlap = (lo[left] <= hi[right] + 2) & (lo[right] <= hi[left] + 2)
    out["age"] = _levels(approx, overlap)
    sa, sb = _take(r, S.SEX, left), _take(r, S.SEX, right)
    out["sex"] = _levels(_present(sa, sb), np.asarray(sa == sb))
    pa_, pb = _take(r, S.PHONE, left), _take(r, S.PHONE, right)
    out["phone"] = _levels(_present(pa_, pb), np.asarray(pa_ == pb))
    ca, cb = _take(r, S.COUNTY_CODE, left), _take(r, S.COUNTY_CODE, right)
    wa, wb = _take(r, S.TOWNSHIP_CODE, left), _take(r, S.TOWNSHIP_CODE, right)
    out["place"] = _levels(_present(ca, cb), np.asarray(wa == wb) & _present(wa, wb), np.asarray(ca == cb))
    ha, hb = _take(r, HOUSEHOLD, left), _take(r, HOUSEHOLD, right)
    # Household keys of different kinds (户编号 vs 户主身份证号) cannot be compared: missing.
    same_kind = _present(ha, hb) & (
        pd.Series(ha, dtype="object").str.slice(0, 2).to_numpy()
        == pd.Series(hb, dtype="object").str.slice(0, 2).to_numpy()
    )
    out["household"] = _levels(same_kind, np.asarray(ha == hb))
    # The members of one household share its phone and its address: once the household agrees,
    # agreeing on them says nothing more about being the same person (Fellegi-Sunter adds the
    # comparisons as independent evidence). Counted anyway, they made a father and his son with
    # different names, both on one monitoring household's rows, "98% the same person".
    same_household = out["household"] == 1
    out["phone"][same_household] = 0
    out["place"][same_household] = 0
    out["guardian"] = guardian_levels(r, left, right, hh)
    # A disability-subsidy or certificate row against a person known to hold, or known not to hold,
    # a certificate. Only informative when one side is such a row, so otherwise missing.
    da_, db_ = _take(r, DISABLED, left), _take(r, DISABLED, right)
    src_a, src_b = _take(r, S.SOURCE, left), _take(r, S.SOURCE, right)
    one_says = np.isin(src_a, DISABILITY_SOURCES) | np.isin(src_b, DISABILITY_SOURCES)
    out["disabled"] = _levels(one_says & _present(da_, db_), np.asarray(da_ == db_))
    assert set(out) == set(COMPARISONS)
    return pd.DataFrame(out)
