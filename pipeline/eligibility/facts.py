"""Facts per person, computed from the linked records, that eligibility rules combine.

Every fact is documented in ``FACTS`` (name -> Chinese label, meaning); rules may name only these.
A fact is *unknown* (null) when the data cannot tell, and the condition language never warns on an
unknown. Person facts come from the person's own records; household facts from every member's
records (the household of pipeline/households.py). D is the run date; the look-back window is
(D - lookback_days, D].
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.cases.config import CLOSED
from pipeline.conditions import names
from pipeline.eligibility.requests import Lexicon, classify
from pipeline.households import (
    ACTIVE_ASSISTANCE,
    ACTIVE_DIBAO,
    DIBAO_EDGE,
    HOUSEHOLD_KEY,
    PERSON_ID,
    URBAN,
    id_holders,
)
from pipeline.normalize.common import member, spread
from pipeline.normalize.ids import cut_prefix, one_edit_corrections
from pipeline.params import Params

if TYPE_CHECKING:
    from pipeline.eligibility.rules import Rule

MATCH_PROBABILITY = "match_probability"
LINK_RULE = "link_rule"
LINK_EVIDENCE = "link_evidence"  # person_index `evidence`: why the record was linked
KEYS = [S.SOURCE, S.FILE, S.ROW]

#: The records.parquet columns facts and evidence read.
INPUT_COLUMNS = [
    *KEYS,
    S.NAME,
    S.NAME_PINYIN,
    S.ID_NUMBER,
    S.ID_RAW,
    S.ID_STATUS,
    S.VILLAGE,
    S.ADDRESS,
    S.PHONE,
    S.TOWNSHIP_CODE,
    S.HOUSEHOLD_NO,
    S.RISK_ELIMINATED,
    S.INCOME_PER_CAPITA,
    S.DISABILITY_CERT,
    S.DISABILITY_CATEGORY,
    S.DISABILITY_GRADE,
    S.ASSISTANCE_CATEGORY,
    S.ASSISTANCE_STATUS,
    S.MONTHLY_AMOUNT,
    S.HEAD_NAME,
    S.SUBSIDY_CATEGORY,
    S.PAY_MONTH,
    S.AMOUNT,
    S.ADMIT_DATE,
    S.DISCHARGE_DATE,
    S.OUT_OF_POCKET,
    S.HOSPITAL,
    S.DEATH_DATE,
    S.CREMATION_DATE,
    S.FUNERAL_HOME,
    S.SCHOOL,
    S.GRADE,
    S.GUARDIAN_NAME,
    S.GUARDIAN_NAME_PINYIN,
    S.GUARDIAN_ID,
    S.GUARDIAN_ID_RAW,
    S.GUARDIAN_ID_STATUS,
    S.REQUEST_DATE,
    S.REQUEST_TEXT,
    S.REPORT_DATE,
    S.HARDSHIP_TEXT,
    S.VEHICLE_TYPE,
    S.VEHICLE_USE,
    S.VEHICLE_STATUS,
    S.FLOOR_AREA,
]

#: Columns facts add to the records for the evidence: a request's or report's hardship as read.
HARDSHIP, HARDSHIP_REASON = "hardship", "hardship_reason"
DERIVED_LABELS = {HARDSHIP: "困难类别", HARDSHIP_REASON: "识别依据"}
#: Per channel: its source, the columns of its text and date, the facts it gives (read in the
#: window, and the categories read).
CHANNELS = (
    ("hotline", S.REQUEST_TEXT, S.REQUEST_DATE, "hotline_hardship", "hotline_categories"),
    ("reports", S.HARDSHIP_TEXT, S.REPORT_DATE, "village_report_hardship", "report_categories"),
)


@dataclass(frozen=True)
class FactDoc:
    label: str  # Chinese, shown in a warning's evidence
    meaning: str


FACTS: dict[str, FactDoc] = {
    "age": FactDoc(
        "年龄", "whole years at D, from the birth date in the person's ID; unknown without a usable ID"
    ),
    "disabled": FactDoc("持残疾人证", "the person has a row in the disability registry (残联)"),
    "disability_grade": FactDoc(
        "残疾等级", "the most severe grade among the person's registry rows (一级 … 四级)"
    ),
    "nursing_subsidy_paid": FactDoc(
        "享受重度残疾人护理补贴", "a 重度残疾人护理补贴 payment row is linked to the person"
    ),
    "living_subsidy_paid": FactDoc(
        "享受困难残疾人生活补贴", "a 困难残疾人生活补贴 payment row is linked to the person"
    ),
    "on_roster_active": FactDoc(
        "救助名册在保", "the person has an assistance-roster row with 保障状态 正常 (any category)"
    ),
    "monitored": FactDoc("防返贫监测户", "the household has rows in the monitoring list"),
    "monitoring_risk_open": FactDoc(
        "监测户风险未消除",
        "a monitoring row of the household says 风险是否已消除 = 否 (false when not monitored)",
    ),
    "income_per_capita": FactDoc(
        "家庭年人均纯收入(元)", "the household's 家庭年人均纯收入 in the monitoring list (median of its rows)"
    ),
    "dibao_standard": FactDoc(
        "月低保标准(元)", "the monthly 低保标准 in force at D for the household's county, urban or rural"
    ),
    "active_assistance": FactDoc(
        "户内享受低保或特困", "a household member is on the roster as 低保/特困 with 正常"
    ),
    "active_dibao": FactDoc("户内享受低保", "a household member is on the roster as 低保 with 正常"),
    "dibao_edge": FactDoc("低保边缘户(正常)", "a household member is on the roster as 低保边缘 with 正常"),
    "urban": FactDoc("城镇", "the household's township is a 街道 (true) or a 镇/乡 (false)"),
    "medical_out_of_pocket": FactDoc(
        "近一年住院个人自付(元)",
        "the sum of 个人自付 over the person's stays with 出院日期 in the look-back window",
    ),
    "student": FactDoc("在校学生", "the person has a row in the student roll"),
    "guardian_death_days": FactDoc(
        "监护人死亡距今天数",
        "days from a guardian's death (death record on or before D) to D; the most recent",
    ),
    "deceased": FactDoc("已死亡", "a death record dated on or before D is linked to the person"),
    "death_link_strong": FactDoc(
        "死亡信息强关联",
        "a linked death record dated on or before D is tied to the person strongly: the same valid ID; or "
        "the same first 15 digits of an ID a spreadsheet cut (…000) and the same name; or a model link "
        "with probability >= $strong_link_probability and the same name (homophones count)",
    ),
    "death_link_basis": FactDoc(
        "死亡信息关联依据", "why the death record's link is strong (text), see death_link_strong"
    ),
    "death_date": FactDoc("死亡日期", "the latest linked death record's 死亡日期 on or before D"),
    "guardian_death_date": FactDoc(
        "监护人死亡日期", "the most recent guardian death date (see guardian_death_days)"
    ),
    "latest_record_date": FactDoc(
        "最近记录日期",
        "the latest date on any of the person's records (出院、入院、发放月份、死亡): newer evidence "
        "about the person lifts a hold set by the answer 已死亡或迁出",
    ),
    "months_since_death": FactDoc(
        "死亡后仍在保月数",
        "whole calendar months from the month after the (latest) death to D's month, while the person is "
        "still on the roster as 正常: the months a benefit may have been paid after death (an estimate: "
        "the roster does not list the months paid)",
    ),
    "hotline_hardship": FactDoc(
        "热线反映困难",
        "a hotline request (12345 and others) linked to the person, received in the look-back window, "
        "describes a hardship (read by rules/hardship.yaml)",
    ),
    "hotline_categories": FactDoc(
        "热线诉求困难类别", "the hardship categories of those requests (因病;因残 ...)"
    ),
    "village_report_hardship": FactDoc(
        "协理员上报困难",
        "a village assistant's report linked to the person, dated in the look-back window, describes a "
        "hardship (a report saying the family is fine does not count)",
    ),
    "report_categories": FactDoc("上报困难类别", "the hardship categories of those reports"),
    "case_before_report": FactDoc(
        "上报前已有在办案件",
        "the person had a case not closed, first raised before the latest such report, of a rule that "
        "does not itself ask this (see cases_acted_on): the township was already acting when the "
        "assistant reported",
    ),
    "household_vehicles": FactDoc(
        "户内名下非营运车辆(辆)",
        "vehicles registered to household members with 使用性质 非营运 and 状态 正常 (0 when the vehicle "
        "check names none of them; unknown when no vehicle records were read)",
    ),
    "household_properties": FactDoc(
        "户内名下房产(套)", "real estate registered to household members (unknown when none were read)"
    ),
    "household_floor_area": FactDoc("户内房产建筑面积(㎡)", "their total floor area"),
    "economic_hint": FactDoc(
        "核对提示",
        "the household's vehicles and real estate in words (名下非营运车辆1辆(小型轿车);房产2套,共186㎡), "
        "shown on every warning so the township knows before the visit; empty when none",
    ),
    "overpaid_estimate": FactDoc(
        "估计死亡后多发金额(元)",
        "months_since_death times the 月保障金额 of the person's 正常 roster rows (summed over categories); "
        "unknown when the roster gives no amount",
    ),
}

_GRADE_ORDER = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}


@dataclass(frozen=True)
class FactsResult:
    """Facts per person (index: person_id) and what evidence assembly needs besides."""

    facts: pd.DataFrame
    records: pd.DataFrame  # the input records with person_id, household_key, match columns
    guardians: pd.DataFrame  # student person_id -> guardian person_id (guardian_rule: how found)


#: The person_index columns the facts read (the rules stage reads only these).
INDEX_COLUMNS = [*KEYS, PERSON_ID, MATCH_PROBABILITY, LINK_RULE, "evidence"]


def _per_position(values: pd.Series, at: np.ndarray, index: pd.Index) -> pd.Series:
    """The largest of ``values`` per position ``at`` in ``index`` (rows at -1 left out); missing
    values are skipped, and positions without one are missing.

    >>> at = np.array([0, 0, 2, -1])
    >>> _per_position(pd.Series([1.0, 5.0, None, 2.0]), at, pd.Index(list("abc"))).tolist()
    [5.0, nan, nan]
    """
    best = values.groupby(at).max()
    best = best[best.index >= 0]
    out = pd.Series(values.array[:0].take(np.full(len(index), -1), allow_fill=True), index=index)
    out.iloc[best.index.to_numpy()] = best.to_numpy()
    return out


def _any_by(frame: pd.DataFrame, mask: pd.Series, key: str, index: pd.Index) -> pd.Series:
    hit = frame.loc[mask, key].dropna().unique()
    return pd.Series(member(index, np.asarray(hit, dtype=object)), index=index)


def _only_one(pairs: pd.DataFrame, key: str, value: str) -> pd.Series:
    """key -> value for the keys paired with exactly one distinct value (the others stay unknown).

    >>> _only_one(pd.DataFrame({"k": [1, 1, 2, 2], "v": ["a", "a", "b", "c"]}), "k", "v").to_dict()
    {1: 'a'}
    """
    pairs = pairs.drop_duplicates([key, value])
    return pairs[~pairs[key].duplicated(keep=False)].set_index(key)[value]


def resolve_guardians(r: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Each student row's guardian as a person: by the guardian's usable ID (the person holding it),
    else by a valid ID one typo away held by someone of the guardian's name (or, for a valid
    guardian ID nobody holds, by a record of that name whose own ID is one typo from it), else by
    the first 15 digits of an ID a spreadsheet cut on one side (…000) and the name, else by
    name (or homophone) among the student's household members. Unresolved guardians are
    left out: a wrong guardian would put a living parent's child on the list."""
    st = r.loc[
        r[S.SOURCE].eq("students") & r[S.GUARDIAN_NAME].notna(),
        [
            PERSON_ID,
            HOUSEHOLD_KEY,
            S.GUARDIAN_NAME_PINYIN,
            S.GUARDIAN_ID,
            S.GUARDIAN_ID_RAW,
            S.GUARDIAN_ID_STATUS,
            *KEYS,
        ],
    ]
    holders = id_holders(r, st[S.GUARDIAN_ID].dropna().unique())
    by_id = (
        st[S.GUARDIAN_ID].map(holders).where(st[S.GUARDIAN_ID_STATUS].isin([s.value for s in S.USABLE_ID]))
    )
    rule = pd.Series("id", index=st.index).where(by_id.notna(), None)
    # A guardian ID with one wrong digit or one swap: the valid ID one edit away whose holder
    # answers to the guardian's name (or a homophone), when exactly one does.
    typo = st[S.GUARDIAN_ID].where(st[S.GUARDIAN_ID_STATUS].eq(S.IdStatus.INVALID.value) & by_id.isna())
    typo = typo[typo.str.len() == 18]
    if len(typo):
        cand = one_edit_corrections(typo)
        cand["holder"] = cand["candidate"].map(id_holders(r, cand["candidate"].unique()))
        # Only the candidate holders' names (not every record's).
        names = r.loc[member(r[PERSON_ID], cand["holder"].dropna().unique()), [PERSON_ID, S.NAME_PINYIN]]
        names = names.dropna().drop_duplicates()
        cand = cand.merge(names, left_on="holder", right_on=PERSON_ID)
        cand = cand[
            cand[S.NAME_PINYIN].to_numpy() == st.loc[cand["index"], S.GUARDIAN_NAME_PINYIN].to_numpy()
        ]
        one = _only_one(cand, "index", "holder")
        by_id = by_id.astype("object")
        by_id.loc[one.index] = one
        rule.loc[one.index] = "id_one_edit"
    # The other way round: the roll's guardian ID is valid but nobody's records carry it, and a
    # record's own ID is one typo from it (a death record for a guardian who appears nowhere else);
    # taken when that record answers to the guardian's name and exactly one person does.
    unheld = (
        st[S.GUARDIAN_ID]
        .where(st[S.GUARDIAN_ID_STATUS].isin([s.value for s in S.USABLE_ID]) & by_id.isna())
        .dropna()
    )
    if len(unheld):
        own = r[S.ID_NUMBER].where(r[S.ID_STATUS].eq(S.IdStatus.INVALID.value))
        own = own[own.str.len() == 18]
        fixes = one_edit_corrections(own)
        fixes = fixes[member(fixes["candidate"], unheld.unique())]
        fixes = fixes.assign(
            holder=r.loc[fixes["index"], PERSON_ID].to_numpy(),
            py=r.loc[fixes["index"], S.NAME_PINYIN].to_numpy(),
        )
        want = pd.DataFrame(
            {"candidate": unheld.to_numpy(), "py": st.loc[unheld.index, S.GUARDIAN_NAME_PINYIN].to_numpy()},
            index=unheld.index,
        ).reset_index(names="st")
        one = _only_one(
            want.merge(fixes[["candidate", "py", "holder"]], on=["candidate", "py"]), "st", "holder"
        )
        by_id = by_id.astype("object")
        by_id.loc[one.index] = one
        rule.loc[one.index] = "id_one_edit"
    cut = _cut_guardians(r, st, by_id)
    if len(cut):
        by_id = by_id.astype("object")
        by_id.loc[cut.index] = cut
        rule.loc[cut.index] = "id_cut"
    out = st.assign(guardian=by_id, guardian_rule=rule)
    left = out[out["guardian"].isna()]
    if len(left):
        # Only the members of the households still looking for a guardian.
        mine = member(members[HOUSEHOLD_KEY], left[HOUSEHOLD_KEY].dropna().unique())
        cand = members.loc[mine, [PERSON_ID, HOUSEHOLD_KEY, S.NAME_PINYIN]].dropna().drop_duplicates()
        cand = cand.rename(columns={PERSON_ID: "cand", S.NAME_PINYIN: "py"})
        want = left.rename(columns={S.GUARDIAN_NAME_PINYIN: "py"}).reset_index()
        m = want.merge(cand, on=[HOUSEHOLD_KEY, "py"])
        m = m[m["cand"] != m[PERSON_ID]]
        # Exactly one household member answers to the name: otherwise the guardian stays unknown.
        one = _only_one(m, "index", "cand")
        out.loc[one.index, "guardian"] = one
        out.loc[one.index, "guardian_rule"] = "name_in_household"
    return out[out["guardian"].notna()][[PERSON_ID, "guardian", "guardian_rule", *KEYS]]


