"""The comparison registry: each comparison declared once, scored vectorized over record pairs.

A ``Comparison`` has a name, its ordered levels (strongest agreement first) with the Chinese label
the explanations use and the words a township officer reads, the label of ``missing``, its scorer,
and the comparisons whose agreement makes it no further evidence. Level 0 is always `missing`
(either side blank: no evidence either way, weight 0). Everything else is derived from
``REGISTRY``: the level codes of ``compare``, ``COMPARISONS`` (the names and level keys the model
and the settings file use), the labels of ``evidence_text`` and the plain words of the warnings.
(In the spirit of Splink's comparison library.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import Indel

from pipeline import schema as S
from pipeline.match.prepare import (
    ADULT_BY,
    ANCHOR_ID,
    BIRTH_EXACT,
    BIRTH_HI,
    BIRTH_LO,
    CARRIED_ID,
    CUT_ID,
    DISABILITY_SOURCES,
    DISABLED,
    GRADE_HI,
    GRADE_LO,
    HOUSEHOLD,
    TYPO_ID,
    Households,
)
from pipeline.match.shapes import one_shape_alike
from pipeline.normalize.ids import CUT_DIGITS

if TYPE_CHECKING:
    from pipeline.match.settings import MatchSettings


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
    """exact simplified name / same pinyin / one character dropped / one character shape-alike
    (形近字, pipeline.match.shapes) / Indel similarity >= fuzzy / else.

    >>> name_levels(np.array(["张磊", "张磊", "王秀英", "王秀英", "张伟", None], dtype=object),
    ...             np.array(["张磊", "张蕾", "王秀", "玉秀英", "张磊", "张伟"], dtype=object),
    ...             np.array(["zhang lei", "zhang lei", "wang xiu ying", "wang xiu ying", "zhang wei", None],
    ...                      dtype=object),
    ...             np.array(["zhang lei", "zhang lei", "wang xiu", "yu xiu ying", "zhang lei", "zhang wei"],
    ...                      dtype=object),
    ...             0.65)
    array([1, 2, 3, 4, 6, 0], dtype=int8)
    """
    present = _present(a, b)
    # Object arrays of the Python strings themselves: a numpy unicode copy (.astype(str)) and
    # back to Python strings for rapidfuzz cost twice the comparisons (400,000 random pairs: 1.2 s
    # against 0.6 s).
    sa = np.where(present, a, "")
    sb = np.where(present, b, "")
    xa, xb = sa.tolist(), sb.tolist()
    sim = process.cpdist(xa, xb, scorer=Indel.normalized_similarity, workers=1) if xa else np.zeros(0)
    la = np.fromiter(map(len, xa), dtype=np.int64, count=len(xa))
    lb = np.fromiter(map(len, xb), dtype=np.int64, count=len(xb))
    # One character dropped: lengths differ by one and Indel distance (insertions + deletions) is 1,
    # i.e. similarity 1 - 1 / (la + lb).
    dropped = (np.abs(la - lb) == 1) & np.isclose(np.asarray(sim), 1 - 1 / np.maximum(la + lb, 1))
    # One character substituted: equal lengths and Indel similarity (l - 1) / l. Only those few
    # pairs are looked at character by character.
    near = (la == lb) & (la > 1) & np.isclose(np.asarray(sim), (la - 1) / np.maximum(la, 1))
    shape = np.zeros(len(sa), dtype=bool)
    for i in np.flatnonzero(near):
        shape[i] = one_shape_alike(xa[i], xb[i])
    return _levels(
        present,
        np.asarray(sa == sb, dtype=bool) & present,
        np.asarray(pa_ == pb) & present,
        dropped,
        shape,
        np.asarray(sim) >= fuzzy,
    )


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
    carried ID's holder; else when the other record carries another ID, or its person lives in a
    listed household the holder is not in; missing when neither side carries an ID or nothing is
    known."""
    ca, cb = _take(r, CARRIED_ID, left), _take(r, CARRIED_ID, right)
    out = np.zeros(len(left), dtype=np.int8)
    todo = np.flatnonzero(pd.notna(ca) | pd.notna(cb))
    if len(todo) == 0 or hh is None:
        return out
    ida, idb = _take(r, ANCHOR_ID, left), _take(r, ANCHOR_ID, right)
    for k in todo:
        a, b = ca[k], cb[k]
        if a is not None and b is not None:
            out[k] = 1 if a == b or hh.share_household(a, b) else 2
            continue
        carried, other = (a, idb[k]) if a is not None else (b, ida[k])
        if other is None:
            continue  # two records without IDs and one carrying: nothing to check
        if hh.share_household(other, carried):
            out[k] = 1
        elif other in hh.in_any_household:
            # The other person's household is listed (a roster, the monitoring list, a student's
            # guardian) and the holder is not in it, whether the holder lives elsewhere or appears
            # nowhere in the data: rosters list every member (measured on the 1M bench: 97.9% of
            # students on a roster household have their guardian listed there).
            out[k] = 2
    return out


