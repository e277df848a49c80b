"""What each night does with the cases: a table in, a table out (no database here).

``update_cases`` takes every case, tonight's warnings and tonight's facts about the people with
cases, and returns the new case table and the warning ids to send:

- a warning with no case opens one (新预警); raised again while its case is open, it continues the
  case (same id, first date kept);
- a case answered with a final answer is held (not sent) for ``days.suppress`` days unless one of
  the rule's fingerprint facts changed materially since the answer; then it is sent again with a
  note saying what changed; after the hold it is sent again with the last answer quoted;
- the answer 已死亡或迁出 holds every rule for that person until a newer record of them arrives;
- an open case whose warning is not raised tonight, by a rule that ran over its county, closes
  as 条件已消失 with tonight's facts as evidence;
- a done answer (符合，已纳入救助) is checked against the extracts: the rule's ``verified_when``
  holding makes it 已核实纳入; not within ``days.verify_within`` days, 纳入未见于名册;
- a done answer with a revisit becomes 待回访 ``days.revisit_after`` days after its date;
- a case published and not answered within ``days.feedback_deadline`` days becomes 超期.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

import pandas as pd

from pipeline.cases.config import (
    CLOSED,
    NEW,
    NOT_SEEN,
    OVERDUE,
    PENDING,
    REVISIT_DUE,
    SENT,
    VERIFIED,
    CaseRules,
)
from pipeline.cases.store import COLUMNS, as_date, as_frame, missing, records
from pipeline.eligibility.facts import FACTS
from pipeline.eligibility.rules import Rule
from pipeline.eligibility.warnings import fmt_value

VANISHED, PERSON_HELD, ANSWER = "vanished", "person_held", "answer"
#: What tonight's warnings bring to their case.
CARRIED = ("rule", "person_id", "id_number", "name", "county_code", "township_code", "key_facts")
COUNTS = (
    "opened",
    "continued",
    "reraised",
    "suppressed",
    "person_held",
    "closed_vanished",
    "verified",
    "not_seen",
    "revisit_due",
    "overdue",
    "sent",
)


@dataclass
class NightCases:
    after: pd.DataFrame  # every case, updated
    send: list[str]  # tonight's warning ids to list in the township workbooks
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))


def _days_past(day: date, since: date | None, days: int) -> bool:
    """Whether ``day`` is more than ``days`` days after ``since`` (never, without a ``since``)."""
    return since is not None and day > since + timedelta(days=days)


def _shown(v: Any) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        v = float(v)  # thousands separators, as the warnings quote amounts
    return fmt_value(v) or "无"


def material_changes(rule: Rule, before: str | None, now: str | None) -> list[str]:
    """The fingerprint facts that changed materially between two ``key_facts`` JSON texts, in words.

    >>> from pipeline.eligibility.rules import Material
    >>> r = Rule("R05", "", "person", "", None, (), (), "", True, (),
    ...          fingerprint=(Material("medical_out_of_pocket", "grows", 0.3),))
    >>> material_changes(r, '{"medical_out_of_pocket": 20000}', '{"medical_out_of_pocket": 26500}')
    ['近一年住院个人自付(元) 20,000→26,500']
    >>> material_changes(r, '{"medical_out_of_pocket": 20000}', '{"medical_out_of_pocket": 25000}')
    []
    """
    old = json.loads(before or "{}")
    new = json.loads(now or "{}")
    out = []
    for m in rule.fingerprint:
        o, n = old.get(m.fact), new.get(m.fact)
        if n is None:
            continue  # unknown tonight is never a change
        if m.change == "changed":
            hit = o != n
        elif m.change == "rises":
            if m.order:
                hit = (m.order.index(n) if n in m.order else -1) > (m.order.index(o) if o in m.order else -1)
            else:
                hit = o is None or float(n) > float(o)
        else:  # grows
            hit = float(n) > 0 if o is None or float(o) <= 0 else float(n) >= float(o) * (1 + m.by)
        if hit:
            out.append(f"{FACTS[m.fact].label} {_shown(o)}→{_shown(n)}")
    return out


def facts_text(rule: Rule, person_facts: Mapping[str, Any] | None) -> str:
    """The rule's quoted facts for one person tonight, as the 条件已消失 evidence."""
    if person_facts is None:
        return "本次各部门数据中已无此人的记录"
    parts = [f"{FACTS[f].label} {_shown(person_facts.get(f))}" for f in rule.facts]
    return ";".join(parts) if parts else "本次比对预警条件已不成立"


