"""Eligibility rules as data (rules/eligibility.yaml): loaded and checked whole, then evaluated.

A rule names the facts of pipeline/eligibility/facts.py and the parameters of rules/params.yaml
in a condition (pipeline/conditions.py), says which records to show as evidence, and what the
township should do. Every problem in the file is reported at once, each naming the file and rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import schema as S
from pipeline.conditions import Condition, compile_condition, names
from pipeline.eligibility.facts import DERIVED_LABELS, FACTS
from pipeline.errors import ConfigError, read_yaml
from pipeline.params import SCALARS

SUBJECTS = ("person",)
SCOPES = ("person", "household", "guardian")
_ID = re.compile(r"^[A-Z]\d{2,3}$")
_RULE_KEYS = {
    "amount",
    "requires",
    "id",
    "name",
    "subject",
    "meaning",
    "when",
    "evidence",
    "facts",
    "suggestion",
    "exclude_deceased",
    "answers",
    "verified_when",
    "fingerprint",
    "unless",
    "channel",
}
#: Where a rule's warnings come from, for the summary's count by channel (key: Chinese name).
CHANNELS = {"extracts": "数据比对", "hotline": "热线诉求", "reports": "协理员上报"}
CHANGES = ("changed", "rises", "grows")


@dataclass(frozen=True)
class EvidenceSpec:
    """Records to cite: of ``source``, belonging to the person, the household or the guardian."""

    source: str
    scope: str
    fields: tuple[str, ...]
    in_window: str | None = None  # a date field: only records dated in the look-back window
    death_on_or_before_run: bool = False
    about_hardship: bool = False  # only requests and reports read as describing a hardship


@dataclass(frozen=True)
class Material:
    """A change in one key fact that makes a held case worth sending again (the rule's fingerprint).

    changed: any new known value; rises: a larger value (for text facts, later in ``order``);
    grows: at least ``by`` (a share) above the value when the case was answered.
    """

    fact: str
    change: str
    by: float = 0.0
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    subject: str
    meaning: str
    condition: Condition
    evidence: tuple[EvidenceSpec, ...]
    facts: tuple[str, ...]  # facts quoted in the evidence text
    suggestion: str
    exclude_deceased: bool  # R01-R06: never name a person with a death record on or before D
    requires: tuple[str, ...]  # sources that must have been read: the rule reasons about absences
    amount: str | None = None  # a fact giving the money the warning is about (元), for the summary
    answers: str = "assistance"  # the answer set of rules/cases.yaml (the 核查结果 dropdown)
    verified_when: Condition | None = None  # later extracts show a done answer took effect
    fingerprint: tuple[Material, ...] = ()  # key facts whose material change re-sends a held case
    #: A condition that keeps a person off this rule's list although ``condition`` holds (an economic
    #: check: a car, a second flat). None: nobody is excluded. Unknown never excludes.
    unless: Condition | None = None
    channel: str = "extracts"  # a key of CHANNELS

    def case_facts(self) -> list[str]:
        """The facts the case store needs for this rule: quoted, verification and fingerprint."""
        used = [*self.facts, *(m.fact for m in self.fingerprint)]
        if self.verified_when is not None:
            used += sorted(names(self.verified_when.tree)[0])
        return list(dict.fromkeys(used))


@dataclass(frozen=True)
class RuleSet:
    path: Path
    rules: tuple[Rule, ...]

    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def fields(self) -> list[str]:
        """The record fields the rules' evidence quotes."""
        out: list[str] = []
        for r in self.rules:
            for ev in r.evidence:
                out += [f for f in (*ev.fields, ev.in_window) if f and f not in out]
        return out

    def runnable(self, missing: set[str]) -> tuple[RuleSet, dict[str, list[str]]]:
        """The rules whose required sources were all read, and {rule id: missing sources} for the rest.

        A rule about an absence ("no subsidy payment") run without its source would name everyone.
        """
        skipped = {r.id: sorted(set(r.requires) & missing) for r in self.rules if set(r.requires) & missing}
        return RuleSet(self.path, tuple(r for r in self.rules if r.id not in skipped)), skipped

    def select(self, ids: list[str] | None) -> RuleSet:
        """Only the rules named (in file order); an unknown id is an error naming the file."""
        if not ids:
            return self
        unknown = sorted(set(ids) - set(self.ids()))
        if unknown:
            raise ConfigError(
                f"{self.path}: no rule {', '.join(unknown)} (rules are {', '.join(self.ids())})"
            )
        return RuleSet(self.path, tuple(r for r in self.rules if r.id in ids))


def load_rules(path: str | Path, source_keys: set[str]) -> RuleSet:
    """Read and check the whole rule file; one ConfigError lists every problem."""
    p = Path(path)
    doc = read_yaml(p, "rules")
    entries = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{p}: expected `rules:` with a list of rules")
    problems: list[str] = []
    rules: list[Rule] = []
    seen: set[str] = set()
    fields = set(S.RECORD_COLUMNS) | set(DERIVED_LABELS)
    for i, entry in enumerate(entries):
        e = entry
        where = f"{p}, rule {e.get('id', f'#{i + 1}') if isinstance(e, dict) else f'#{i + 1}'}"
        if not isinstance(e, dict):
            problems.append(f"{where}: a rule is a mapping of id, name, subject, when, evidence, suggestion")
            continue
        for k in sorted(set(e) - _RULE_KEYS):
            problems.append(f"{where}: unknown key `{k}`")
        rid = e.get("id")
        if not isinstance(rid, str) or not _ID.match(rid):
            problems.append(f"{where}: `id` must look like R01")
        elif rid in seen:
            problems.append(f"{where}: id {rid} used twice")
        else:
            seen.add(rid)
        for k in ("name", "meaning", "suggestion", "when"):
            if not isinstance(e.get(k), str) or not e[k].strip():
                problems.append(f"{where}: `{k}` must be non-empty text")
        subject = e.get("subject", "person")
        if subject not in SUBJECTS:
            problems.append(f"{where}: subject `{subject}` is not one of {', '.join(SUBJECTS)}")
        quoted = e.get("facts") or []
        for f in quoted:
            if f not in FACTS:
                problems.append(f"{where}: unknown fact '{f}' in `facts`")
        amount = e.get("amount")
        if amount is not None and amount not in FACTS:
            problems.append(f"{where}: unknown fact '{amount}' in `amount`")
        evidence: list[EvidenceSpec] = []
        for j, ev in enumerate(e.get("evidence") or []):
            w = f"{where}, evidence #{j + 1}"
            if not isinstance(ev, dict):
                problems.append(f"{w}: a mapping with source, scope, fields")
                continue
            if ev.get("source") not in source_keys:
                problems.append(f"{w}: unknown source `{ev.get('source')}`")
            if ev.get("scope", "person") not in SCOPES:
                problems.append(f"{w}: scope must be one of {', '.join(SCOPES)}")
            for fld in ev.get("fields") or []:
                if fld not in fields:
                    problems.append(f"{w}: unknown field `{fld}`")
            window = ev.get("in_window")
            if window is not None and window not in fields:
                problems.append(f"{w}: unknown field `{window}` in `in_window`")
            evidence.append(
                EvidenceSpec(
                    source=str(ev.get("source")),
                    scope=str(ev.get("scope", "person")),
                    fields=tuple(ev.get("fields") or ()),
                    in_window=window,
                    death_on_or_before_run=bool(ev.get("death_on_or_before_run", False)),
                    about_hardship=bool(ev.get("about_hardship", False)),
                )
            )
        requires = e.get("requires", sorted({ev.source for ev in evidence}))
        if not isinstance(requires, list):
            problems.append(f"{where}: `requires` must be a list of sources")
            requires = []
        for src in requires:
            if src not in source_keys:
                problems.append(f"{where}: unknown source `{src}` in `requires`")
        if not evidence:
            problems.append(f"{where}: `evidence` must list at least one source of records to cite")

        def compiled(key: str, entry: dict[str, Any] = e, where: str = where) -> Condition | None:
            """The condition under ``key`` (None when absent), its problems added to the list."""
            if entry.get(key) is None:
                return None
            try:
                return compile_condition(" ".join(str(entry[key]).split()), set(FACTS), set(SCALARS), where)
            except ConfigError as error:
                problems.append(str(error))
                return None

        # `when` is required (a non-empty text, checked above); the others are optional.
        condition = compiled("when") if isinstance(e.get("when"), str) and e["when"].strip() else None
        answers = e.get("answers", "assistance")
        if not isinstance(answers, str):
            problems.append(f"{where}: `answers` names an answer set of rules/cases.yaml")
        verified = compiled("verified_when")
        unless = compiled("unless")
        channel = e.get("channel", "extracts")
        if channel not in CHANNELS:
            problems.append(f"{where}: `channel` must be one of {', '.join(CHANNELS)}")
        fingerprint: list[Material] = []
        for j, m in enumerate(e.get("fingerprint") or []):
            w = f"{where}, fingerprint #{j + 1}"
            if not isinstance(m, dict) or m.get("fact") not in FACTS:
                problems.append(f"{w}: needs `fact`, a known fact")
                continue
            if m.get("change") not in CHANGES:
                problems.append(f"{w}: `change` must be one of {', '.join(CHANGES)}")
                continue
            by = m.get("by", 0)
            if m["change"] == "grows" and (not isinstance(by, int | float) or by <= 0):
                problems.append(f"{w}: `grows` needs `by`, a share above 0 (0.3 = 30%)")
                continue
            fingerprint.append(
                Material(str(m["fact"]), str(m["change"]), float(by), tuple(m.get("order") or ()))
            )
        if condition is None or problems:
            continue
        rules.append(
            Rule(
                id=str(rid),
                name=e["name"].strip(),
                subject=subject,
                meaning=" ".join(e["meaning"].split()),
                condition=condition,
                evidence=tuple(evidence),
                facts=tuple(quoted),
                suggestion=" ".join(e["suggestion"].split()),
                exclude_deceased=bool(e.get("exclude_deceased", True)),
                requires=tuple(requires),
                amount=str(amount) if amount is not None else None,
                answers=str(answers),
                verified_when=verified,
                fingerprint=tuple(fingerprint),
                unless=unless,
                channel=str(channel),
            )
        )
    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return RuleSet(p, tuple(rules))


def evaluate(rules: RuleSet, facts: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """(rule, person_id) for every rule that holds; one row per rule and person."""
    hits = []
    for rule in rules.rules:
        holds = rule.condition.evaluate(facts, params)
        if rule.exclude_deceased:
            holds &= ~facts["deceased"].astype(bool)
        if rule.unless is not None:
            holds &= ~rule.unless.evaluate(facts, params)
        hits.append(pd.DataFrame({"rule": rule.id, "person_id": facts.index[holds.to_numpy()]}))
    return pd.concat(hits, ignore_index=True) if hits else pd.DataFrame(columns=["rule", "person_id"])