def _first15(ids: pd.Series) -> pd.Series:
    """The first 15 characters of each ID ("" for none)."""
    return ids.astype("object").fillna("").str.slice(0, 15)


def _cut_guardians(r: pd.DataFrame, st: pd.DataFrame, by_id: pd.Series) -> pd.Series:
    """Guardians whose ID a spreadsheet cut to 15 significant digits (…000) on one side: the first
    15 digits (area, birth date, first sequence digit) and the name still say who it is, as for
    R07's death links. Either the roll's guardian ID was cut and a person of the guardian's name
    holds the whole ID, or the roll's ID is whole, nobody holds it, and a record of the guardian's
    name carries it cut (a death record for a guardian who appears nowhere else). Taken when
    exactly one person answers; keyed by the student rows' index."""
    usable = [s.value for s in S.USABLE_ID]
    open_ = st[by_id.isna()]
    whole = _first15(open_[S.GUARDIAN_ID]).where(open_[S.GUARDIAN_ID_STATUS].isin(usable))
    want = pd.concat(
        [
            pd.DataFrame(
                {"p": cut_prefix(open_[S.GUARDIAN_ID_RAW], open_[S.GUARDIAN_ID_STATUS]), "cut_side": "roll"}
            ),
            pd.DataFrame({"p": whole, "cut_side": "record"}),
        ]
    ).dropna()
    if want.empty:
        return pd.Series(dtype="object")
    want["py"] = st.loc[want.index, S.GUARDIAN_NAME_PINYIN].to_numpy()
    # Who a cut roll ID may name: the holders of whole IDs answering to a wanted name (the join
    # below is on the name too; slicing every record's ID cost seconds at 1M); who may carry a
    # whole roll ID cut: the records whose own ID was cut.
    roll_names = want.loc[want["cut_side"].eq("roll"), "py"].dropna().unique()
    holders = r.loc[member(r[S.NAME_PINYIN], roll_names) & r[S.ID_STATUS].isin(usable).to_numpy()]
    carriers = r.loc[r[S.ID_STATUS].eq(S.IdStatus.MANGLED.value)]
    who = pd.concat(
        [
            pd.DataFrame({"p": _first15(holders[S.ID_NUMBER]), "cut_side": "roll"}),
            pd.DataFrame({"p": cut_prefix(carriers[S.ID_RAW], carriers[S.ID_STATUS]), "cut_side": "record"}),
        ]
    ).assign(
        holder=np.concatenate(
            [holders[PERSON_ID].to_numpy(dtype=object), carriers[PERSON_ID].to_numpy(dtype=object)]
        ),
        py=np.concatenate(
            [holders[S.NAME_PINYIN].to_numpy(dtype=object), carriers[S.NAME_PINYIN].to_numpy(dtype=object)]
        ),
    )
    m = want.reset_index(names="st").merge(who.dropna().drop_duplicates(), on=["p", "cut_side", "py"])
    return _only_one(m[m["holder"].to_numpy() != st.loc[m["st"], PERSON_ID].to_numpy()], "st", "holder")


