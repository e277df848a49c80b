"""Warnings: one row per rule and person, with the evidence a township officer can check.

The evidence names every record the warning rests on (file and spreadsheet row), quotes its
values, says how the record was linked to the person and with what probability, and quotes the
computed facts the rule used. ``evidence_records`` keeps the same records as JSON for machines.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import schema as S
from pipeline.eligibility.facts import (
    DERIVED_LABELS,
    FACTS,
    HARDSHIP,
    KEYS,
    LINK_EVIDENCE,
    LINK_RULE,
    MATCH_PROBABILITY,
    FactsResult,
)
from pipeline.eligibility.rules import EvidenceSpec, Rule, RuleSet
from pipeline.households import HOUSEHOLD_KEY, PERSON_ID
from pipeline.match.compare import ELSEWHERE, PLAIN_WORDS
from pipeline.normalize.common import member, mode_by
from pipeline.normalize.places import Gazetteer, village_in_address
from pipeline.params import Params

MAX_LINES = 6  # records quoted per rule evidence item; the rest are counted

#: Arrow schema of data/warnings.parquet.
WARNING_SCHEMA = pa.schema(
    [
        ("warning_id", pa.string()),
        ("rule", pa.string()),
        ("rule_name", pa.string()),
        ("person_id", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("sex", pa.string()),
        ("age", pa.int32()),
        ("county_code", pa.string()),
        ("county", pa.string()),
        ("township_code", pa.string()),
        ("township", pa.string()),
        ("village", pa.string()),
        ("address", pa.string()),  # where to find the person: the most recent address on record
        ("phone", pa.string()),  # the most recent phone number on record
        ("hospital", pa.string()),  # the most recent hospital stay's hospital (people with no address)
        ("household_key", pa.string()),
        ("evidence", pa.string()),
        ("evidence_records", pa.string()),
        ("suggestion", pa.string()),
        ("match_confidence", pa.float64()),
        ("amount", pa.float64()),  # the money the warning is about (元): the rule's `amount` fact
        ("key_facts", pa.string()),  # JSON: the rule's fingerprint facts (a held case's material change)
        ("economic_hint", pa.string()),  # 核对提示: the household's vehicles and real estate, in words
        ("run_date", pa.date32()),
    ]
)

_SOURCE_LABELS = {
    "monitoring": "防返贫监测",
    "disability": "残疾人信息",
    "assistance": "低保特困名册",
    "subsidy": "两项补贴发放",
    "medical": "医保住院结算",
    "deaths": "殡葬火化信息",
    "students": "学生学籍",
    "hotline": "12345热线",
    "reports": "协理员上报",
    "vehicles": "车辆登记",
    "property": "不动产登记",
}
_LINKS = {"id": "身份证号一致", "model": "模型关联", "none": "仅此一条"}


#: Record dates, most telling first: how recent a record's address or phone number is.
_EVENT_DATES = (S.DISCHARGE_DATE, S.ADMIT_DATE, S.PAY_MONTH, S.DEATH_DATE)


def _most_recent(r: pd.DataFrame, col: str) -> tuple[pd.Series, pd.Series]:
    """``col``'s most recent value per person and per household: from the record with the latest
    event date (a stay, a payment, a death), records without a date after all dated ones."""
    have = r[r[col].notna()]
    if have.empty:
        empty = pd.Series(dtype="object")
        return empty, empty
    when = pd.Series(pd.NaT, index=have.index, dtype="datetime64[s]")
    for c in _EVENT_DATES:
        if c in have.columns:
            when = when.fillna(pd.to_datetime(have[c]).astype("datetime64[s]"))
    ordered = have.assign(_when=when).sort_values("_when", ascending=False, na_position="last", kind="stable")
    own = ordered.drop_duplicates(PERSON_ID).set_index(PERSON_ID)[col]
    household = ordered.drop_duplicates(HOUSEHOLD_KEY).set_index(HOUSEHOLD_KEY)[col]
    return own, household


def warning_id(rule: str, person_id: str) -> str:
    """Stable across nights: the same rule and person give the same id (person ids are stable)."""
    return f"{rule}-{person_id}"


def fmt_value(v: Any) -> str | None:
    """A fact or field value as a warning quotes it (是/否, dates, 1,234.5); None for missing."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return "是" if v else "否"
    if isinstance(v, pd.Timestamp | datetime):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float | np.floating):
        return f"{v:,.2f}" if v != int(v) else f"{int(v):,}"
    return str(v)


