"""The matcher's view of records.parquet: one row per record with the fields comparisons use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipeline import keys as hkeys
from pipeline import schema as S
from pipeline.normalize.common import member
from pipeline.normalize.ids import CUT_DIGITS, cut_prefix

#: Columns read from records.parquet.
INPUT_COLUMNS = [
    S.SOURCE,
    S.FILE,
    S.ROW,
    S.NAME,
    S.NAME_PINYIN,
    S.ID_NUMBER,
    S.ID_STATUS,
    S.ID_RAW,
    S.BIRTH_DATE,
    S.SEX,
    S.PHONE,
    S.COUNTY_CODE,
    S.TOWNSHIP_CODE,
    S.VILLAGE,
    S.HOUSEHOLD_NO,
    S.HEAD_ID,
    S.HEAD_ID_STATUS,
    S.AGE,
    S.DISCHARGE_DATE,
    S.ADMIT_DATE,
    S.SETTLEMENT_NO,
    S.SCHOOL_STAGE,
    S.GRADE,
    S.GUARDIAN_ID,
    S.GUARDIAN_ID_STATUS,
]

# Derived columns of the matcher's frame.
ANCHOR_ID = "anchor_id"  # the usable ID that anchors the record (None when unusable or detached)
TYPO_ID = "typo_id"  # an 18-character ID that fails its check: a candidate for one-edit correction
BIRTH_YEAR = "birth_year"
BIRTH_EXACT = "birth_exact"  # True when birth_year/birth_date come from a usable ID
BIRTH_LO = "birth_lo"  # earliest possible birth date, in days since 1970 (exact: the date itself)
BIRTH_HI = "birth_hi"  # latest possible birth date; an age stated at an event gives a one-year window
GRADE_LO = "grade_lo"  # a student-roll row: the earliest birth date its grade allows (days since 1970)
GRADE_HI = "grade_hi"
ADULT_BY = "adult_by"  # a caller's row: the latest birth date of an adult on the run date (days since 1970)
_YEAR = 365.2425
SURNAME = "surname"
HOUSEHOLD = "household"  # a household key (pipeline.keys): M:<户编号> or A:<户主身份证号>
NATURAL_KEY = "natural_key"  # a key of the record that is stable from one month's extract to the next
DETACHED = "detached"
CARRIED_ID = "carried_id"  # the ID a detached record carried (its guardian's)
DISABLED = "disabled"  # the person holds a disability certificate (True/False), None when unknown
CUT_ID = "cut_id"  # the 15 digits a spreadsheet left of an ID it cut (…000): compared, never an ID
ID_PREFIX = "id_prefix"  # the id_prefix blocking pass's key (prefix_keys)

_COMPOUND_SURNAMES = ("司马", "诸葛", "欧阳", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐")


def surname_of(names: pd.Series) -> pd.Series:
    """Each name's surname (a compound one such as 欧阳 whole), made once per distinct name.

    >>> surname_of(pd.Series(["欧阳娜娜", "张伟", None, "张伟"])).tolist()
    ['欧阳', '张', nan, '张']
    """
    codes, uniques = pd.factorize(names)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    two = distinct.str.slice(0, 2)
    first = two.where(two.isin(_COMPOUND_SURNAMES), distinct.str.slice(0, 1)).to_numpy(dtype=object)
    out = np.full(len(codes), np.nan, dtype=object)
    out[codes >= 0] = first[codes[codes >= 0]]
    return pd.Series(out, index=names.index, dtype=object)


def prepare(records: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """Derive the matching fields. The frame's index is the record number used everywhere after.
    ``as_of``: the date the extracts describe (the run date): a student's grade says their age in
    its month (``reading_day``)."""
    # Only the columns matching uses: records.parquet has sixty.
    r = records.reindex(columns=INPUT_COLUMNS).reset_index(drop=True)
    for c in INPUT_COLUMNS:
        if c not in r.columns:
            r[c] = None
    usable = r[S.ID_STATUS].isin([s.value for s in S.USABLE_ID])
    r[ANCHOR_ID] = r[S.ID_NUMBER].where(usable, None)
    typo = (r[S.ID_STATUS] == S.IdStatus.INVALID.value) & (r[S.ID_NUMBER].str.len() == 18)
    r[TYPO_ID] = r[S.ID_NUMBER].where(typo, None)
    r[CUT_ID] = _dated(cut_prefix(r[S.ID_RAW], r[S.ID_STATUS]))
    birth = pd.to_datetime(r[S.BIRTH_DATE])
    event = pd.to_datetime(r[S.DISCHARGE_DATE]).fillna(pd.to_datetime(r[S.ADMIT_DATE]))
    age_year = event.dt.year - pd.to_numeric(r[S.AGE], errors="coerce")
    r[BIRTH_EXACT] = birth.notna()
    r[BIRTH_YEAR] = birth.dt.year.astype("Float64").fillna(age_year.astype("Float64"))
    exact = _days(birth)
    lo, hi = stated_window(r)
    r[BIRTH_LO] = np.where(np.isnan(exact), lo, exact)
    r[BIRTH_HI] = np.where(np.isnan(exact), hi, exact)
    r[GRADE_LO], r[GRADE_HI] = grade_window(r, as_of)
    r[ADULT_BY] = adult_by(r, as_of)
    r[SURNAME] = surname_of(r[S.NAME].astype("object").fillna(""))
    hh_no = hkeys.monitored(r[S.HOUSEHOLD_NO])
    head = hkeys.headed(r[S.HEAD_ID], r[S.HEAD_ID_STATUS])
    r[HOUSEHOLD] = _one_key_per_household(hh_no.where(hh_no.notna(), head), r[ANCHOR_ID])
    r[DISABLED] = _known_disabled(r)
    r[DETACHED] = False
    r[CARRIED_ID] = None
    r[NATURAL_KEY] = natural_keys(r)
    # After the natural keys: a student row's key stays the one earlier nights persisted.
    r[HOUSEHOLD] = _guardians_household(r, r[HOUSEHOLD])
    r[ID_PREFIX] = prefix_keys(r)
    # Plain object columns with None for missing: comparisons index them per pair many times, and
    # converting Arrow-backed strings on every access costs more than the comparisons themselves.
    # Made through the distinct values: a value that repeats (a township, a surname, a file name)
    # is one Python string shared by its rows, not one per row (about 3 GB fewer at 3M records).
    for c in [*INPUT_COLUMNS, ANCHOR_ID, TYPO_ID, CUT_ID, SURNAME, HOUSEHOLD, NATURAL_KEY, CARRIED_ID]:
        if r[c].dtype == object or pd.api.types.is_string_dtype(r[c]):
            r[c] = shared_objects(r[c])
    return r


def _dated(prefix: pd.Series) -> pd.Series:
    """Cut prefixes whose digits 7-14 are a real birth date (else None): a cut value that is not an
    ID at all (a phone number, a 残疾证号 typed as a number) says nothing about anyone."""
    present = prefix.notna().to_numpy()
    if not present.any():
        return prefix
    born = pd.to_datetime(prefix[present].str.slice(6, 14), format="%Y%m%d", errors="coerce")
    out = prefix.copy()
    out[np.flatnonzero(present)[born.isna().to_numpy()]] = None
    return out


def prefix_keys(r: pd.DataFrame) -> pd.Series:
    """The id_prefix blocking pass's key: each cut ID's 15 digits, and the same digits of every
    usable ID that some cut ID shares (None elsewhere, so the pass's blocks hold only those)."""
    cut = r[CUT_ID]
    out = cut.astype("object").copy()
    wanted = cut.dropna().unique()
    if len(wanted) == 0:
        return out
    whole = r[ANCHOR_ID].astype("object").str.slice(0, CUT_DIGITS)
    hit = member(whole, wanted) & out.isna().to_numpy()
    out[hit] = whole[hit].to_numpy()
    return out


def shared_objects(values: pd.Series) -> pd.Series:
    """``values`` as a plain object column, None for missing, each distinct value one object.

    >>> s = shared_objects(pd.Series(["a", None, "a"], dtype="str"))
    >>> s.tolist(), s.iloc[0] is s.iloc[2]
    (['a', None, 'a'], True)
    """
    codes, uniques = pd.factorize(values)
    distinct = np.asarray(uniques, dtype=object)
    out = np.full(len(codes), None, dtype=object)
    present = codes >= 0
    out[present] = distinct[codes[present]]
    return pd.Series(out, index=values.index, dtype=object)


def _one_key_per_household(household: pd.Series, anchor: pd.Series) -> pd.Series:
    """Give a 低保 household (keyed by its head's ID) the 户编号 of the monitored household its head
    belongs to, so a monitoring row and an assistance row of one family compare as one household."""
    monitored = pd.DataFrame({"h": household, "id": anchor}).dropna()
    monitored = monitored[hkeys.is_monitored(monitored["h"])].drop_duplicates("id")
    by_member = dict(zip(hkeys.of_head(monitored["id"]), monitored["h"], strict=True))
    # Only the rows keyed by such a head are looked up (a dict map over every row cost a second).
    hit = member(household, by_member)
    out = household.astype("object").copy()
    out[hit] = household[hit].map(by_member).to_numpy()
    return out


def _guardians_household(r: pd.DataFrame, household: pd.Series) -> pd.Series:
    """A student-roll row has no household column, but names its guardian: the student lives in the
    household the guardian's ID is seen in (a monitoring or assistance roster's row), or else in the
    guardian's own (``G:<ID>``, compared only with other such rows). So a row whose own ID is blank
    or mangled still compares with its household's records, and two namesakes in one grade and
    township whose rolls name different guardians are two children."""
    usable = [s.value for s in S.USABLE_ID]
    guardian = r[S.GUARDIAN_ID].where(r[S.GUARDIAN_ID_STATUS].isin(usable) & household.isna())
    if guardian.isna().all():
        return household
    seen = pd.DataFrame({"id": r[ANCHOR_ID], "h": household}).dropna().drop_duplicates("id")
    found = guardian.map(seen.set_index("id")["h"])
    own = (hkeys.GUARDIAN + guardian.astype("object")).where(guardian.notna(), None)
    return household.fillna(found).fillna(own)


#: Years at school by the roll's 学段 and 年级 (初一 = 七年级 = 7); a stage's own count (初中一年级)
#: adds the years before it.
_GRADE_YEARS = {
    **{f"{c}年级": i + 1 for i, c in enumerate("一二三四五六七八九")},
    **{f"{i + 1}年级": i + 1 for i in range(9)},
    **{f"初{c}": 7 + i for i, c in enumerate("一二三")},
    **{f"高{c}": 10 + i for i, c in enumerate("一二三")},
}
_STAGE_BEFORE = {"初中": 6, "高中": 9}


def _per_distinct(values: pd.Series, table: dict[str, int], default: float) -> np.ndarray:
    """``table[value]`` for each row as floats (``default`` where absent), looked up once per
    distinct value: a roll's 280,000 rows hold a dozen grades."""
    codes, uniques = pd.factorize(values)
    looked = np.array([table.get(str(u), default) for u in uniques] + [default], dtype="float64")
    return np.asarray(looked[codes])  # code -1 (missing) takes the last entry, the default


def reading_day(as_of: date) -> date:
    """The day a student's grade and a caller's adulthood are read on: the first of the run date's
    month. Department extracts describe a month, and the windows are years wide, so a few weeks
    change nothing a grade can tell; read on the day itself, some pair's level would flip on almost
    every night (at 1M records thousands of pairs compare a grade), and a night whose records did
    not change could not take the links of an earlier night of the month (stages.match)."""
    return as_of.replace(day=1)


def grade_window(r: pd.DataFrame, as_of: date | None) -> tuple[np.ndarray, np.ndarray]:
    """The birth dates a student's grade allows in ``as_of``'s month, in days since 1970 (NaN
    without one).

    A child starts 一年级 at 6 (by 31 August), so in year g of school they are 5 + g to 6 + g
    during the school year; a year either side for a late or early start or a repeated year, and
    for rolls that state the grade by the age on the day: born between D - (8 + g) years and
    D - (4 + g) years, D the first of the month (``reading_day``). Four years wide, so it tells a
    student from a parent or a sibling several years apart, not from a twin.
    """
    n = len(r)
    if as_of is None or n == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    grade = _per_distinct(r[S.GRADE], _GRADE_YEARS, np.nan)
    stage = _per_distinct(r[S.SCHOOL_STAGE], _STAGE_BEFORE, 0.0)
    years = np.where(grade <= 3, grade + stage, grade)
    day = _day(reading_day(as_of))
    return day - (8 + years) * _YEAR, day - (4 + years) * _YEAR


#: Sources whose person speaks for themselves: a 12345 caller (诉求人) is an adult. A village report
#: names the person in difficulty, who may be a child, so it is not here.
ADULT_SOURCES = ("hotline",)
ADULT_AGE = 16  # the age of full civil capacity for someone who earns their own living (民法典 第十八条)


def adult_by(r: pd.DataFrame, as_of: date | None) -> np.ndarray:
    """For a row of ADULT_SOURCES, the latest birth date (days since 1970) of someone ADULT_AGE or
    older on the first of ``as_of``'s month (``reading_day``); NaN for other rows or without a run
    date."""
    out = np.full(len(r), np.nan)
    if as_of is not None:
        out[r[S.SOURCE].isin(ADULT_SOURCES).to_numpy()] = _day(reading_day(as_of)) - ADULT_AGE * _YEAR
    return out


#: Sources whose rows say the person holds a disability certificate.
DISABILITY_SOURCES = ("disability", "subsidy")


def _known_disabled(r: pd.DataFrame) -> pd.Series:
    """True/False where the record's person is known to hold (or, having an ID seen nowhere in the
    disability sources, not to hold) a disability certificate; None when unknown."""
    own = r[S.SOURCE].isin(DISABILITY_SOURCES)
    known = member(r[ANCHOR_ID], r.loc[own & r[ANCHOR_ID].notna(), ANCHOR_ID].unique())
    out = pd.Series(None, index=r.index, dtype="object")
    out[r[ANCHOR_ID].notna().to_numpy()] = False
    out[(own | known).to_numpy()] = True
    return out


def _day(d: date) -> float:
    """A date in days since 1970, as the birth windows count."""
    return float((pd.Timestamp(d) - pd.Timestamp(1970, 1, 1)).days)


def _days(d: pd.Series) -> np.ndarray:
    return np.asarray((d - pd.Timestamp(1970, 1, 1)).dt.days.to_numpy(dtype="float64", na_value=np.nan))


def stated_window(r: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The birth dates an age stated at a hospital stay allows, in days since 1970 (NaN without one).

    A hospital writes the age in completed years, at admission or at discharge (departments differ):
    born after admission - (age + 1) years, on or before discharge - age years. The window is a
    year plus the stay, so an age taken on either day fits it.
    """
    age = pd.to_numeric(r[S.AGE], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    discharge = pd.to_datetime(r[S.DISCHARGE_DATE])
    admit = pd.to_datetime(r[S.ADMIT_DATE])
    last, first = discharge.fillna(admit), admit.fillna(discharge)
    return _days(first) - (age + 1) * _YEAR, _days(last) - age * _YEAR


def natural_keys(r: pd.DataFrame) -> pd.Series:
    """A record key that survives next month's extract (file names and row numbers do not).

    The usable ID when there is one; a hospital settlement number; otherwise name + household or
    township, which is what a person reading the extract would use. Each kind is spelled only for
    the rows that take it (most rows have an ID: the text of the others is not built for them).
    """
    out = np.full(len(r), None, dtype=object)
    anchor = r[ANCHOR_ID].astype("object")
    has_id = anchor.notna().to_numpy()
    out[has_id] = ("I:" + anchor[has_id]).to_numpy()
    settlement = r[S.SETTLEMENT_NO].astype("object")
    settled = ~has_id & settlement.notna().to_numpy()
    out[settled] = ("S:" + settlement[settled]).to_numpy()
    rest = ~has_id & ~settled
    if rest.any():
        o = r.loc[rest]
        name = o[S.NAME].astype("object").fillna("?")
        where = (
            hkeys.in_natural_key(o[HOUSEHOLD].astype("object"))
            .fillna(o[S.TOWNSHIP_CODE].astype("object"))
            .fillna(o[S.COUNTY_CODE].astype("object"))
        )
        out[rest] = ("R:" + o[S.SOURCE].astype("object") + ":" + name + ":" + where.fillna("?")).to_numpy()
    return pd.Series(out, index=r.index, dtype=object)


def detach_foreign(r: pd.DataFrame, max_age_gap: int) -> int:
    """Detach records that carry someone else's ID: an infant settled under a parent's ID.

    A record is detached when its stated age at the event differs from its ID holder's by more than
    ``max_age_gap`` years and its name is neither the ID group's commonest name nor a homophone of
    it. Returns how many records were detached.
    """
    stated = pd.to_numeric(r[S.AGE], errors="coerce")
    event = pd.to_datetime(r[S.DISCHARGE_DATE]).fillna(pd.to_datetime(r[S.ADMIT_DATE]))
    # A cut ID whose birth date contradicts the stated age is someone else's too (an infant settled
    # under a parent's ID that a spreadsheet cut): its digits are not compared. Nothing is carried:
    # without the last digits there is no holder to look up.
    cut = r[CUT_ID].notna().to_numpy() & stated.notna().to_numpy()
    if cut.any():
        cut_birth = pd.to_datetime(r.loc[cut, CUT_ID].str.slice(6, 14), format="%Y%m%d", errors="coerce")
        cut_age = (event[cut] - cut_birth).dt.days / 365.25
        foreign = ((stated[cut] - cut_age).abs() > max_age_gap + 1).to_numpy(dtype=bool)
        if foreign.any():
            r.loc[r.index[cut][foreign], CUT_ID] = None
            r[ID_PREFIX] = prefix_keys(r)
    birth = pd.to_datetime(r[S.BIRTH_DATE])
    id_age = (event - birth).dt.days / 365.25
    gap = (stated - id_age).abs() > max_age_gap + 1  # +1: stated ages are whole years, rounded down
    candidates = r.index[gap.fillna(False).to_numpy() & r[ANCHOR_ID].notna().to_numpy()]
    if len(candidates) == 0:
        return 0
    group = r.loc[r[ANCHOR_ID].isin(r.loc[candidates, ANCHOR_ID]), [ANCHOR_ID, S.NAME, S.NAME_PINYIN]]
    # The ID holder's name: the commonest name in the group, counting the age-consistent records.
    consistent = group.loc[~group.index.isin(candidates)]
    basis = consistent if len(consistent) else group
    top = (
        basis.groupby([ANCHOR_ID, S.NAME, S.NAME_PINYIN], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .sort_values([ANCHOR_ID, "n", S.NAME], ascending=[True, False, True])
        .drop_duplicates(ANCHOR_ID)
        .set_index(ANCHOR_ID)[[S.NAME, S.NAME_PINYIN]]
    )
    mine = r.loc[candidates, [ANCHOR_ID, S.NAME, S.NAME_PINYIN]]
    holder = top.reindex(mine[ANCHOR_ID])
    same_name = (mine[S.NAME].to_numpy() == holder[S.NAME].to_numpy()) | (
        mine[S.NAME_PINYIN].to_numpy() == holder[S.NAME_PINYIN].to_numpy()
    )
    # With no age-consistent record in the group the holder is not in the data at all: every
    # record whose age contradicts the ID carries someone else's.
    has_holder = mine[ANCHOR_ID].isin(consistent[ANCHOR_ID]).to_numpy()
    detach = candidates[~(same_name & has_holder)]
    r.loc[detach, DETACHED] = True
    r.loc[detach, CARRIED_ID] = r.loc[detach, ANCHOR_ID]
    r.loc[detach, ANCHOR_ID] = None
    # What was known through the ID (whether its holder holds a disability certificate) is the
    # parent's, not the infant's: unknown, unless the record itself is a disability row.
    own = r.loc[detach, S.SOURCE].isin(DISABILITY_SOURCES).to_numpy()
    r.loc[detach[~own], DISABLED] = None
    r.loc[detach, BIRTH_EXACT] = False
    r.loc[detach, S.BIRTH_DATE] = pd.NaT
    r.loc[detach, BIRTH_YEAR] = (event[detach].dt.year - stated[detach]).astype("Float64")
    lo, hi = stated_window(r.loc[detach])
    r.loc[detach, BIRTH_LO] = lo
    r.loc[detach, BIRTH_HI] = hi
    r.loc[detach, NATURAL_KEY] = natural_keys(r.loc[detach])
    if r[CUT_ID].notna().any():
        r[ID_PREFIX] = prefix_keys(r)  # a detached record's ID is no longer its own
    return int(len(detach))


def unanchored_mask(r: pd.DataFrame) -> np.ndarray:
    return np.asarray(r[ANCHOR_ID].isna().to_numpy())


@dataclass
class Households:
    """Who lives with whom, for the IDs that detached records carry.

    Built only around carried IDs (the holders of IDs that infants were settled under): their
    households' members, and the set of every ID seen in any household (to tell "not in the
    household" from "household unknown").
    """

    members_of_carried: dict[str, set[str]]  # carried ID -> usable IDs sharing a household with it
    in_any_household: set[str]

    def share_household(self, other_id: str, carried_id: str) -> bool:
        return other_id in self.members_of_carried.get(carried_id, ())


def households(r: pd.DataFrame) -> Households:
    rows = r.loc[r[HOUSEHOLD].notna() & r[ANCHOR_ID].notna(), [HOUSEHOLD, ANCHOR_ID]]
    heads = r.loc[hkeys.is_headed(r[HOUSEHOLD]), [HOUSEHOLD]].drop_duplicates()
    heads[ANCHOR_ID] = hkeys.head_id(heads[HOUSEHOLD])
    # A student-roll row on no roster lives with its guardian (G:<ID>): the guardian is a member.
    keys = r[HOUSEHOLD].astype("object").fillna("")
    kept = r.loc[keys.str.startswith(hkeys.GUARDIAN).to_numpy(), [HOUSEHOLD]].drop_duplicates()
    kept[ANCHOR_ID] = kept[HOUSEHOLD].str.slice(len(hkeys.GUARDIAN))
    both = pd.concat([rows, heads, kept], ignore_index=True).drop_duplicates()
    carried = set(r[CARRIED_ID].dropna())
    mine = both[both[ANCHOR_ID].isin(carried)]
    pairs = mine.merge(both[both[HOUSEHOLD].isin(set(mine[HOUSEHOLD]))], on=HOUSEHOLD, suffixes=("", "_m"))
    members = {str(k): set(v) for k, v in pairs.groupby(ANCHOR_ID)[f"{ANCHOR_ID}_m"].agg(set).items()}
    return Households(members, set(both[ANCHOR_ID]))