def compute_facts(
    records: pd.DataFrame,
    person_index: pd.DataFrame,
    households: pd.DataFrame,
    persons: pd.DataFrame,
    params: Params,
    lexicon: Lexicon | None = None,
    cases: pd.DataFrame | None = None,
    hardship: pd.DataFrame | None = None,
) -> FactsResult:
    """One row of facts per person of ``households`` (every linked person).

    ``lexicon`` reads the hotline requests and village reports (rules/hardship.yaml); ``hardship``
    instead gives each such record's categories by (source, file, row), as a benchmark's truth does.
    ``cases``: the case store's cases (person_id, status, first_seen), for ``case_before_report``.
    """
    d = pd.Timestamp(params.run_date)
    start = d - pd.Timedelta(days=params.lookback_days)
    index = person_index[INDEX_COLUMNS]
    index = index.rename(columns={"evidence": LINK_EVIDENCE})
    linked = [PERSON_ID, MATCH_PROBABILITY, LINK_RULE, LINK_EVIDENCE]
    # Compared as arrays (Arrow's equality for text), not as a million Python strings per column.
    if len(index) == len(records) and all(records[k].array.equals(index[k].array) for k in KEYS):
        # The match stage writes person_index in records.parquet's order: the columns are attached
        # as they are (copy-on-write: no second copy of the records, 1.2 GB at 3M records), and as
        # Arrow arrays: through numpy, the text columns became 3 x 3M Python strings (+1 GB).
        r = records.assign(**{c: index[c].array for c in linked})
    else:
        r = records.merge(index, on=KEYS, how="inner")
    hh = households.set_index(PERSON_ID)
    idx = pd.Index(hh.index, name=PERSON_ID)
    # Each record's person as a position among the people (-1: none), found once in the people
    # index's hash table (which spread() uses too): the lookups per record below go by position
    # instead of hashing a million person ids again.
    at = idx.get_indexer(r[PERSON_ID])
    r[HOUSEHOLD_KEY] = hh[HOUSEHOLD_KEY].array.take(at, allow_fill=True)
    f = pd.DataFrame(index=idx)
    src = r[S.SOURCE]

    birth = pd.to_datetime(persons.set_index(PERSON_ID)[S.BIRTH_DATE].reindex(idx))
    had_birthday = (birth.dt.month < d.month) | ((birth.dt.month == d.month) & (birth.dt.day <= d.day))
    f["age"] = (d.year - birth.dt.year - (~had_birthday).astype(int)).astype("Int64")

    # Each source's rows with the columns its facts read: a full-width subset per source would
    # add up to a second copy of the records (+2 GB at 3M records).
    dis = r.loc[src.eq("disability"), [PERSON_ID, S.DISABILITY_GRADE]]
    f["disabled"] = member(idx, dis[PERSON_ID].unique())
    rank = dis[S.DISABILITY_GRADE].map(_GRADE_ORDER)
    best = rank.groupby(dis[PERSON_ID]).min()
    inverse = {v: k for k, v in _GRADE_ORDER.items()}
    f["disability_grade"] = spread(best, idx).map(inverse).astype("object")

    sub = r.loc[src.eq("subsidy"), [PERSON_ID, S.SUBSIDY_CATEGORY]]
    f["nursing_subsidy_paid"] = _any_by(sub, sub[S.SUBSIDY_CATEGORY].eq("重度残疾人护理补贴"), PERSON_ID, idx)
    f["living_subsidy_paid"] = _any_by(sub, sub[S.SUBSIDY_CATEGORY].eq("困难残疾人生活补贴"), PERSON_ID, idx)

    ast = r.loc[src.eq("assistance"), [PERSON_ID, S.ASSISTANCE_STATUS, S.MONTHLY_AMOUNT]]
    f["on_roster_active"] = _any_by(ast, ast[S.ASSISTANCE_STATUS].eq("正常"), PERSON_ID, idx)

    mon = r.loc[src.eq("monitoring"), [HOUSEHOLD_KEY, S.RISK_ELIMINATED, S.INCOME_PER_CAPITA]]
    hh_open = mon.loc[mon[S.RISK_ELIMINATED].eq(False), HOUSEHOLD_KEY].unique()
    hh_monitored = mon[HOUSEHOLD_KEY].unique()
    f["monitored"] = member(hh[HOUSEHOLD_KEY], hh_monitored)
    f["monitoring_risk_open"] = member(hh[HOUSEHOLD_KEY], hh_open)
    income = mon.groupby(HOUSEHOLD_KEY)[S.INCOME_PER_CAPITA].median()
    f["income_per_capita"] = hh[HOUSEHOLD_KEY].map(income).to_numpy()

    for c in (ACTIVE_ASSISTANCE, ACTIVE_DIBAO, DIBAO_EDGE):
        f[c] = hh[c].to_numpy(dtype=bool)
    f["urban"] = hh[URBAN].to_numpy()
    # The standard per distinct (county, urban): a few dozen values for the city's people.
    # Numpy object arrays: iterating Arrow-backed columns costs about 1 us a value.
    place = list(zip(hh[S.COUNTY_CODE].to_numpy(dtype=object), hh[URBAN].to_numpy(dtype=object), strict=True))
    standard = {
        (c, u): None if not isinstance(c, str) or u is None or u != u else params.standard(c, bool(u))
        for c, u in set(place)
    }
    f["dibao_standard"] = [standard[k] for k in place]

    med = r.loc[src.eq("medical"), [PERSON_ID, S.DISCHARGE_DATE, S.OUT_OF_POCKET]]
    dis_date = pd.to_datetime(med[S.DISCHARGE_DATE])
    in_window = (dis_date > start) & (dis_date <= d)
    oop = med.loc[in_window].groupby(PERSON_ID)[S.OUT_OF_POCKET].sum().round(2)
    # Out-of-pocket with no stay in the window is a known zero, not unknown.
    f["medical_out_of_pocket"] = spread(oop, idx).fillna(0.0)

    f["student"] = member(idx, r.loc[src.eq("students"), PERSON_ID].unique())

    dead = r[src.eq("deaths")].copy()
    dead["dd"] = pd.to_datetime(dead[S.DEATH_DATE])
    dead = dead[dead["dd"] <= d]
    f["deceased"] = member(idx, dead[PERSON_ID].unique())
    basis = _strong_death_links(dead, r, params)
    f["death_link_strong"] = member(idx, dead.loc[basis.notna(), PERSON_ID].unique())
    f["death_link_basis"] = spread(basis.groupby(dead[PERSON_ID]).first(), idx).astype("object")

    last_death = dead.groupby(PERSON_ID)["dd"].max()
    f["death_date"] = spread(last_death, idx).dt.date.astype("object")
    dated = [
        pd.to_datetime(r[c]).to_numpy(dtype="datetime64[s]")
        for c in (S.DISCHARGE_DATE, S.ADMIT_DATE, S.PAY_MONTH, S.DEATH_DATE)
        if c in r.columns
    ]
    # The latest of each record's dates (fmax skips NaT), then each person's latest.
    latest = pd.Series(
        np.fmax.reduce(dated) if dated else np.full(len(r), "NaT", "datetime64[s]"), index=r.index
    )
    f["latest_record_date"] = _per_position(latest, at, idx).dt.date.astype("object")
    # Months of benefit after death: D's month minus the death's month, for people still 正常.
    months = (d.year - last_death.dt.year) * 12 + (d.month - last_death.dt.month)
    active_amount = (
        ast[ast[S.ASSISTANCE_STATUS].eq("正常")].groupby(PERSON_ID)[S.MONTHLY_AMOUNT].sum(min_count=1)
    )
    f["months_since_death"] = spread(months, idx).where(f["on_roster_active"]).astype("Int64")
    f["overpaid_estimate"] = (f["months_since_death"].astype("float64") * spread(active_amount, idx)).round(2)

    _channel_facts(f, r, idx, d, start, lexicon, cases, hardship)
    _economic_facts(f, r, hh, src)

    guardians = resolve_guardians(r, r)
    g = guardians.astype({"guardian": "object"}).merge(
        last_death.rename("gd"), left_on="guardian", right_index=True
    )
    days = (d - pd.to_datetime(g["gd"])).dt.days.groupby(g[PERSON_ID]).min()
    f["guardian_death_days"] = spread(days, idx).astype("Int64")
    f["guardian_death_date"] = spread(
        pd.to_datetime(g["gd"]).groupby(g[PERSON_ID]).max(), idx
    ).dt.date.astype("object")
    return FactsResult(facts=f, records=r, guardians=guardians)