def update_cases(
    before: pd.DataFrame,
    tonight: pd.DataFrame,
    facts: pd.DataFrame,
    rules: Mapping[str, Rule],
    ran: Collection[str],
    counties: Collection[str],
    cr: CaseRules,
    run_date: date,
) -> NightCases:
    """The case table after tonight (see the module's docstring). ``facts``: indexed by person_id,
    the case facts of ``Rule.case_facts`` (people missing from it have no record tonight);
    ``ran``: the rules that ran; ``counties``: the run's counties (empty: all)."""
    d = run_date
    days = cr.days
    result = NightCases(after=before, send=[])
    n = result.counts
    cases: dict[str, dict[str, Any]] = {r["warning_id"]: r for r in records(before)}
    person_facts: dict[str, dict[str, Any]] = {}
    wanted = set(before["person_id"]) | set(tonight["person_id"])
    if len(facts):
        sub = facts[facts.index.isin(wanted)]
        person_facts = {str(k): cast(dict[str, Any], v) for k, v in sub.to_dict("index").items()}

    # People held by 已死亡或迁出: until a record of them newer than the answer arrives.
    held: set[str] = set()
    for c in cases.values():
        if not c.get("hold_person"):
            continue
        latest = as_date((person_facts.get(c["person_id"]) or {}).get("latest_record_date"))
        answered = as_date(c.get("answer_date"))
        if latest is not None and answered is not None and latest > answered:
            c["hold_person"] = False
            c["note"] = f"{latest.isoformat()} 有此人的新记录,解除“{c.get('answer')}”的暂停"
        else:
            held.add(c["person_id"])

    def reopen(c: dict[str, Any], note: str) -> None:
        if not missing(c.get("answer")):
            c["previous_answer"], c["previous_answer_date"] = c["answer"], c["answer_date"]
        for k in ("answer", "answer_date", "answer_note", "answer_by", "suppressed_until"):
            c[k] = None
        for k in ("closed_reason", "closed_on", "verification", "verified_on", "sent_on", "facts_at_answer"):
            c[k] = None
        c["status"], c["note"] = NEW, note

    def hold_for_person(c: dict[str, Any]) -> None:
        if c["status"] in cr.send or c.get("closed_reason") != PERSON_HELD:
            c["status"], c["closed_reason"], c["closed_on"] = CLOSED, PERSON_HELD, d
            c["note"] = "此人已反馈为“已死亡或迁出”,有新记录前暂不下发"
        n["person_held"] += 1

    for w in records(tonight[list(CARRIED) + ["warning_id"]]):
        wid = w["warning_id"]
        found = cases.get(wid)
        if found is None:
            c = cast(dict[str, Any], dict.fromkeys(COLUMNS))
            c.update(warning_id=wid, status=NEW, first_seen=d, last_seen=d, hold_person=False)
            c.update({k: w[k] for k in CARRIED})
            cases[wid] = c
            if w["person_id"] in held:
                hold_for_person(c)
            else:
                n["opened"] += 1
            continue
        c = found
        c.update({k: w[k] for k in CARRIED if not missing(w[k]) or k == "township_code"})
        last = as_date(c.get("last_seen"))
        c["last_seen"] = d if last is None or last < d else last
        first = as_date(c.get("first_seen"))
        c["first_seen"] = d if first is None or first > d else first
        if w["person_id"] in held:
            hold_for_person(c)
        elif c["status"] in cr.send:
            n["continued"] += 1
        elif c.get("closed_reason") in (VANISHED, PERSON_HELD):
            reopen(c, "预警条件再次出现")
            n["reraised"] += 1
        else:
            until = as_date(c.get("suppressed_until"))
            said = f"{c.get('answer') or ''}({_shown(as_date(c.get('answer_date')))})"
            if until is not None and d < until:
                changed = material_changes(rules[c["rule"]], c.get("facts_at_answer"), w["key_facts"])
                if changed:
                    reopen(c, f"上次核查结果{said}后情况有变化:" + ";".join(changed))
                    n["reraised"] += 1
                else:
                    n["suppressed"] += 1
            else:
                reopen(c, f"上次核查结果{said},至今仍符合预警条件,请再次核实")
                n["reraised"] += 1

    # Whether each done answer shows in tonight's extracts: one evaluation per rule, over columns.
    verified: dict[str, bool] = {}
    checking = [c for c in cases.values() if c.get("verification") in (PENDING, NOT_SEEN)]
    for rid, group in pd.DataFrame(checking, columns=COLUMNS).groupby("rule"):
        rule = rules.get(str(rid))
        if rule is None or rule.verified_when is None or not len(facts):
            continue
        holds = rule.verified_when.evaluate(facts.reindex(group["person_id"]), {})
        verified.update(zip(group["warning_id"], holds.to_numpy().tolist(), strict=True))

    scope = set(counties)
    for c in cases.values():
        rule = rules.get(c["rule"])
        in_scope = c["rule"] in ran and (not scope or c.get("county_code") in scope)
        last = as_date(c.get("last_seen"))
        if rule is not None and in_scope and c["status"] in cr.send and last is not None and last < d:
            c["status"], c["closed_reason"], c["closed_on"] = CLOSED, VANISHED, d
            c["note"] = "条件已消失:" + facts_text(rule, person_facts.get(c["person_id"]))
            n["closed_vanished"] += 1
        answered = as_date(c.get("answer_date"))
        if in_scope and c.get("verification") in (PENDING, NOT_SEEN):
            if verified.get(c["warning_id"], False):
                c["verification"], c["verified_on"] = VERIFIED, d
                n["verified"] += 1
            elif c["verification"] == PENDING and _days_past(d, answered, days["verify_within"]):
                c["verification"] = NOT_SEEN
                n["not_seen"] += 1
        if c["status"] == CLOSED and c.get("closed_reason") == ANSWER and rule is not None:
            a = cr.answer(rule.answers, c.get("answer") or "")
            if a is not None and a.revisit and _days_past(d, answered, days["revisit_after"] - 1):
                c["status"] = REVISIT_DUE
                n["revisit_due"] += 1
        if c["status"] == SENT and _days_past(d, as_date(c.get("sent_on")), days["feedback_deadline"]):
            c["status"] = OVERDUE
            n["overdue"] += 1

    result.after = as_frame(list(cases.values()))
    result.send = [wid for wid in tonight["warning_id"] if cases[wid]["status"] in cr.send]
    n["sent"] = len(result.send)
    return result


def mark_published(before: pd.DataFrame, sent: Collection[str], run_date: date) -> pd.DataFrame:
    """The cases after tonight's workbooks are published: 新预警 → 已下发, dates of publication."""
    after = before.copy()
    hit = after["warning_id"].isin(set(sent))
    after.loc[hit & after["status"].eq(NEW), "status"] = SENT
    for col in ("sent_on", "first_published"):
        after.loc[hit & after[col].isna(), col] = run_date
    after.loc[hit, "published_on"] = run_date
    return after


__all__ = ["NightCases", "mark_published", "material_changes", "update_cases"]
