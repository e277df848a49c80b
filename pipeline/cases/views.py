"""What people see of the cases: tonight's list with each case's state, the revisits due, the funnel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
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
    due["township_code"] = due["routed_township_code"].where(
        due["routed_township_code"].notna(), due["township_code"]
    )
    phone = (
        persons.set_index("person_id")["phone"] if "phone" in persons.columns else pd.Series(dtype="object")
    )
    due["phone"] = due["person_id"].map(phone)
    return due[list(REVISIT_FIELDS)].astype("object").reset_index(drop=True)


def funnel(after: pd.DataFrame, rules: Mapping[str, Rule], cr: CaseRules, run_date: date) -> pd.DataFrame:
    """Per county and township: warned (ever published) → answered → eligible → done → verified,
    overdue now, and the median days from publication to the first answer."""
    c = after.copy()
    if c.empty:
        return pd.DataFrame(
            columns=[
                "county_code",
                "township_code",
                "warned",
                "answered",
                "eligible",
                "done",
                "verified",
                "overdue",
                "median_days",
            ]
        )
    answer_of = {
        (rid, a.answer): a
        for rid, r in rules.items()
        for a in cr.answers(r.answers)
        if r.answers in cr.answer_sets
    }
    flags = [answer_of.get((r, a)) for r, a in zip(c["rule"], c["answer"], strict=True)]
    c["township_code"] = c["routed_township_code"].where(
        c["routed_township_code"].notna(), c["township_code"]
    )
    c["warned"] = c["first_published"].notna()
    c["answered"] = c["first_answered"].notna()
    c["eligible"] = [bool(f and f.eligible) for f in flags]
    c["done"] = [bool(f and f.done) for f in flags]
    c["verified"] = c["verification"].eq(VERIFIED)
    c["overdue"] = c["status"].eq(OVERDUE)
    pub = pd.to_datetime(c["first_published"])
    ans = pd.to_datetime(c["first_answered"])
    c["days"] = (ans - pub).dt.days.where(c["answered"] & c["warned"])
    keys = ["county_code", "township_code"]
    c[keys] = c[keys].fillna("")
    g = c.groupby(keys, dropna=False)
    out = g[["warned", "answered", "eligible", "done", "verified", "overdue"]].sum().astype("int64")
    out["median_days"] = g["days"].median()
    return out.reset_index()


def oldest_overdue(after: pd.DataFrame, limit: int = 10) -> pd.DataFrame:
    """The overdue cases published longest ago (for the summary, with IDs masked there)."""
    o = after[after["status"].eq(OVERDUE)].copy()
    o["sent_on"] = pd.to_datetime(o["sent_on"])
    return o.sort_values(["sent_on", "warning_id"]).head(limit)


def open_counts(after: pd.DataFrame, cr: CaseRules) -> dict[str, int]:
    """Cases per status (Chinese labels), for the manifest and the summary."""
    return {cr.label(str(k)): int(v) for k, v in after["status"].value_counts().sort_index().items()}


__all__ = ["case_note", "funnel", "oldest_overdue", "open_counts", "revisits_due", "to_send"]
