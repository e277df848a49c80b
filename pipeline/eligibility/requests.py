"""Reading hotline requests and village reports: the hardship they describe, and why we think so.

The phrase lists and negations are data (rules/hardship.yaml, whose header says how a text is
read). ``classify`` returns, per text, the categories found (";"-joined in the file's order, "" for
none) and a reason quoting the phrases that matched (因病:“住院”“医药费”). Each distinct text is
read once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import opencc
import pandas as pd

from pipeline.errors import ConfigError, read_yaml

OTHER = "其他"
#: The categories the issue names; the file may not invent others (rules and the summary read them).
CATEGORIES = ("因病", "因残", "因学", "因灾/意外", "失业", "丧偶/亡故", OTHER)
_SENTENCES = re.compile(r"[。！？!?;；\n]+|(?=但是|可是|不过)|(?<![不])(?=但)")
_CLAUSES = re.compile(r"[，,、\s]+")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@dataclass(frozen=True)
class Lexicon:
    path: str
    categories: dict[str, tuple[str, ...]]  # category -> phrases, in the file's order
    negated_before: tuple[str, ...]
    clause_negations: tuple[str, ...]
    sentence_negations: tuple[str, ...]

    def read(self, text: str | None) -> tuple[str, str]:
        """(categories ";"-joined, reason) for one text; ("", "") when it describes no hardship.

        >>> lex = Lexicon("t", {"因病": ("住院",), "其他": ("生活困难",)}, ("没有",), ("咨询",), ("已解决",))
        >>> lex.read("我父亲住院了,生活困难")
        ('因病', '因病:“住院”')
        >>> lex.read("咨询住院报销。没有住院")
        ('', '')
        >>> lex.read("住院的事已解决。但是现在生活困难")
        ('其他', '其他:“生活困难”')
        """
        if not isinstance(text, str) or not text.strip():
            return "", ""
        text = _t2s().convert(unicodedata.normalize("NFKC", text))
        found: dict[str, list[str]] = {}
        for sentence in _SENTENCES.split(text):
            if not sentence or any(w in sentence for w in self.sentence_negations):
                continue
            for clause in _CLAUSES.split(sentence):
                if not clause or any(w in clause for w in self.clause_negations):
                    continue
                for category, phrases in self.categories.items():
                    if not self._screens[category].search(clause):
                        continue  # none of its phrases occurs: most clauses, most categories
                    for phrase in phrases:
                        word = self._first_unnegated(clause, phrase)
                        if word is not None:
                            hits = found.setdefault(category, [])
                            # 塌 inside 塌了 quotes nothing new
                            if not any(word in h for h in hits):
                                hits[:] = [h for h in hits if h not in word] + [word]
        if len(found) > 1:
            found.pop(OTHER, None)  # 其他: only a hardship of no named kind
        ordered = [c for c in self.categories if c in found]
        reason = ";".join(c + ":" + "".join(f"“{p}”" for p in found[c]) for c in ordered)
        return ";".join(ordered), reason

    @cached_property
    def _screens(self) -> dict[str, re.Pattern[str]]:
        """Per category, one expression matching wherever any of its phrases does."""
        return {
            c: re.compile("|".join(p[3:] if p.startswith("re:") else re.escape(p) for p in phrases))
            for c, phrases in self.categories.items()
        }

    def _first_unnegated(self, clause: str, phrase: str) -> str | None:
        """The words of ``clause`` that ``phrase`` matches first without a negation right before
        them (a phrase ``re:…`` is a regular expression), or None."""
        if phrase.startswith("re:"):
            for m in _pattern(phrase[3:]).finditer(clause):
                if not any(clause[: m.start()].endswith(w) for w in self.negated_before):
                    return m.group(0)
            return None
        at = clause.find(phrase)
        while at >= 0:
            if not any(clause[:at].endswith(w) for w in self.negated_before):
                return phrase
            at = clause.find(phrase, at + 1)
        return None


@lru_cache(maxsize=4096)
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


def load_lexicon(path: str | Path) -> Lexicon:
    """Read and check rules/hardship.yaml; one ConfigError lists every problem."""
    p = Path(path)
    doc = read_yaml(p, "hardship phrases")
    problems: list[str] = []
    cats = doc.get("categories") if isinstance(doc, dict) else None
    if not isinstance(cats, dict) or not cats:
        raise ConfigError(f"{p}: expected `categories:` mapping each category to its phrases")
    categories: dict[str, tuple[str, ...]] = {}
    for name, phrases in cats.items():
        if name not in CATEGORIES:
            problems.append(f"category `{name}` is not one of {', '.join(CATEGORIES)}")
            continue
        if not isinstance(phrases, list) or not all(isinstance(x, str) and x.strip() for x in phrases):
            problems.append(f"category `{name}`: a list of non-empty phrases")
            continue
        for x in phrases:
            if x.startswith("re:"):
                try:
                    re.compile(x[3:])
                except re.error as exc:
                    problems.append(f"category `{name}`: `{x}` is not a regular expression: {exc}")
        categories[str(name)] = tuple(x if x.startswith("re:") else _key(x) for x in phrases)

    def words(value: object, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            problems.append(f"`{where}`: a list of non-empty words")
            return ()
        return tuple(_key(x) for x in value)

    neg = doc.get("negations") or {}
    if not isinstance(neg, dict) or set(neg) - {"clause", "sentence"}:
        problems.append("`negations`: a mapping with `clause` and `sentence` lists")
        neg = {}
    if problems:
        raise ConfigError(f"{p}: {len(problems)} problem(s):\n  - " + "\n  - ".join(problems))
    return Lexicon(
        path=str(p),
        categories=categories,
        negated_before=words(doc.get("negated_before"), "negated_before"),
        clause_negations=words(neg.get("clause"), "negations.clause"),
        sentence_negations=words(neg.get("sentence"), "negations.sentence"),
    )


def _key(phrase: str) -> str:
    return "".join(unicodedata.normalize("NFKC", phrase).split())


def classify(texts: pd.Series, lexicon: Lexicon) -> pd.DataFrame:
    """Per text: ``hardship`` (categories, ";"-joined, "" for none) and ``hardship_reason``;
    None for a missing text. Each distinct text is read once."""
    distinct = {t: lexicon.read(t) for t in pd.unique(texts.dropna().to_numpy())}
    read = [distinct.get(t) if isinstance(t, str) else None for t in texts.to_numpy(dtype=object)]
    return pd.DataFrame(
        {
            "hardship": pd.Series([x[0] if x else None for x in read], index=texts.index, dtype=object),
            "hardship_reason": pd.Series(
                [x[1] if x else None for x in read], index=texts.index, dtype=object
            ),
        },
        index=texts.index,
    )