_PIECE = re.compile(r"([^;()]+)\(([+-][\d.]+)\)")


def plain_link(why: str, probability: float) -> str:
    """A model link in plain words: what agrees, what does not, and the verdict.

    >>> plain_link("姓名一致(+9.7); 身份证号一位之差(+10.7); 同乡镇(+6.8)", 1.0)
    '姓名相同、身份证号仅一位不同、同乡镇,系统判定为同一人'
    >>> plain_link("姓名同音(+4.1); 年龄相符(+5.3); 县区不同(-3.0)", 0.93)
    '姓名同音、年龄相符,但县区不同,系统判定为同一人(可信度93%)'
    >>> plain_link("姓名一致(+9.7); 电话不同〔另一条记录〕(-2.0); 同村(+9.3)", 0.95)
    '姓名相同、同村(社区),但电话不同(据本人另一条记录),系统判定为同一人(可信度95%)'
    """
    agree: list[str] = []
    differ: list[str] = []
    for label, weight in _PIECE.findall(why):
        label = label.strip()
        other = label.endswith(ELSEWHERE)
        label = label.removesuffix(ELSEWHERE)
        words = PLAIN_WORDS.get(label, label) + ("(据本人另一条记录)" if other else "")
        (agree if float(weight) >= 0 else differ).append(words)
    text = "、".join(agree)
    if differ:
        text += (",但" if text else "") + "、".join(differ)
    sure = "" if probability != probability or probability >= 0.995 else f"(可信度{probability:.0%})"
    return f"{text},系统判定为同一人{sure}" if text else f"系统判定为同一人{sure}"


def _lines(recs: pd.DataFrame, spec: EvidenceSpec) -> pd.Series:
    """One Chinese line per cited record: source, file and row, quoted values, how it was linked."""
    head = (
        "【"
        + _SOURCE_LABELS.get(spec.source, spec.source)
        + "】"
        + recs[S.FILE]
        + " 第"
        + recs[S.ROW].astype(str)
        + "行"
    )
    # Column by column (not row by row): "label value" pieces joined with commas, blanks skipped.
    body = pd.Series("", index=recs.index, dtype="object")
    for f in spec.fields:
        label = S.LABELS.get(f) or DERIVED_LABELS.get(f, f)
        # Each distinct value formatted once (dates, grades and places repeat down a column).
        shown = _formatted(recs[f])
        has = shown.notna()
        piece = (label + " " + shown.fillna("")).where(has, None)
        body = body.where(~has, body + np.where(body.eq(""), "", ",") + piece.fillna(""))
    why = recs[LINK_EVIDENCE].fillna("").astype(str)
    model = recs[LINK_RULE].eq("model") & why.ne("")
    plain = [
        plain_link(w, float(p)) if m else ""
        for w, p, m in zip(why, recs[MATCH_PROBABILITY], model, strict=True)
    ]
    other = recs[LINK_RULE].map(_LINKS).fillna("") + recs[MATCH_PROBABILITY].map(
        lambda p: "" if p != p or p >= 1 else f",可信度{p:.0%}"
    )
    link = np.where(model, plain, other)
    how = np.where(recs["scope"].eq("household"), "", "(关联:" + link + ")")
    return head + ":" + body + how


def row_list(rows: list[int]) -> str:
    """Spreadsheet rows as people write them: runs of three or more as a range.

    >>> row_list([2516, 2517, 2518, 2519, 2530, 2531])
    '2516–2519、2530、2531'
    """
    out: list[str] = []
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        if j - i >= 2:
            out.append(f"{rows[i]}–{rows[j]}")
        else:
            out += [str(x) for x in rows[i : j + 1]]
        i = j + 1
    return "、".join(out)


