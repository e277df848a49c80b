"""The column forms of the normalizers agree with the scalar reference forms on any input."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.normalize.common import clean_text, squeeze
from pipeline.normalize.ids import normalize_id, parse_cert
from pipeline.normalize.values import Unreadable, normalize_phone, parse_money
from pipeline.normalize.vector import (
    clean_text_vec,
    normalize_ids_vec,
    normalize_phones_vec,
    parse_certs_vec,
    parse_money_vec,
    squeeze_vec,
)

# Characters Python's own Unicode database knows (Python 3.11: Unicode 14). Arrow normalizes with
# a newer database, so a code point assigned since (U+1CCD6, an outlined A of Unicode 16) is
# folded by the vectorized function and left alone by the scalar reference: a difference between
# the two Unicode versions, not between the two implementations.
assigned = st.characters(exclude_categories=("Cs", "Cn"))


GOOD = "11010519491231002X"
ids = (
    st.sampled_from(
        [
            GOOD,
            GOOD.lower(),
            "11010619491231002X",
            "110105491231002",
            "110105194912310000",
            "4.10822E+17",
            "１１０１０５１９４９１２３１００２Ｘ",
            " 11010519491231002X\t",
            "'110105491231002",
            "991231194912310021",
            "41082219801301123X",
            "12345",
            "",
            " ",
        ]
    )
    | st.from_regex(r"[0-9]{15,18}[X]?", fullmatch=True)
    | st.text(assigned, max_size=20)
)
texts = st.text(alphabet=st.sampled_from(list("张 伟\u3000\t镇A´́1１·")), max_size=12) | st.text(
    assigned, max_size=12
)
money = st.sampled_from(
    ["650", "1,234.50", "-50.00", "1234.", "+5", "￥650元", "八十", "-", "", "0.0", "1e3"]
) | st.text(alphabet="0123456789.,-", max_size=10)
phones = st.sampled_from(
    ["13803911234", "+86 138-0391-1234", "0391-2345678", "1.38039E+10", "无", "12345678901"]
) | st.text(alphabet="0123456789-+ .", max_size=15)
certs = st.sampled_from(
    [GOOD + "42", GOOD.lower() + "71", "11010619491231002X11", GOOD + "99", "4.10822E+19"]
) | st.text(assigned, max_size=22)


def col(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="object")


def nn(values: object) -> list[object]:
    """Nulls as None (a column may hold NaN for null; both mean missing to pandas and Parquet)."""
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]  # type: ignore[attr-defined]


@given(st.lists(ids | st.none(), max_size=30))
@settings(max_examples=200)
def test_ids(values: list[str | None]) -> None:
    v, s = normalize_ids_vec(col(values))
    for raw, value, status in zip(values, nn(v), nn(s), strict=True):
        r = normalize_id(raw)
        assert (value, status) == (r.value, r.status.value), raw


@given(st.lists(texts | st.none(), max_size=30))
@settings(max_examples=200)
def test_text(values: list[str | None]) -> None:
    assert nn(clean_text_vec(col(values))) == [clean_text(v) for v in values]
    assert nn(squeeze_vec(col(values))) == [squeeze(v) for v in values]


def _scalar_money(v: str | None) -> tuple[float | None, str | None]:
    try:
        return parse_money(v), None
    except Unreadable as e:
        return None, str(e)


@given(st.lists(money | st.none(), max_size=30))
@settings(max_examples=200)
def test_money(values: list[str | None]) -> None:
    amounts, errors = parse_money_vec(col(values))
    for raw, a, e in zip(values, nn(amounts), nn(errors), strict=True):
        assert (a, e) == _scalar_money(raw), raw


@given(st.lists(phones | st.none(), max_size=30))
def test_phones(values: list[str | None]) -> None:
    assert nn(normalize_phones_vec(col(values))) == [normalize_phone(v) for v in values]


@given(st.lists(certs | st.none(), max_size=30))
def test_certs(values: list[str | None]) -> None:
    cols = [nn(c) for c in parse_certs_vec(col(values))]
    for i, raw in enumerate(values):
        r = parse_cert(raw)
        assert tuple(c[i] for c in cols) == (r.value, r.usable_id, r.category, r.grade), raw