def _channel_facts(
    f: pd.DataFrame,
    r: pd.DataFrame,
    idx: pd.Index,
    d: pd.Timestamp,
    start: pd.Timestamp,
    lexicon: Lexicon | None,
    cases: pd.DataFrame | None,
    truth: pd.DataFrame | None,
) -> None:
    """Hotline requests and village reports in the look-back window that describe a hardship.

    Adds ``hardship`` and ``hardship_reason`` to the records (the evidence quotes them).
    ``cases``: those of ``cases_acted_on``, for ``case_before_report``."""
    r[HARDSHIP] = None
    r[HARDSHIP_REASON] = None
    f["case_before_report"] = False
    for source, text_col, date_col, fact, cats in CHANNELS:
        rows = r.index[r[S.SOURCE].eq(source).to_numpy()]
        if truth is not None:
            keyed = r.loc[rows, KEYS].merge(truth[[*KEYS, HARDSHIP]], on=KEYS, how="left")
            read = pd.DataFrame(
                {HARDSHIP: keyed[HARDSHIP].fillna("").to_numpy(), HARDSHIP_REASON: "(真实类别)"}, index=rows
            )
        elif lexicon is not None and len(rows):
            read = classify(r.loc[rows, text_col], lexicon)
        else:
            read = pd.DataFrame({HARDSHIP: "", HARDSHIP_REASON: ""}, index=rows)
        r.loc[rows, HARDSHIP] = read[HARDSHIP].to_numpy()
        r.loc[rows, HARDSHIP_REASON] = read[HARDSHIP_REASON].to_numpy()
        when = (
            pd.to_datetime(r.loc[rows, date_col]) if date_col in r.columns else pd.Series(pd.NaT, index=rows)
        )
        hard = read[(when > start) & (when <= d) & read[HARDSHIP].fillna("").ne("")]
        person = r.loc[hard.index, PERSON_ID]
        f[fact] = member(idx, person.unique())
        joined = (
            hard[HARDSHIP]
            .groupby(person)
            .agg(lambda v: ";".join(dict.fromkeys(c for x in v for c in str(x).split(";"))))
        )
        f[cats] = spread(joined, idx).astype("object")
        if source == "reports" and cases is not None and len(cases) and len(hard):
            last = pd.Series(when[hard.index]).groupby(person).max()
            first = pd.to_datetime(cases["first_seen"]).groupby(cases["person_id"]).min()
            both = last.to_frame("report").join(first.rename("case"), how="inner")
            f["case_before_report"] = member(idx, set(both.index[(both["case"] < both["report"]).to_numpy()]))