@dataclass(frozen=True)
class Sides:
    """The two sides of the pairs being compared, for the scorers."""

    r: pd.DataFrame
    left: np.ndarray
    right: np.ndarray
    settings: MatchSettings
    hh: Households | None

    def take(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        return _take(self.r, col, self.left), _take(self.r, col, self.right)


def score_name(x: Sides) -> np.ndarray:
    a, b = x.take(S.NAME)
    pa_, pb = x.take(S.NAME_PINYIN)
    return name_levels(a, b, pa_, pb, x.settings.name_fuzzy)


def score_id(x: Sides) -> np.ndarray:
    """Usable vs usable compares as is; a typo'd ID (fails its check) compares by one edit."""
    ida, idb = x.take(ANCHOR_ID)
    ta, tb = x.take(TYPO_ID)
    xa = np.where(pd.notna(ida), ida, ta)
    xb = np.where(pd.notna(idb), idb, tb)
    present = _present(xa, xb)
    edit = np.zeros(len(x.left), dtype=np.int8)
    # Two different valid IDs are never one edit apart (the check character would differ too), so
    # only pairs with a typo'd side need the slow character comparison.
    typo_side = present & (pd.notna(ta) | pd.notna(tb)) & np.asarray(xa != xb)
    if typo_side.any():
        edit[typo_side] = one_edit(xa[typo_side], xb[typo_side])
    return _levels(present, np.asarray(xa == xb) & present, edit == 1, edit == 2)


def score_id_prefix(x: Sides) -> np.ndarray:
    """A cut ID's 15 digits (prepare.CUT_ID) against the other side's: its cut ID, or the first 15
    digits of its usable ID. Missing unless one side is cut: between whole IDs ``id`` decides."""
    ca, cb = x.take(CUT_ID)
    out = np.zeros(len(x.left), dtype=np.int8)
    cut = np.flatnonzero(pd.notna(ca) | pd.notna(cb))
    if len(cut) == 0:
        return out
    ia, ib = _take(x.r, ANCHOR_ID, x.left[cut]), _take(x.r, ANCHOR_ID, x.right[cut])
    pa = np.where(pd.notna(ca[cut]), ca[cut], ia)
    pb = np.where(pd.notna(cb[cut]), cb[cut], ib)
    both = _present(pa, pb)
    same = np.array(
        [ok and a[:CUT_DIGITS] == b[:CUT_DIGITS] for a, b, ok in zip(pa, pb, both, strict=True)], dtype=bool
    )
    out[cut] = _levels(both, same)
    return out


def _both_exact(x: Sides) -> np.ndarray:
    exact = x.r[BIRTH_EXACT].to_numpy(dtype=bool)
    return np.asarray(exact[x.left] & exact[x.right])


def score_birth(x: Sides) -> np.ndarray:
    """Both dates from usable IDs: equal or not."""
    da, db = x.take(S.BIRTH_DATE)
    return _levels(_both_exact(x), np.asarray(da == db))


def score_age(x: Sides) -> np.ndarray:
    """A birth window from an age at an event against a date or another window: they agree when
    they overlap (two days' slack for the calendar arithmetic)."""
    lo = x.r[BIRTH_LO].to_numpy(dtype="float64")
    hi = x.r[BIRTH_HI].to_numpy(dtype="float64")
    left, right = x.left, x.right
    approx = ~np.isnan(lo[left]) & ~np.isnan(lo[right]) & ~_both_exact(x)
    return _levels(approx, _overlap(lo, hi, left, right))


def _overlap(lo: np.ndarray, hi: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Whether the two sides' birth windows overlap, with two days' slack for calendar arithmetic."""
    return np.asarray((lo[left] <= hi[right] + 2) & (lo[right] <= hi[left] + 2))


def score_grade(x: Sides) -> np.ndarray:
    """A student-roll row without a usable ID: the birth dates its grade allows against the other
    record's date, age window or grade window (two days' slack, as for age)."""
    glo = x.r[GRADE_LO].to_numpy(dtype="float64")
    ghi = x.r[GRADE_HI].to_numpy(dtype="float64")
    blo = x.r[BIRTH_LO].to_numpy(dtype="float64")
    bhi = x.r[BIRTH_HI].to_numpy(dtype="float64")
    graded = ~np.isnan(glo) & ~x.r[BIRTH_EXACT].to_numpy(dtype=bool)
    lo = np.where(graded, glo, blo)
    hi = np.where(graded, ghi, bhi)
    left, right = x.left, x.right
    present = (graded[left] | graded[right]) & ~np.isnan(lo[left]) & ~np.isnan(lo[right])
    return _levels(present, _overlap(lo, hi, left, right))


def score_adult(x: Sides) -> np.ndarray:
    """A caller's row without a usable ID (an adult, see prepare.ADULT_SOURCES) against a record with
    a birth date or window: the other person could be an adult, or was certainly born too late."""
    cut = x.r[ADULT_BY].to_numpy(dtype="float64")
    lo = x.r[BIRTH_LO].to_numpy(dtype="float64")
    caller = ~np.isnan(cut) & ~x.r[BIRTH_EXACT].to_numpy(dtype=bool)
    left, right = x.left, x.right
    a_calls = caller[left] & ~np.isnan(lo[right])
    b_calls = caller[right] & ~np.isnan(lo[left]) & ~a_calls
    too_young = np.where(a_calls, lo[right] > cut[left] + 2, lo[left] > cut[right] + 2)
    return _levels(a_calls | b_calls, ~too_young)


def _equal(col: str) -> Callable[[Sides], np.ndarray]:
    def score(x: Sides) -> np.ndarray:
        a, b = x.take(col)
        return _levels(_present(a, b), np.asarray(a == b))

    score.__doc__ = f"Equal {col} or not."
    return score


def score_place(x: Sides) -> np.ndarray:
    """Between two records that both name a township: same village (村/社区, by name) / same
    township, a village unknown / same township, villages differ / same county, townships differ /
    another county. Missing when a township is unknown on either side: ``score_county`` weighs
    those. "Villages differ" keeps its own level: on data whose villages are spelled alike it is
    evidence against, and where spellings vary EM learns that from the data (its m rises)."""
    ca, cb = x.take(S.COUNTY_CODE)
    wa, wb = x.take(S.TOWNSHIP_CODE)
    va, vb = x.take(S.VILLAGE)
    town = np.asarray(wa == wb)
    both = _present(va, vb)
    same = np.asarray(va == vb) & both
    present = _present(ca, cb) & _present(wa, wb)
    return _levels(present, town & same, town & ~both, town, np.asarray(ca == cb))


def score_county(x: Sides) -> np.ndarray:
    """Same county or not, where one side names no township: a hospital stay names only its 参保地
    county. Its own comparison for the reason birth and age are two: for these pairs the county is
    the most that can agree and a true match almost always does, while records that name no
    township are a larger share of random pairs than of true matches. Pooled with the
    township-known levels, one m and one u for both, a hospital stay's agreeing county counted
    about 0.7 bit too little at 1M (m 0.21 against u 0.032 pooled; conditional, about 0.97 against
    0.09): such stays were linked less often than their evidence supports, and the hospital's
    false-link estimate came out 58% high (82 against 52 true)."""
    ca, cb = x.take(S.COUNTY_CODE)
    wa, wb = x.take(S.TOWNSHIP_CODE)
    present = _present(ca, cb) & ~_present(wa, wb)
    return _levels(present, np.asarray(ca == cb))


def score_household(x: Sides) -> np.ndarray:
    """Household keys of different kinds (户编号 vs 户主身份证号) cannot be compared: missing."""
    ha, hb = x.take(HOUSEHOLD)
    same_kind = _present(ha, hb) & (
        pd.Series(ha, dtype="object").str.slice(0, 2).to_numpy()
        == pd.Series(hb, dtype="object").str.slice(0, 2).to_numpy()
    )
    return _levels(same_kind, np.asarray(ha == hb))


def score_guardian(x: Sides) -> np.ndarray:
    return guardian_levels(x.r, x.left, x.right, x.hh)


def score_disabled(x: Sides) -> np.ndarray:
    """A disability-subsidy or certificate row against a person known to hold, or known not to
    hold, a certificate. Only informative when one side is such a row, so otherwise missing."""
    da, db = x.take(DISABLED)
    sa, sb = x.take(S.SOURCE)
    one_says = np.isin(sa, DISABILITY_SOURCES) | np.isin(sb, DISABILITY_SOURCES)
    return _levels(one_says & _present(da, db), np.asarray(da == db))


@dataclass(frozen=True)
class Level:
    key: str  # the settings file's name for the level (m_start, m_fixed)
    label: str  # in explanations and the review workbook: 姓名一致
    plain: str = ""  # in a warning's evidence, the township's words (default: the label)

    @property
    def words(self) -> str:
        return self.plain or self.label


@dataclass(frozen=True)
class Comparison:
    name: str
    missing: str  # the label of level 0
    levels: tuple[Level, ...]  # levels 1.., strongest agreement first
    scorer: Callable[[Sides], np.ndarray]
    #: Comparisons whose agreement (level 1) makes this one no further evidence: it counts as missing.
    implied_by: tuple[str, ...] = ()
    #: Comparisons whose known level (any) says more than this one: it counts as missing. Never
    #: both known for one pair of records; across a person's records they can be.
    outranked_by: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """The label of every level code, 0 (missing) included."""
        return (self.missing, *(lv.label for lv in self.levels))


REGISTRY: tuple[Comparison, ...] = (
    Comparison(
        "name",
        "姓名缺失",
        (
            Level("exact", "姓名一致", "姓名相同"),
            Level("pinyin", "姓名同音"),  # the same toneless pinyin (同音字)
            Level("dropped", "姓名少一字"),
            Level("shape", "姓名形近", "姓名有一字形近"),  # one character misread for one that looks alike
            Level("fuzzy", "姓名相近"),  # Indel similarity >= name_fuzzy (other misreadings)
            Level("else", "姓名不同"),
        ),
        score_name,
    ),
    Comparison(
        "id",
        "身份证号缺失",  # an unusable ID is missing
        (
            Level("exact", "身份证号一致"),
            Level("substitution", "身份证号一位之差", "身份证号仅一位不同"),
            Level("transposition", "身份证号相邻两位颠倒", "身份证号有两位颠倒"),
            Level("else", "身份证号不同"),
        ),
        score_id,
    ),
    # id_prefix: an ID a spreadsheet cut to 15 significant digits (…000) keeps its area, birth
    # date and first sequence digit; they agree with the holder's whole ID, or they do not.
    Comparison(
        "id_prefix",
        "无截断身份证号",
        (
            Level("exact", "截断身份证号前15位一致", "身份证号前15位相同(一方被表格软件截断)"),
            Level("else", "截断身份证号前15位不同", "身份证号前15位不同(一方被表格软件截断)"),
        ),
        score_id_prefix,
    ),
    # birth: both dates from usable IDs. age: one side only has an age stated at an event: a
    # one-year window of birth dates. Apart, each level keeps one meaning for EM's m and the u.
    Comparison(
        "birth", "出生日期缺失", (Level("exact", "出生日期一致"), Level("else", "出生日期不同")), score_birth
    ),
    # The cut ID's digits hold the birth date: agreeing on them leaves age, grade and adulthood no
    # further evidence.
    Comparison(
        "age",
        "年龄缺失",
        (Level("close", "年龄相符"), Level("else", "年龄不符")),
        score_age,
        implied_by=("id_prefix",),
    ),
    # grade: a student-roll row without a usable ID against anyone with a date, an age or a grade:
    # a window three years wide, so its own comparison (its u is not the one-year window's).
    Comparison(
        "grade",
        "年级缺失",
        (Level("close", "年级与年龄相符"), Level("else", "年级与年龄不符")),
        score_grade,
        implied_by=("id_prefix",),
    ),
    # adult: a 12345 caller without a usable ID against someone with a known birth: a child is not
    # the caller (at 1M, a third of the callers' false links were to students of the caller's name).
    Comparison(
        "adult",
        "成年与否不详",
        (
            Level("exact", "来电人与对方均成年", "对方已成年"),
            Level("else", "对方未成年", "对方未成年,不会是来电人"),
        ),
        score_adult,
        implied_by=("id_prefix",),
    ),
    Comparison(
        "sex", "性别缺失", (Level("exact", "性别一致", "性别相同"), Level("else", "性别不同")), _equal(S.SEX)
    ),
    # A household's members share its phone and its address: once the household agrees, agreeing
    # on them says nothing more (Fellegi-Sunter adds comparisons as independent evidence; counted
    # anyway, a father and his son on one monitoring household's rows came out "98% one person").
    Comparison(
        "phone",
        "电话缺失",
        (Level("exact", "电话一致", "电话相同"), Level("else", "电话不同")),
        _equal(S.PHONE),
        implied_by=("household",),
    ),
    Comparison(
        "place",
        "地址缺失",
        (
            Level("village", "同村", "同村(社区)"),
            Level("township", "同乡镇"),
            Level("other_village", "同乡镇不同村", "同乡镇但不同村"),
            Level("other_township", "同县区不同乡镇"),
            Level("else", "县区不同"),
        ),
        score_place,
        implied_by=("household",),
    ),
    # county: one side names no township (a hospital stay's 参保地, a caller's county): the
    # county alone, its own m and u (see score_county).
    Comparison(
        "county",
        "县区缺失",
        (Level("exact", "同县区", "同县区(乡镇不详)"), Level("else", "县区不同(乡镇不详)", "县区不同")),
        score_county,
        implied_by=("household",),
        outranked_by=("place",),  # a township read off another of the person's records says more
    ),
    Comparison("household", "户缺失", (Level("exact", "同户"), Level("else", "不同户")), score_household),
    # A record carrying someone else's ID (an infant under a parent's) against a record of the ID
    # holder's household, or another record carrying the same ID.
    Comparison(
        "guardian",
        "监护人缺失",
        (Level("exact", "所持证件属同户成员", "所持证件是同户家人的"), Level("else", "所持证件不属同户")),
        score_guardian,
    ),
    # A 残联 or 两项补贴 row against a person known to hold a certificate, or known not to.
    Comparison(
        "disabled",
        "残疾信息缺失",
        (Level("exact", "均为持证残疾人"), Level("else", "残疾信息不符")),
        score_disabled,
    ),
)
BY_NAME = {c.name: c for c in REGISTRY}
#: Comparison name -> its level keys after `missing` (level 0): what the model and the settings use.
COMPARISONS: dict[str, tuple[str, ...]] = {c.name: tuple(lv.key for lv in c.levels) for c in REGISTRY}
#: Marks a level read off another record of the candidate person (match.person_evidence).
ELSEWHERE = "〔另一条记录〕"
#: Comparison name -> the label of each level code, 0 (missing) included.
LEVEL_LABELS: dict[str, tuple[str, ...]] = {c.name: c.labels for c in REGISTRY}
#: A level's label -> the township's words for it, where they differ.
PLAIN_WORDS: dict[str, str] = {lv.label: lv.plain for c in REGISTRY for lv in c.levels if lv.plain}


def compare(
    r: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    settings: MatchSettings,
    hh: Households | None = None,
) -> pd.DataFrame:
    """Level codes for each pair, one int8 column per registered comparison. ``hh``: households(r)."""
    sides = Sides(r, left, right, settings, hh)
    out = {c.name: c.scorer(sides) for c in REGISTRY}
    for c in REGISTRY:
        for other in c.outranked_by:
            out[c.name][out[other] != 0] = 0
        for other in c.implied_by:
            out[c.name][out[other] == 1] = 0
    return pd.DataFrame(out)
