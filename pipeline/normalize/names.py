"""Person names: NFKC, no inner spaces, traditional -> simplified, toneless pinyin for matching."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np
import opencc
import pandas as pd
from pypinyin import Style, lazy_pinyin

_SPACES = re.compile(r"\s+")
# Separators in minority names (阿依古丽·买买提) written with whatever dot the keyboard gave.
_DOTS = re.compile(r"[•・．.‧∙⋅]")
_BATCH_SEP = "\n"


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def clean_name(raw: object) -> str | None:
    """NFKC, all whitespace removed (full-width too), dots unified. No script conversion.

    >>> clean_name(" 张　 伟 ")
    '张伟'
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    s = str(raw)
    for _ in range(4):  # until stable: dropping a space can let NFKC compose what follows
        new = _DOTS.sub("·", _SPACES.sub("", unicodedata.normalize("NFKC", s))).strip("·")
        if new == s:
            break
        s = new
    return s or None


def to_simplified(text: str) -> str:
    """Traditional -> simplified (OpenCC t2s).

    >>> to_simplified("張偉")
    '张伟'
    """
    return str(_converter().convert(text))


def normalize_name(raw: object) -> str | None:
    """clean_name then simplified. Idempotent.

    >>> normalize_name("張 蕾")
    '张蕾'
    """
    s = clean_name(raw)
    return to_simplified(s) if s else None


@cache
def _char_pinyin(ch: str) -> str:
    if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf":
        return str(lazy_pinyin(ch, style=Style.NORMAL)[0])
    return ch.lower()


def name_pinyin(name: str) -> str:
    """Toneless pinyin, one syllable per character, space separated.

    Characters are read one at a time (first reading) rather than in context: matching needs the
    same character to give the same syllable in every record, more than it needs 多音字 right.

    >>> name_pinyin("张蕾"), name_pinyin("张磊")
    ('zhang lei', 'zhang lei')
    """
    return " ".join(_char_pinyin(c) for c in name if c != "·")


def normalize_names(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorized form: (simplified names, pinyin), computed once per distinct value.

    OpenCC is called once on all distinct cleaned names joined by newlines, which is far faster
    than one call per name (names cannot contain newlines once whitespace is removed).
    """
    # Codes per row and the distinct values once; the results are taken back by code (a dict
    # map over a million Arrow-backed strings hashes every row again, twice).
    codes, distinct = pd.factorize(series)
    cleaned = [clean_name(v) or "" for v in distinct]
    simplified = to_simplified(_BATCH_SEP.join(cleaned)).split(_BATCH_SEP) if cleaned else []
    if len(simplified) != len(cleaned):  # defensive: never misalign names
        simplified = [to_simplified(c) for c in cleaned]
    pinyin_map = {s: name_pinyin(s) for s in set(simplified) if s}
    # One slot more for the missing values (code -1 takes the last one).
    names_of = np.array([*(s or None for s in simplified), None], dtype=object)
    pinyin_of = np.array([*(pinyin_map.get(s) for s in simplified), None], dtype=object)
    names = pd.Series(names_of[codes], index=series.index, dtype="str")
    return names, pd.Series(pinyin_of[codes], index=series.index, dtype="str")