def cases_acted_on(cases: pd.DataFrame, rules: Iterable[Rule]) -> pd.DataFrame:
    """The cases that show a township already acting on a person, for ``case_before_report``: those
    not closed, of the rules whose condition does not name that fact. A rule asking it (R09) must
    not be silenced by its own case: an open R09 case and a newer report would close the case as
    vanished, then raise it again the next night.
    """
    asking = {r.id for r in rules if "case_before_report" in names(r.condition.tree)[0]}
    return cases[cases["status"].ne(CLOSED) & ~cases["rule"].isin(asking)]


def _economic_facts(f: pd.DataFrame, r: pd.DataFrame, hh: pd.DataFrame, src: pd.Series) -> None:
    """The household's vehicles and real estate (the 核对平台's checks), counted and in words.

    Computed per household that has any (a few percent), then given to those households' members,
    found by Arrow's is_in (a lookup per person would hash 2.6 M keys for every fact)."""
    keys = hh[HOUSEHOLD_KEY]

    def per_member(values: pd.Series, fill: object) -> np.ndarray:
        """``values`` (per household key) for every person; ``fill`` where the household has none.
        Only the members of the few households that have any are looked up."""
        out = np.full(len(keys), fill, dtype=object)
        have = member(keys, values.index)
        if have.any():
            out[have] = keys[have].map(values).to_numpy(dtype=object)
        return out

    parts: list[pd.Series] = []  # per household key: its words, one series per check
    car = r.loc[src.eq("vehicles"), [HOUSEHOLD_KEY, S.VEHICLE_USE, S.VEHICLE_STATUS, S.VEHICLE_TYPE]]
    if len(car):
        car = car[car[S.VEHICLE_USE].eq("非营运") & car[S.VEHICLE_STATUS].eq("正常")]
        count = car.groupby(HOUSEHOLD_KEY).size()
        f["household_vehicles"] = per_member(count, 0).astype("int64")
        kinds = car.drop_duplicates([HOUSEHOLD_KEY, S.VEHICLE_TYPE]).dropna(subset=[S.VEHICLE_TYPE])
        # Most households have one kind: joined in Python only where there are several.
        several = kinds[HOUSEHOLD_KEY].duplicated(keep=False).to_numpy()
        kinds = pd.concat(
            [
                kinds[~several].set_index(HOUSEHOLD_KEY)[S.VEHICLE_TYPE],
                kinds[several].groupby(HOUSEHOLD_KEY)[S.VEHICLE_TYPE].agg("、".join),
            ]
        ).reindex(count.index)
        parts.append("名下非营运车辆" + count.astype(str) + "辆" + ("(" + kinds + ")").fillna(""))
    else:
        f["household_vehicles"] = pd.Series(pd.NA, index=f.index, dtype="Int64")
    home = r.loc[src.eq("property"), [HOUSEHOLD_KEY, S.FLOOR_AREA]]
    if len(home):
        n = home.groupby(HOUSEHOLD_KEY).size()
        area = home.groupby(HOUSEHOLD_KEY)[S.FLOOR_AREA].sum().round(0)
        f["household_properties"] = per_member(n, 0).astype("int64")
        f["household_floor_area"] = per_member(area, 0.0).astype("float64")
        parts.append("房产" + n.astype(str) + "套,共" + area.astype("int64").astype(str) + "㎡")
    else:
        f["household_properties"] = pd.Series(pd.NA, index=f.index, dtype="Int64")
        f["household_floor_area"] = np.nan
    words = pd.Series(dtype="object")
    if len(parts) == 1:
        words = parts[0].astype("object")
    elif parts:
        both = pd.concat(parts, axis=1).astype("object")
        first, second = both.iloc[:, 0], both.iloc[:, 1]
        words = (
            first.fillna("") + np.where(first.notna() & second.notna(), ";", "") + second.fillna("")
        ).astype("object")
    f["economic_hint"] = per_member(words, "")


