"""Households: who lives with whom, and whether the household already receives assistance.

A person's household is the monitored household (户编号) and/or the assistance household (户主身份证号)
their records belong to; households sharing a member are one household; a student joins the
household of the guardian the student roll names (by the guardian's valid ID); a person in none of
these is a household of one. "Active assistance" = a member on the assistance roster with 保障状态 正常 and
救助类别 城市/农村 低保 or 特困; "active 低保" the same for 低保 only; "低保边缘" the roster's 低保边缘 with
正常. Urban or rural comes from the township's kind (街道 urban; 镇, 乡 rural).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline import keys as hkeys
from pipeline import schema as S
from pipeline.normalize.common import member, mode_by
from pipeline.normalize.places import Gazetteer

PERSON_ID = "person_id"
HOUSEHOLD_KEY = "household_key"
ACTIVE_ASSISTANCE = "active_assistance"
ACTIVE_DIBAO = "active_dibao"
DIBAO_EDGE = "dibao_edge"
URBAN = "urban"
HOUSEHOLD_SIZE = "household_size"

#: The records.parquet columns households need (the stage reads only these).
INPUT_COLUMNS = [
    S.SOURCE,
    S.FILE,
    S.ROW,
    S.HOUSEHOLD_NO,
    S.HEAD_ID,
    S.HEAD_ID_STATUS,
    S.HEAD_NAME,
    S.TOWNSHIP_CODE,
    S.COUNTY_CODE,
    S.ASSISTANCE_STATUS,
    S.ASSISTANCE_CATEGORY,
    S.ID_NUMBER,
    S.ID_STATUS,
    S.GUARDIAN_ID,
    S.GUARDIAN_ID_STATUS,
]

_DIBAO = ("城市低保", "农村低保")
_TEKUN = ("城市特困", "农村特困")


def _member_keys(records: pd.DataFrame) -> pd.Series:
    """The household key each record names: M:<户编号> (monitoring) or A:<户主身份证号> (assistance)."""
    mon = hkeys.monitored(records[S.HOUSEHOLD_NO])
    head = hkeys.headed(records[S.HEAD_ID], records[S.HEAD_ID_STATUS])
    # A roster row whose head ID is unusable still names a household: its head's name and township.
    head = head.where(head.notna(), hkeys.head_named(records[S.HEAD_NAME], records[S.TOWNSHIP_CODE]))
    key = mon.where(records[S.SOURCE].eq("monitoring") & records[S.HOUSEHOLD_NO].notna(), None)
    return key.where(key.notna(), head.where(records[S.SOURCE].eq("assistance"), None))


def id_holders(r: pd.DataFrame, among: Iterable[str] | None = None) -> pd.Series:
    """usable ID -> the person whose own records carry it (records with person_id). An ID carried
    by two persons (an infant's stay settled under a parent's ID) maps to the person most of its
    records belong to. ``among``: only these IDs (the guardians' IDs: a few percent of a city's,
    whose holders are found without grouping a million IDs)."""
    usable = r[S.ID_STATUS].isin([s.value for s in S.USABLE_ID]).to_numpy(copy=True)
    if among is not None:
        usable &= member(r[S.ID_NUMBER], among)
    # Two columns of the rows, not every column (most rows carry a usable ID: a second copy).
    return mode_by(r.loc[usable, [S.ID_NUMBER, PERSON_ID]], S.ID_NUMBER, PERSON_ID)


def _guardian_links(r: pd.DataFrame) -> pd.DataFrame:
    """(student ``s``, guardian ``g``) person pairs: a student-roll row whose guardian ID is valid
    and held by a person (the person whose own records carry that ID)."""
    usable = [s.value for s in S.USABLE_ID]
    st = r.loc[r[S.SOURCE].eq("students") & r[S.GUARDIAN_ID_STATUS].isin(usable), [PERSON_ID, S.GUARDIAN_ID]]
    guardian = st[S.GUARDIAN_ID].map(id_holders(r, st[S.GUARDIAN_ID].dropna().unique()))
    pairs = pd.DataFrame({"s": st[PERSON_ID], "g": guardian}).dropna().drop_duplicates()
    return pairs[pairs["s"] != pairs["g"]]


def build(records: pd.DataFrame, person_index: pd.DataFrame, gazetteer: Gazetteer) -> pd.DataFrame:
    """One row per person: household key, size in the data, assistance flags, urban/rural, place."""
    keys = [S.SOURCE, S.FILE, S.ROW]
    r = records.merge(person_index[[*keys, PERSON_ID]], on=keys, how="inner")
    r["hh"] = _member_keys(r)
    people = pd.Index(r[PERSON_ID].unique())
    hh_keys = pd.Index(r["hh"].dropna().unique())
    # Bipartite union-find: persons and household keys; a person in two households joins them.
    # Connected components over whole edge arrays (scipy), not one union per record in Python.
    linked = r[r["hh"].notna()]
    pairs = _guardian_links(r)
    a_side = np.concatenate([people.get_indexer(linked[PERSON_ID]), people.get_indexer(pairs["s"])])
    b_side = np.concatenate([len(people) + hh_keys.get_indexer(linked["hh"]), people.get_indexer(pairs["g"])])
    n = len(people) + len(hh_keys)
    graph = coo_matrix((np.ones(len(a_side), dtype=np.int8), (a_side, b_side)), shape=(n, n))
    _, roots = connected_components(graph, directed=False)
    person_root = roots[: len(people)]
    # The household's key: its smallest M: key, else its smallest A: key, else the person's own.
    key_of_root: dict[int, str] = {}
    for h, root in sorted(
        zip(hh_keys, roots[len(people) :], strict=True),
        key=lambda t: (not t[0].startswith(hkeys.MONITORED), t[0]),
    ):
        key_of_root.setdefault(int(root), str(h))
    out = pd.DataFrame({PERSON_ID: people, "root": person_root})
    # Without a monitoring or roster key: the smallest person id of the group (a student and guardian).
    first = out.groupby("root")[PERSON_ID].min()
    # Whole columns, not a label lookup per person (0.9M people: 4.7 s that way at 1M records).
    roots_s = pd.Series(person_root, index=out.index)
    keyed = roots_s.map(key_of_root)
    own = hkeys.PERSON + roots_s.map(first).astype(str)  # hkeys.person, column-wise
    out[HOUSEHOLD_KEY] = keyed.where(keyed.notna(), own).astype(object)

    roster = r[r[S.SOURCE].eq("assistance") & r[S.ASSISTANCE_STATUS].eq("正常")]
    flags = pd.DataFrame({PERSON_ID: roster[PERSON_ID]})
    flags[ACTIVE_ASSISTANCE] = roster[S.ASSISTANCE_CATEGORY].isin(_DIBAO + _TEKUN).to_numpy()
    flags[ACTIVE_DIBAO] = roster[S.ASSISTANCE_CATEGORY].isin(_DIBAO).to_numpy()
    flags[DIBAO_EDGE] = roster[S.ASSISTANCE_CATEGORY].eq("低保边缘").to_numpy()
    per_person = flags.groupby(PERSON_ID)[[ACTIVE_ASSISTANCE, ACTIVE_DIBAO, DIBAO_EDGE]].any()
    out = out.join(per_person, on=PERSON_ID)
    # Per household, on integer codes: any member's flag, and the number of members.
    code, _ = pd.factorize(out[HOUSEHOLD_KEY])
    for c in (ACTIVE_ASSISTANCE, ACTIVE_DIBAO, DIBAO_EDGE):
        flag = out[c].fillna(False).astype(bool).to_numpy()
        out[c] = (np.bincount(code, weights=flag) > 0)[code]
    out[HOUSEHOLD_SIZE] = np.bincount(code)[code]

    # Place: the commonest township among the household's records; urban when it is a 街道.
    placed = r[[PERSON_ID, S.TOWNSHIP_CODE, S.COUNTY_CODE]].merge(
        out[[PERSON_ID, HOUSEHOLD_KEY]], on=PERSON_ID
    )
    town = mode_by(placed, HOUSEHOLD_KEY, S.TOWNSHIP_CODE)
    county = mode_by(placed, HOUSEHOLD_KEY, S.COUNTY_CODE)
    out[S.TOWNSHIP_CODE] = out[HOUSEHOLD_KEY].map(town)
    out[S.COUNTY_CODE] = out[HOUSEHOLD_KEY].map(county).fillna(out[S.TOWNSHIP_CODE].str.slice(0, 6))
    kinds = {t.code: t.kind for t in gazetteer.townships}
    kind = out[S.TOWNSHIP_CODE].map(kinds)
    out[URBAN] = kind.eq("街道").astype("object").where(kind.notna(), None)
    return out.drop(columns=["root"])