def _merge_household_lines(m: pd.DataFrame, spec: EvidenceSpec) -> pd.DataFrame:
    """One line for a household's rows of one file that differ only in the member's name.

    A monitored household of six is six rows with the same 户编号, risk and income; quoted one by one
    they fill a printed page per warning. Merged, the line still names every row and every member
    (第25–27行:…姓名 张三、李四、王五…); the rows after the first keep no line of their own but
    stay cited in ``evidence_records``.
    """
    names = [f for f in spec.fields if S.FIELD_KINDS.get(f) == S.Kind.NAME]
    if not names or m.empty:
        return m
    rest = [f for f in spec.fields if f not in names]
    # Column-wise; each value formatted once per distinct value (a row-wise join took 3.6 s at 1M).
    key = m["warning_id"].astype(str) + "\x1f" + m[S.FILE].astype(str)
    for f in rest:
        key = key + "\x1f" + _formatted(m[f]).fillna("")
    first = ~key.duplicated()
    merged = m[first].copy()
    # Most keys have one row: their line is the row's own; only the others are grouped (a group
    # costs a Python call, about 20 us each, ~100,000 of them at 1M records).
    several = key.duplicated(keep=False).to_numpy()
    alone = first.to_numpy() & ~several
    lone = alone[first.to_numpy()]  # the same, over the merged lines
    grouped = m[several].groupby(key[several], sort=False)
    rows = grouped[S.ROW].agg(lambda r: row_list([int(x) for x in r]))
    merged_rows = key[first].map(rows).to_numpy(dtype=object)
    merged_rows[lone] = [row_list([int(x)]) for x in m.loc[alone, S.ROW]]
    merged[S.ROW] = merged_rows
    for f in names:
        joined = grouped[f].agg(
            lambda v: "、".join(dict.fromkeys(str(x) for x in v if fmt_value(x) is not None))
        )
        mine = key[first].map(joined.where(joined.ne(""), None)).to_numpy(dtype=object)
        mine[lone] = [str(x) if fmt_value(x) is not None and str(x) != "" else None for x in m.loc[alone, f]]
        merged[f] = mine
    m = m.copy()
    m["line"] = None
    m.loc[first, "line"] = _lines(merged, spec).to_numpy()
    return m


def _cited(
    rule: Rule, hits: pd.DataFrame, fr: FactsResult, rows_of: dict[str, np.ndarray], params: Params
) -> pd.DataFrame:
    """The records each warning of ``rule`` cites, with the text line for each. ``rows_of``: each
    source's record positions in ``fr.records``, found once for every rule's evidence."""
    d = pd.Timestamp(params.run_date)
    start = d - pd.Timedelta(days=params.lookback_days)
    out = []
    for order, spec in enumerate(rule.evidence):
        if spec.source not in rows_of:
            continue
        # Only the columns the filters, the joins and the lines read: the records are wide, and
        # taking every column of a large source's rows per evidence cost seconds at 1M records.
        wanted = [PERSON_ID, HOUSEHOLD_KEY, *KEYS, MATCH_PROBABILITY, LINK_RULE, LINK_EVIDENCE, HARDSHIP]
        wanted += [S.DEATH_DATE, *spec.fields, *([spec.in_window] if spec.in_window else [])]
        cols = [c for c in dict.fromkeys(wanted) if c in fr.records.columns]
        recs = fr.records[cols].iloc[rows_of[spec.source]]  # copy-on-write: no copy of the columns
        if spec.in_window:
            when = pd.to_datetime(recs[spec.in_window])
            recs = recs[(when > start) & (when <= d)]
        if spec.death_on_or_before_run:
            recs = recs[pd.to_datetime(recs[S.DEATH_DATE]) <= d]
        if spec.about_hardship:
            recs = recs[recs[HARDSHIP].fillna("").ne("")]
        if spec.scope == "person":
            m = hits.merge(recs, on=PERSON_ID)
        elif spec.scope == "household":
            m = hits.merge(recs.drop(columns=[PERSON_ID]), on=HOUSEHOLD_KEY)
        else:
            g = fr.guardians[[PERSON_ID, "guardian"]].drop_duplicates()
            m = hits.merge(g, on=PERSON_ID).merge(
                recs.drop(columns=[HOUSEHOLD_KEY]).rename(columns={PERSON_ID: "guardian"}), on="guardian"
            )
        if m.empty:
            continue
        m = m.sort_values(["warning_id", S.FILE, S.ROW])
        m["scope"] = spec.scope
        m["order"] = order
        if spec.scope == "household":
            m = _merge_household_lines(m, spec)
        else:
            m["line"] = _lines(m, spec)
        # k numbers the lines shown (a merged household line counts once)
        m["k"] = m["line"].notna().groupby(m["warning_id"]).cumsum() - 1
        out.append(m[["warning_id", "order", "k", "scope", "line", *KEYS, MATCH_PROBABILITY]])
    if not out:
        return pd.DataFrame(columns=["warning_id", "order", "k", "scope", "line", *KEYS, MATCH_PROBABILITY])
    return pd.concat(out, ignore_index=True)