def _strong_death_links(dead: pd.DataFrame, r: pd.DataFrame, params: Params) -> pd.Series:
    """Per death record: the basis on which its link is strong enough to stop a benefit, or None.

    Strong = (1) the record carries a valid ID and was anchored on it; or (2) its ID was cut to 15
    significant digits by a spreadsheet (…000) and those 15 digits (area, birth date, first
    sequence digit) equal the person's roster ID, with the same name or a homophone; or (3) the
    model linked it with probability >= strong_link_probability and the same name or a homophone
    as on the person's roster rows; or (4) the model linked it, with the same name (or homophone)
    as the roster, and its 户籍地址 names the roster's village (村/社区) in the same township: a
    namesake in the same village is far rarer than one in the same township.
    """
    basis = pd.Series(None, index=dead.index, dtype="object")
    roster = r.loc[
        r[S.SOURCE].eq("assistance"),
        [PERSON_ID, S.NAME_PINYIN, S.ID_STATUS, S.ID_NUMBER, S.VILLAGE, S.TOWNSHIP_CODE],
    ]
    names = roster[[PERSON_ID, S.NAME_PINYIN]].dropna().drop_duplicates()
    pairs = dead[[PERSON_ID, S.NAME_PINYIN]].reset_index().merge(names, on=[PERSON_ID, S.NAME_PINYIN])
    same_name = pd.Series(dead.index.isin(pairs["index"]), index=dead.index)
    ids = roster[roster[S.ID_STATUS].isin([s.value for s in S.USABLE_ID])][[PERSON_ID, S.ID_NUMBER]]
    prefix = dead[[PERSON_ID]].assign(p=cut_prefix(dead[S.ID_RAW], dead[S.ID_STATUS])).dropna().reset_index()
    prefix = prefix.merge(ids.assign(p=_first15(ids[S.ID_NUMBER]))[[PERSON_ID, "p"]], on=[PERSON_ID, "p"])
    model = dead[LINK_RULE].eq("model") & (dead[MATCH_PROBABILITY] >= params.strong_link_probability)
    villages = roster[[PERSON_ID, S.VILLAGE, S.TOWNSHIP_CODE]].dropna().drop_duplicates()
    local = dead[dead[LINK_RULE].eq("model") & same_name & dead[S.ADDRESS].notna()]
    local = (
        local[[PERSON_ID, S.ADDRESS, S.TOWNSHIP_CODE]]
        .reset_index()
        .merge(villages, on=[PERSON_ID, S.TOWNSHIP_CODE])
    )
    in_village = [len(v) >= 2 and v in a for v, a in zip(local[S.VILLAGE], local[S.ADDRESS], strict=True)]
    basis[dead.index.isin(local.loc[in_village, "index"])] = "姓名相同(或同音)且户籍地址与救助名册同村(社区)"
    basis[model & same_name] = f"模型关联概率不低于{params.strong_link_probability:g}且姓名相同(或同音)"
    basis[dead.index.isin(prefix["index"]) & same_name] = (
        "身份证号前15位一致(后3位被表格软件截为000)且姓名相同(或同音)"
    )
    basis[dead[LINK_RULE].eq("id") & dead[S.ID_STATUS].isin([s.value for s in S.USABLE_ID])] = (
        "身份证号完全一致"
    )
    return basis
