"""What people see of the cases: tonight's list with each case's state, the revisits due, the funnel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipeline.cases.config import IN_PROGRESS, OVERDUE, REVISIT_DUE, VERIFIED, CaseRules
from pipeline.cases.store import as_date, missing, records
from pipeline.contracts import REVISITS
from pipeline.eligibility.rules import Rule

#: data/revisits.parquet: the contract's columns, then what the 待回访 sheet shows.
REVISIT_FIELDS = (*REVISITS.columns, "id_number", "name", "answer", "answer_date", "answer_note", "phone")
#: Columns the reports read from data/cases.parquet besides the warning's own.
CASE_STATUS, CASE_NOTE, FIRST_SEEN = "case_status", "case_note", "first_seen"


def case_note(c: Mapping[str, Any], cr: CaseRules) -> str:
    """The workbook's 核查记录 cell: the last answer, what changed, or how late the answer is."""
    parts = []
    if not missing(c.get("note")):
        parts.append(str(c["note"]))
    if c.get("status") == IN_PROGRESS and not missing(c.get("answer")):
        parts.append(f"上次反馈:{c['answer']}({as_date(c.get('answer_date'))})")
    if c.get("status") == OVERDUE and as_date(c.get("sent_on")) is not None:
        parts.append(f"{as_date(c['sent_on'])} 下发,超过{cr.days['feedback_deadline']}天未反馈")
    return "\n".join(parts)


def to_send(
    warnings: pd.DataFrame,
    after: pd.DataFrame,
    send: list[str],
    cr: CaseRules,
    township_names: Mapping[str, str],
) -> pd.DataFrame:
    """Tonight's warnings that go out, with their case's status (Chinese), first date and note.

    A warning with no township that its county has routed (应属乡镇) goes to that township.
    """
    cases = after.set_index("warning_id")
    out = warnings[warnings["warning_id"].isin(set(send))].copy()
    c = cases.loc[out["warning_id"]]
    out[CASE_STATUS] = c["status"].map(cr.label).to_numpy()
    out[FIRST_SEEN] = [as_date(v) for v in c["first_seen"]]
    out[CASE_NOTE] = [case_note(r, cr) for r in records(c)]
    routed = c["routed_township_code"].to_numpy()
    move = out["township_code"].isna().to_numpy() & pd.notna(routed)
    if move.any():
        out.loc[move, "township_code"] = routed[move]
        out.loc[move, "township"] = [township_names.get(str(t)) for t in routed[move]]
    return out


def revisits_due(after: pd.DataFrame, persons: pd.DataFrame, counties: tuple[str, ...]) -> pd.DataFrame:
    """Cases whose revisit is due, for the 待回访 sheet of their township's workbook."""
    due = after[after["status"].eq(REVISIT_DUE)].copy()
    if counties:
        due = due[due["county_code"].isin(counties)]
    due["township_code"] = township_of(due)
    phone = (
        persons.set_index("person_id")["phone"] if "phone" in persons.columns else pd.Series(dtype="object")
    )
    due["phone"] = due["person_id"].map(phone)
    return due[list(REVISIT_FIELDS)].astype("object").reset_index(drop=True)


#: The funnel's steps, in order (counts per place), then the days from publication to an answer.
STEPS = ("warned", "answered", "eligible", "done", "verified", "overdue")


def township_of(cases: pd.DataFrame) -> pd.Series:
    """The township a case goes to: the one its county routed it to (应属乡镇), else its own."""
    return cases["routed_township_code"].where(cases["routed_township_code"].notna(), cases["township_code"])


def funnel_cases(after: pd.DataFrame, rules: Mapping[str, Rule], cr: CaseRules) -> pd.DataFrame:
    """One row per case: county_code, township_code ("" when unknown), each step of ``STEPS`` as
    a flag (warned = ever published … verified by the extracts; overdue now), and ``days`` from
    publication to the first answer."""
    answer_of = {
        (rid, a.answer): a
        for rid, r in rules.items()
        if r.answers in cr.answer_sets
        for a in cr.answers(r.answers)
    }
    flags = [answer_of.get((r, a)) for r, a in zip(after["rule"], after["answer"], strict=True)]
    c = pd.DataFrame(
        {
            "county_code": after["county_code"].fillna(""),
            "township_code": township_of(after).fillna(""),
            "warned": after["first_published"].notna(),
            "answered": after["first_answered"].notna(),
            "eligible": [bool(f and f.eligible) for f in flags],
            "done": [bool(f and f.done) for f in flags],
            "verified": after["verification"].eq(VERIFIED),
            "overdue": after["status"].eq(OVERDUE),
        },
        index=after.index,
    )
    days = (pd.to_datetime(after["first_answered"]) - pd.to_datetime(after["first_published"])).dt.days
    c["days"] = days.where(c["answered"] & c["warned"])
    return c


def funnel(per_case: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """The funnel of ``funnel_cases`` per place ``by`` (say ["county_code"]; [] for the whole
    city): the cases at each step and the median days to an answer (of the cases, not of medians)."""
    keyed = per_case.assign(_all="") if not by else per_case
    g = keyed.groupby(list(by) or ["_all"])
    out = g[list(STEPS)].sum().astype("int64")
    out["median_days"] = g["days"].median()
    return out.reset_index().drop(columns=["_all"], errors="ignore")


def oldest_overdue(after: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """The overdue cases published longest ago (for the summary, with IDs masked there)."""
    o = after[after["status"].eq(OVERDUE)].copy()
    o["sent_on"] = pd.to_datetime(o["sent_on"])
    return o.sort_values(["sent_on", "warning_id"]).head(limit)


def open_counts(after: pd.DataFrame, cr: CaseRules) -> dict[str, int]:
    """Cases per status (Chinese labels), for the manifest and the summary."""
    return {cr.label(str(k)): int(v) for k, v in after["status"].value_counts().sort_index().items()}


__all__ = [
    "STEPS",
    "case_note",
    "funnel",
    "funnel_cases",
    "township_of",
    "oldest_overdue",
    "open_counts",
    "revisits_due",
    "to_send",
]
