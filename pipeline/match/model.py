"""Fellegi-Sunter scoring: u from random pairs, m by EM, term-frequency adjustment for names.

All parameters are estimated from the records being linked; the settings file only gives EM its
starting point and the sample sizes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.match.compare import COMPARISONS, compare
from pipeline.match.prepare import (
    ADULT_BY,
    ANCHOR_ID,
    BIRTH_EXACT,
    BIRTH_LO,
    GRADE_HI,
    GRADE_LO,
    Households,
    stated_window,
    surname_of,
)
from pipeline.match.settings import MatchSettings

log = logging.getLogger(__name__)
_EPS = 1e-6
_SEXES = ("男", "女")  # the normalized sexes (pipeline.normalize)
#: Below this many people with a usable ID, name frequencies count every record (name_frequencies).
MIN_PEOPLE_WITH_ID = 1000


@dataclass
class Model:
    """m and u per comparison (index 0 = level 1), EM's match rate among its training pairs, and
    the frequency of each name among people (for term-frequency adjustment)."""

    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    prior: float
    name_tf: dict[str, float]
    min_tf: float
    #: how common each (name, sex) is among people: 张伟 is nearly always a man's name, so two
    #: records both "张伟, 男" agree on sex by the name alone (see ``weights``)
    name_sex_tf: dict[tuple[str, str], float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "em_training_match_rate": self.prior,
            "comparisons": {
                k: {lvl: {"m": float(self.m[k][i]), "u": float(self.u[k][i])} for i, lvl in enumerate(levels)}
                for k, levels in COMPARISONS.items()
            },
        }


def name_frequencies(
    r: pd.DataFrame,
) -> tuple[dict[str, float], float, dict[tuple[str, str], float]]:
    """How common each name, and each (name, sex), is among people. Returns the name
    frequencies, the lowest frequency, the (name, sex) frequencies.

    Counted among the people with a usable ID, each once. Records without one are not distinct
    people: a rare name's bearer with three ID-less hospital stays made it look three times as
    common, so the stays (the records this frequency is used to link) weighed their own name
    least; at 1M records the 12345 callers' links were estimated 41 wrong against 17 true.

    A name few or none of them bear (a newborn's, on ID-less stays) is not taken as unique: it is
    at least as common as its surname's and its given name's frequencies together predict, so
    two infants 余泽 in one county are not one person because nobody with an ID is called 余泽.
    """
    # Counted per distinct name (codes), never per record: a few hundred thousand names at 1M.
    codes, every = pd.factorize(r[S.NAME].astype("object"))
    first = ~r[ANCHOR_ID].duplicated().to_numpy() & r[ANCHOR_ID].notna().to_numpy() & (codes >= 0)
    if first.sum() < MIN_PEOPLE_WITH_ID:
        # Too few people with an ID to say how common a name is (extracts that carry almost no
        # IDs): every record counts as a person, an overcount, rather than names weighed by a
        # handful of people.
        first = codes >= 0
    n_names = len(every)
    sex = r[S.SEX].astype("object").to_numpy()[first]
    sex_code = np.select([sex == _SEXES[0], sex == _SEXES[1]], [0, 1], -1)
    code = codes[first]
    total = max(len(code), 1)
    counts = np.bincount(code, minlength=n_names) / total
    sexed = sex_code >= 0
    pairs = np.bincount(code[sexed] * 2 + sex_code[sexed], minlength=2 * n_names)
    counts_sex = pairs.reshape(n_names, 2) / total

    names = pd.Series(every, dtype=object)
    sur = surname_of(names)
    sur_code, _ = pd.factorize(sur)
    given_code, _ = pd.factorize(pd.Series([n[len(x) :] for n, x in zip(names, sur, strict=True)]))
    p_sur = np.bincount(sur_code, weights=counts)[sur_code]
    p_given = np.bincount(given_code, weights=counts)[given_code]
    p_given_sex = np.stack(
        [np.bincount(given_code, weights=counts_sex[:, k])[given_code] for k in (0, 1)], axis=1
    )
    freq = np.maximum(counts, p_sur * p_given)
    freq_sex = np.maximum(counts_sex, p_sur[:, None] * p_given_sex)
    listed = names.tolist()
    by_name = {n: float(v) for n, v in zip(listed, freq.tolist(), strict=True) if v > 0}
    by_sex: dict[tuple[str, str], float] = {}
    for k, x in enumerate(_SEXES):
        column = freq_sex[:, k].tolist()
        by_sex.update({(n, x): float(v) for n, v in zip(listed, column, strict=True) if v > 0})
    return by_name, 1.0 / total, by_sex


def estimate_u(r: pd.DataFrame, settings: MatchSettings, hh: Households) -> dict[str, np.ndarray]:
    """u: how often each level occurs among random record pairs (nearly all non-matches)."""
    rng = np.random.default_rng(settings.seed)
    n = len(r)
    k = min(settings.u_sample_pairs, max(n * (n - 1) // 2, 1))
    a = rng.integers(0, n, k)
    b = rng.integers(0, n, k)
    keep = a != b
    levels = compare(r, a[keep], b[keep], settings, hh)
    u = {}
    for name, lv in COMPARISONS.items():
        counts = np.bincount(levels[name].to_numpy(), minlength=len(lv) + 1)[1:].astype(float) + 1.0
        u[name] = counts / counts.sum()
    return u


def _llr(
    levels: pd.DataFrame, m: dict[str, np.ndarray], u: dict[str, np.ndarray], active: frozenset[str]
) -> np.ndarray:
    total = np.zeros(len(levels))
    for name in active:
        lv = levels[name].to_numpy()
        w = np.concatenate([[0.0], np.log2(np.maximum(m[name], _EPS) / np.maximum(u[name], _EPS))])
        total += w[lv]
    return total


def em(
    levels: pd.DataFrame, settings: MatchSettings, u: dict[str, np.ndarray], active: frozenset[str]
) -> tuple[dict[str, np.ndarray], float]:
    """Expectation-maximisation of m and the prior with u held fixed (as Splink does), over the
    ``active`` comparisons only: the others are decided by the pairs' blocking keys."""
    m = _apply_fixed(
        {k: np.asarray(v, dtype=float) / np.sum(v) for k, v in settings.m_start.items()}, settings
    )
    prior = 0.5
    for it in range(settings.em_iterations):
        logit = _llr(levels, m, u, active) + np.log2(prior / (1 - prior))
        p = 1.0 / (1.0 + np.exp2(-np.clip(logit, -60, 60)))
        new_m = dict(m)
        for name in active:
            codes = levels[name].to_numpy()
            sums = np.bincount(codes, weights=p, minlength=len(COMPARISONS[name]) + 1)[1:] + _EPS
            new_m[name] = sums / sums.sum()
        new_m = _apply_fixed(new_m, settings)
        new_prior = float(np.clip(p.mean(), 1e-4, 1 - 1e-4))
        delta = max(float(np.max(np.abs(new_m[k] - m[k]))) for k in m)
        m, prior = new_m, new_prior
        if delta < 1e-5:
            log.info("EM converged after %d iterations", it + 1)
            break
    return m, prior


def _floor(v: np.ndarray, floor: float) -> np.ndarray:
    """Raise every probability to at least ``floor`` and rescale the rest so they sum to 1."""
    v = np.maximum(np.asarray(v, dtype=float), floor)
    return v / v.sum()


def _apply_fixed(m: dict[str, np.ndarray], settings: MatchSettings) -> dict[str, np.ndarray]:
    """Pin the m-probabilities the settings fix; rescale the comparison's other levels to sum to 1."""
    for name, fixed in settings.m_fixed.items():
        levels = COMPARISONS[name]
        v = m[name].copy()
        pinned = np.zeros(len(levels), dtype=bool)
        for level, value in fixed.items():
            i = levels.index(level)
            v[i], pinned[i] = value, True
        free = v[~pinned].sum()
        if free > 0:
            v[~pinned] *= (1 - v[pinned].sum()) / free
        m[name] = v
    return m


def window_agreement(r: pd.DataFrame, lo: np.ndarray, hi: np.ndarray) -> tuple[float, int] | None:
    """How often a person's own birth date lies in a window their record states (an age at a
    hospital stay, a grade on the student roll): m of that comparison's "close", measured.

    Records with a usable ID carry both the window and, in the ID, the true birth date, so the
    share of them whose date lies in the window (the scorers' two days' slack) is exactly the chance
    that a true match agrees; no labels are needed. EM cannot learn it well: a stay without an ID
    has no township, so only the pinyin-county blocking teaches age, among namesakes whose other
    comparisons hardly separate matches from non-matches (it learned 0.65, which let two infants of
    one name born a year apart link). Returns the share and the number of records it was measured
    on, or None when there are none.
    """
    both = r[BIRTH_EXACT].to_numpy(dtype=bool) & ~np.isnan(lo)
    if not both.any():
        return None
    born = r[BIRTH_LO].to_numpy(dtype="float64")[both]  # an exact birth's window is the day itself
    fits = (lo[both] - 2 <= born) & (born <= hi[both] + 2)
    return float(fits.mean()), int(both.sum())


def age_agreement(r: pd.DataFrame) -> tuple[float, int] | None:
    """m of ``age`` "close", measured (window_agreement) on the records with an age and a date."""
    return window_agreement(r, *stated_window(r))


def fit(r: pd.DataFrame, training: pd.DataFrame, settings: MatchSettings, hh: Households) -> Model:
    u = estimate_u(r, settings, hh)
    levels = compare(r, training["left"].to_numpy(), training["right"].to_numpy(), settings, hh)
    # One EM session per training blocking, each learning the comparisons its keys do not decide;
    # a comparison's m is the mean over the sessions that learned it (Splink trains the same way).
    learned: dict[str, list[np.ndarray]] = {k: [] for k in COMPARISONS}
    rates = []
    block = training["block"].to_numpy()
    for b, tb in enumerate(settings.training):
        rows = block == b
        if rows.sum() < settings.training_min_pairs:
            continue
        active = frozenset(COMPARISONS) - tb.fixes
        m_b, rate = em(levels[rows].reset_index(drop=True), settings, u, active)
        rates.append(rate)
        for k in active:
            learned[k].append(m_b[k])
    start = {k: np.asarray(v, dtype=float) / np.sum(v) for k, v in settings.m_start.items()}
    m = {k: np.mean(v, axis=0) if v else start[k] for k, v in learned.items()}
    grades = r[GRADE_LO].to_numpy(dtype="float64"), r[GRADE_HI].to_numpy(dtype="float64")
    # A caller with an ID: born no later than the adult cut-off (a window open at its start).
    adult = r[ADULT_BY].to_numpy(dtype="float64")
    measured = {
        "age": age_agreement(r),
        "grade": window_agreement(r, *grades),
        "adult": window_agreement(r, np.where(np.isnan(adult), np.nan, -np.inf), adult),
    }
    for name, got in measured.items():
        if got is not None and got[1] >= settings.training_min_pairs:
            # Read off the data rather than left to EM: see window_agreement.
            m[name] = np.array([got[0], 1.0 - got[0]])
            log.info("m(%s close) %.4f, measured on %d records with an ID", name, *got)
    m = _apply_fixed({k: _floor(v, settings.m_floor) for k, v in m.items()}, settings)
    em_prior = float(np.mean(rates)) if rates else 0.5
    tf, min_tf, by_sex = name_frequencies(r)
    # EM's prior is the match rate among its training pairs, kept for the report only: scoring
    # weighs a record's candidates against each other (pipeline.match.competing_posterior).
    model = Model(m=m, u=u, prior=em_prior, name_tf=tf, min_tf=min_tf, name_sex_tf=by_sex)
    log.info("model fitted on %d training pairs (EM match rate %.3f)", len(training), em_prior)
    return model


def weights(r: pd.DataFrame, left: np.ndarray, levels: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Per-comparison match weights (log2 m/u) of each pair; their sum is the pair's Bayes factor.

    Exact name agreement is weighed by how common the name is: log2(m / tf(name)) instead of
    log2(m / u), so 张伟 agreeing says far less than a rare name agreeing. Where the sexes agree
    too, the name is weighed by how common it is among people of that sex, less what agreeing on
    sex adds: the two together then count log2(m_name m_sex / tf(name, sex)). A name that only men
    bear makes agreeing on sex no further evidence (two namesakes 张伟 are both men anyway); a name
    both sexes bear keeps it.
    """
    out = {}
    for name in COMPARISONS:
        w = np.concatenate(
            [[0.0], np.log2(np.maximum(model.m[name], _EPS) / np.maximum(model.u[name], _EPS))]
        )
        out[name] = w[levels[name].to_numpy()]
    exact = levels["name"].to_numpy() == 1
    if exact.any():
        names = r[S.NAME].to_numpy(dtype=object)[left[exact]]
        tf = np.array([model.name_tf.get(n, model.min_tf) for n in names])
        m_name = max(model.m["name"][0], _EPS)
        w_name = np.log2(m_name / np.maximum(tf, model.min_tf))
        sexed = levels["sex"].to_numpy()[exact] == 1
        if sexed.any() and model.name_sex_tf:
            sexes = r[S.SEX].to_numpy(dtype=object)[left[exact][sexed]]
            pairs = zip(names[sexed], sexes, strict=True)
            tf_sex = np.array([model.name_sex_tf.get((n, x), model.min_tf) for n, x in pairs])
            u_sex = max(model.u["sex"][0], _EPS)
            w_name[sexed] = np.log2(m_name * u_sex / np.maximum(tf_sex, model.min_tf))
        out["name"][exact] = w_name
    return pd.DataFrame(out)
