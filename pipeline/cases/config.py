"""rules/cases.yaml: the case lifecycle as data, loaded and checked whole before a run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, read_yaml

#: Status codes the code relies on (the file may label them, and must define them all).
NEW, SENT, OVERDUE, IN_PROGRESS, ANSWERED, CLOSED, REVISIT_DUE, REVISITED = (
    "new",
    "sent",
    "overdue",
    "in_progress",
    "answered",
    "closed",
    "revisit_due",
    "revisited",
)
STATUS_CODES = (NEW, SENT, OVERDUE, IN_PROGRESS, ANSWERED, CLOSED, REVISIT_DUE, REVISITED)
PENDING, VERIFIED, NOT_SEEN = "pending", "verified", "not_seen"
VERIFICATION_CODES = (PENDING, VERIFIED, NOT_SEEN)
DAY_KEYS = ("feedback_deadline", "revisit_after", "suppress", "verify_within")
_FLAGS = ("eligible", "done", "revisit", "suppress", "suppress_person", "review")
DEFAULT_ANSWER_SET = "assistance"


@dataclass(frozen=True)
class Answer:
    """One 核查结果 a township can give, and what it does to the case."""

    answer: str
    status: str
    eligible: bool = False
    done: bool = False
    revisit: bool = False
    suppress: bool = False
    suppress_person: bool = False
    review: bool = False


@dataclass(frozen=True)
class CaseRules:
    path: Path
    labels: dict[str, str]  # status code -> Chinese label
    send: frozenset[str]  # status codes whose cases are listed in the township workbook
    verification: dict[str, str]  # verification code -> Chinese label
    days: dict[str, int]
    answer_sets: dict[str, tuple[Answer, ...]]
    revisit_answers: tuple[str, ...]

    def answers(self, answer_set: str) -> tuple[Answer, ...]:
        return self.answer_sets[answer_set]

    def answer(self, answer_set: str, text: str) -> Answer | None:
        return next((a for a in self.answer_sets[answer_set] if a.answer == text), None)

    def label(self, status: str) -> str:
        return self.labels.get(status, status)


def load_case_rules(path: str | Path) -> CaseRules:
    """Read and check rules/cases.yaml; one ConfigError lists every problem."""
    p = Path(path)
    doc = read_yaml(p, "case rules")
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: expected a mapping with statuses, days, answer_sets")
    problems: list[str] = []
    statuses = doc.get("statuses") or {}
    labels: dict[str, str] = {}
    send: set[str] = set()
    for code in STATUS_CODES:
        entry = statuses.get(code) if isinstance(statuses, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
            problems.append(f"statuses: `{code}` needs a label")
            continue
        labels[code] = entry["label"]
        if entry.get("send"):
            send.add(code)
    for code in sorted(set(statuses) - set(STATUS_CODES)) if isinstance(statuses, dict) else []:
        problems.append(f"statuses: unknown status `{code}` (the statuses are {', '.join(STATUS_CODES)})")
    verification = doc.get("verification") or {}
    for code in VERIFICATION_CODES:
        if not isinstance(verification.get(code), str):
            problems.append(f"verification: `{code}` needs a label")
    days: dict[str, int] = {}
    for key in DAY_KEYS:
        v = (doc.get("days") or {}).get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            problems.append(f"days: `{key}` must be a whole number of days")
        else:
            days[key] = v
    sets: dict[str, tuple[Answer, ...]] = {}
    raw_sets = doc.get("answer_sets")
    if not isinstance(raw_sets, dict) or DEFAULT_ANSWER_SET not in raw_sets:
        problems.append(f"answer_sets: needs at least the set `{DEFAULT_ANSWER_SET}`")
        raw_sets = raw_sets if isinstance(raw_sets, dict) else {}
    for name, entries in raw_sets.items():
        answers: list[Answer] = []
        for i, e in enumerate(entries or []):
            where = f"answer_sets.{name} #{i + 1}"
            if not isinstance(e, dict) or not isinstance(e.get("answer"), str):
                problems.append(f"{where}: needs `answer` (the text of the dropdown)")
                continue
            unknown = sorted(set(e) - {"answer", "status", *_FLAGS})
            if unknown:
                problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
            if e.get("status") not in STATUS_CODES:
                problems.append(f"{where}: `status` must be one of {', '.join(STATUS_CODES)}")
                continue
            flags: dict[str, Any] = {k: bool(e.get(k, False)) for k in _FLAGS}
            answers.append(Answer(answer=e["answer"], status=e["status"], **flags))
        if not answers:
            problems.append(f"answer_sets.{name}: lists no answers")
        if len({a.answer for a in answers}) != len(answers):
            problems.append(f"answer_sets.{name}: an answer is listed twice")
        sets[str(name)] = tuple(answers)
    revisit = doc.get("revisit_answers")
    if not isinstance(revisit, list) or not revisit or not all(isinstance(x, str) for x in revisit):
        problems.append("revisit_answers: a list of the 回访结果 texts")
        revisit = []
    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return CaseRules(
        path=p,
        labels=labels,
        send=frozenset(send),
        verification={k: str(verification[k]) for k in VERIFICATION_CODES},
        days=days,
        answer_sets=sets,
        revisit_answers=tuple(revisit),
    )
