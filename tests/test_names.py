"""Hand-worked name cases, one per name error kind of the generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.normalize.names import name_pinyin, normalize_name, normalize_names
from pipeline.sample.errors import NAME_ERRORS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张伟", "张伟"),
        ("張偉", "张伟"),  # traditional -> simplified
        ("张 伟", "张伟"),  # ASCII space inside
        ("张\u3000伟", "张伟"),  # ideographic space inside
        (" 王芳\t", "王芳"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # minority name: the dot is unified, not dropped
        ("", None),
        (None, None),
    ],
)
def test_normalize_name(raw: str | None, expected: str | None) -> None:
    assert normalize_name(raw) == expected


def test_homophones_share_pinyin_and_shapes_do_not() -> None:
    # 同音字: 磊 and 蕾 are both "lei"; 形近字: 王 (wang) and 玉 (yu) differ in sound.
    assert name_pinyin("张磊") == name_pinyin("张蕾") == "zhang lei"
    assert name_pinyin("王明") != name_pinyin("玉明")


def test_dropped_character_is_kept_as_written() -> None:
    # A dropped character is not repaired here: the matcher compares 王秀 with 王秀英.
    assert normalize_name("王秀") == "王秀"


def test_vectorized_form_matches_scalar_and_keeps_nulls() -> None:
    s = pd.Series(["張偉", None, "张 伟", "李娜", "張偉"], dtype="object")
    names, pinyin = normalize_names(s)
    assert names.tolist()[0] == "张伟" and names.tolist()[2] == "张伟" and pd.isna(names.tolist()[1])
    assert pinyin.tolist()[0] == "zhang wei" and pinyin.tolist()[3] == "li na"


# The generator's name corruptions and what normalization must make of them (from 张磊).
EXPECTED = {
    "name_homophone": "same_pinyin",  # 张蕾 / 章磊: same pinyin, different characters
    "name_shape": "changed",  # a similar-shaped character stays different
    "name_traditional": "restored",  # 張磊 -> 张磊
    "name_space": "restored",  # 张 磊 -> 张磊
    "name_dropped": "changed",  # 张 (dropped) stays different
}


def test_every_generator_name_error_is_covered() -> None:
    assert set(EXPECTED) == set(NAME_ERRORS)


@pytest.mark.parametrize("kind", sorted(NAME_ERRORS))
def test_generator_name_errors(kind: str) -> None:
    fn, _ = NAME_ERRORS[kind]
    original = {"name_shape": "王磊", "name_dropped": "王秀英"}.get(kind, "张磊")
    bad = fn(original, np.random.default_rng(1))
    assert bad is not None and bad != original
    got = normalize_name(bad)
    assert got is not None
    outcome = EXPECTED[kind]
    if outcome == "restored":
        assert got == original
    elif outcome == "same_pinyin":
        assert got != original and name_pinyin(got) == name_pinyin(original)
    else:
        assert got != original