def _plain(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return v.isoformat()
    return v.item() if hasattr(v, "item") else v


def key_facts(rule: Rule, facts: pd.DataFrame) -> list[str]:
    """Per row of ``facts`` (the warned people), the rule's fingerprint facts as sorted JSON."""
    names = sorted({m.fact for m in rule.fingerprint})
    cols = [facts[n].tolist() for n in names]
    return (
        [
            json.dumps(
                {n: _plain(v) for n, v in zip(names, vals, strict=True)}, ensure_ascii=False, sort_keys=True
            )
            for vals in zip(*cols, strict=True)
        ]
        if names
        else ["{}"] * len(facts)
    )


def join_by(keys: pd.Series, values: pd.Series, sep: str) -> pd.Series:
    """``values.groupby(keys).agg(sep.join)``: each key's values joined in their order, by key
    (missing keys left out), cutting one sorted list at the keys' boundaries instead of a pandas
    call per key (tens of thousands of warnings a night, each with its lines and its rows).

    >>> join_by(pd.Series(["b", "a", "b", None]), pd.Series(["1", "2", "3", "4"]), ",").to_dict()
    {'a': '2', 'b': '1,3'}
    """
    codes, uniques = pd.factorize(keys, sort=True)
    present = np.flatnonzero(codes >= 0)
    order = present[np.argsort(codes[present], kind="stable")]
    c = codes[order]
    text = values.to_numpy(dtype=object)[order].tolist()
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if len(c) else np.zeros(0, dtype=np.intp)
    ends = np.r_[starts[1:], len(c)].astype(np.intp)
    joined = [sep.join(text[s:e]) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    return pd.Series(joined, index=pd.Index(np.asarray(uniques, dtype=object)[c[starts]]), dtype=object)


def _formatted(values: pd.Series) -> pd.Series:
    """``fmt_value`` of each value, computed once per distinct value (values repeat: categories,
    grades, dates); missing where it gives None. A column holds one kind of value (True and 1.0
    would share a key)."""
    as_object = values.astype(object)
    table = {v: fmt_value(v) for v in pd.unique(as_object.to_numpy())}
    return as_object.map(table).astype(object)


def _fact_lines(rule: Rule, hits: pd.DataFrame, facts: pd.DataFrame) -> pd.Series:
    if not rule.facts:
        return pd.Series("", index=hits.index)
    sub = facts.loc[hits[PERSON_ID], list(rule.facts)].reset_index(drop=True)
    cols = [FACTS[f].label + " " + _formatted(sub[f]).fillna("未知") for f in rule.facts]
    text = cols[0].str.cat(pd.concat(cols[1:], axis=1), sep=";") if len(cols) > 1 else cols[0]
    return pd.Series(("【判断】" + text).to_numpy(), index=hits.index)


def warning_confidence(cited: pd.DataFrame) -> pd.Series:
    """Per warning: the probability that every record it cites as the person's own is the person's,
    the product of their link probabilities, each record once (1 for a record joined by its ID;
    a record without a link, the person's only one, counts for nothing). Two uncertain links make
    a warning less sure than either alone; the lowest link probability would hide that.

    >>> cited = pd.DataFrame({"warning_id": ["W1", "W1", "W1", "W2", "W3"],
    ...     "scope": ["person", "person", "household", "person", "person"],
    ...     "source": ["medical", "medical", "assistance", "disability", "medical"],
    ...     "file": ["a", "a", "b", "c", "a"], "row": [2, 3, 9, 4, 5],
    ...     "match_probability": [0.9, 0.8, 0.5, 1.0, float("nan")]})
    >>> warning_confidence(pd.concat([cited, cited.iloc[:1]])).round(3).to_dict()
    {'W1': 0.72, 'W2': 1.0, 'W3': nan}
    """
    own = cited[cited["scope"].eq("person")].drop_duplicates(["warning_id", *KEYS])
    return own.groupby("warning_id")[MATCH_PROBABILITY].prod(min_count=1)


def expected_wrong(warnings: pd.DataFrame) -> dict[str, float]:
    """Per rule: how many of tonight's warnings probably stand on a record linked to the wrong
    person, the sum of 1 - match_confidence (a warning whose records all joined by ID, or that
    cites none of the person's own, counts 0). The rule-level view of the match stage's expected
    false links. It cannot see a warning raised because a link was missed (a 低保 row left alone
    makes its holder look unassisted), nor one missed for that reason.

    >>> expected_wrong(pd.DataFrame({"rule": ["R05", "R05", "R07", "R08"],
    ...     "match_confidence": [0.9, 0.72, 1.0, float("nan")]}))
    {'R05': 0.38, 'R07': 0.0, 'R08': 0.0}
    """
    wrong = 1.0 - warnings["match_confidence"].astype("float64").fillna(1.0)
    sums = wrong.groupby(warnings["rule"].to_numpy(), sort=True).sum()
    return {str(k): round(float(v), 2) for k, v in sums.items()}


def build_warnings(
    hits: pd.DataFrame,
    rules: RuleSet,
    fr: FactsResult,
    persons: pd.DataFrame,
    households: pd.DataFrame,
    params: Params,
    gazetteer: Gazetteer,
) -> pd.DataFrame:
    """The warnings frame (WARNING_SCHEMA) for the rule hits of ``evaluate``."""
    by_id = {r.id: r for r in rules.rules}
    hh = households.set_index(PERSON_ID)
    who = persons.set_index(PERSON_ID)
    frames = []
    groups = fr.records.groupby(S.SOURCE, sort=False, observed=True).indices
    rows_of = {str(k): np.asarray(v, dtype=np.int64) for k, v in groups.items()}
    for rid, h in hits.groupby("rule", sort=False):
        rule = by_id[str(rid)]
        h = h.reset_index(drop=True)
        h["warning_id"] = [warning_id(rule.id, p) for p in h[PERSON_ID]]
        h[HOUSEHOLD_KEY] = h[PERSON_ID].map(hh[HOUSEHOLD_KEY])
        cited = _cited(rule, h, fr, rows_of, params)
        listed = cited[cited["line"].notna()]
        shown = listed[listed["k"] < MAX_LINES]
        more = listed.groupby(["warning_id", "order"]).size().sub(MAX_LINES).clip(lower=0)
        more = more[more > 0]
        extra = pd.DataFrame(
            {
                "warning_id": more.index.get_level_values(0),
                "order": more.index.get_level_values(1),
                "k": MAX_LINES,
                "line": [f"……另有 {n} 条记录" for n in more.to_numpy()],
            }
        )
        lines = pd.concat([shown[["warning_id", "order", "k", "line"]], extra]).sort_values(
            ["warning_id", "order", "k"]
        )
        text = join_by(lines["warning_id"], lines["line"], "\n")
        facts_line = _fact_lines(rule, h, fr.facts)
        body = h["warning_id"].map(text).fillna("")
        h["evidence"] = (body + np.where(body.eq("") | facts_line.eq(""), "", "\n") + facts_line).to_numpy()
        ref = (
            '{"source": "'
            + cited[S.SOURCE]
            + '", "file": '
            + cited[S.FILE].map({f: json.dumps(f, ensure_ascii=False) for f in cited[S.FILE].unique()})
            + ', "row": '
            + cited[S.ROW].astype(str)
            + "}"
        )
        refs = join_by(cited["warning_id"], ref, ", ")
        h["evidence_records"] = ("[" + h["warning_id"].map(refs).fillna("") + "]").to_numpy()
        h["match_confidence"] = h["warning_id"].map(warning_confidence(cited))
        h["rule_name"] = rule.name
        h["suggestion"] = rule.suggestion
        h["key_facts"] = key_facts(rule, fr.facts.loc[h[PERSON_ID]])
        h["amount"] = (
            fr.facts.loc[h[PERSON_ID], rule.amount].astype("float64").to_numpy() if rule.amount else np.nan
        )
        frames.append(h)
    if not frames:
        return pa.Table.from_pylist([], schema=WARNING_SCHEMA).to_pandas()
    w = pd.concat(frames, ignore_index=True)
    w[S.ID_NUMBER] = w[PERSON_ID].map(who[S.ID_NUMBER])
    w[S.NAME] = w[PERSON_ID].map(who[S.NAME])
    w[S.SEX] = w[PERSON_ID].map(who[S.SEX])
    w["age"] = w[PERSON_ID].map(fr.facts["age"])
    w["economic_hint"] = w[PERSON_ID].map(fr.facts["economic_hint"]).replace("", None)
    # Place: the household's (the township that visits the household), else the person's own.
    w[S.TOWNSHIP_CODE] = w[PERSON_ID].map(hh[S.TOWNSHIP_CODE]).fillna(w[PERSON_ID].map(who[S.TOWNSHIP_CODE]))
    w[S.COUNTY_CODE] = (
        w[PERSON_ID]
        .map(hh[S.COUNTY_CODE])
        .fillna(w[PERSON_ID].map(who[S.COUNTY_CODE]))
        .fillna(w[S.TOWNSHIP_CODE].str.slice(0, 6))
    )
    towns = gazetteer.by_code
    counties = {t.county_code: t.county for t in gazetteer.townships}
    w["township"] = w[S.TOWNSHIP_CODE].map(lambda c: towns[c].name if c in towns else None)
    w["county"] = w[S.COUNTY_CODE].map(counties)
    r = fr.records
    # Only the records of warned people and their households matter (a few percent of the city):
    # every record of each of them, in the records' order, so their commonest values are the same.
    mine = member(r[PERSON_ID], w[PERSON_ID].unique()) | member(r[HOUSEHOLD_KEY], w[HOUSEHOLD_KEY].unique())
    near = r[mine]
    village_p = mode_by(near, PERSON_ID, S.VILLAGE)
    village_h = mode_by(near, HOUSEHOLD_KEY, S.VILLAGE)
    w[S.VILLAGE] = w[PERSON_ID].map(village_p).fillna(w[HOUSEHOLD_KEY].map(village_h))
    for col in (S.ADDRESS, S.PHONE, S.HOSPITAL):
        by_person, by_household = _most_recent(near, col)
        w[col] = w[PERSON_ID].map(by_person).fillna(w[HOUSEHOLD_KEY].map(by_household))
    # Where no record names the village, the address often does (民生街道新华社区1号).
    from_address = [
        village_in_address(a, t) if isinstance(a, str) else None
        for a, t in zip(w[S.ADDRESS], w["township"], strict=True)
    ]
    w[S.VILLAGE] = w[S.VILLAGE].fillna(pd.Series(from_address, index=w.index, dtype="object"))
    w["run_date"] = params.run_date
    w = w.sort_values(["county_code", "township_code", "rule", "warning_id"], na_position="last")
    table = pa.Table.from_pandas(w[WARNING_SCHEMA.names], schema=WARNING_SCHEMA, preserve_index=False)
    return table.to_pandas()
