"""Vectorized (Arrow compute + numpy) forms of the normalizers whose values rarely repeat.

IDs, amounts, addresses and settlement numbers are nearly all distinct, so computing "once per
distinct value" does not help them; these versions work on whole columns. Each one decides only
the plain cases itself and hands anything unusual (full-width forms, odd Unicode) to the scalar
reference function, so both give the same answer: tests/test_vector.py checks that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.normalize.common import clean_text, map_distinct, map_distinct_attrs, squeeze
from pipeline.normalize.ids import (
    _CATEGORY,
    _GRADE,
    _PROVINCES,
    ascii_matrix,
    check_bytes,
    check_chars,
    normalize_id,
    parse_cert,
)
from pipeline.normalize.values import Unreadable, normalize_phone, parse_money
from pipeline.schema import IdStatus

_PROVINCE_CODES = np.array(sorted(int(p) for p in _PROVINCES))


def _arrow(series: pd.Series) -> pa.Array:
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        # Arrow-backed already (what the readers give): its buffers, not a Python object per row.
        arr = pa.array(series.array)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        return arr.cast(pa.large_string())
    return pa.array(
        series.astype("object").where(series.notna(), None), type=pa.large_string(), from_pandas=True
    )


def _series(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=index, dtype="object")


# Python's str whitespace (what the scalar forms strip) in RE2 terms: RE2's \s lacks \v, the
# information separators and NEL, and \p{Z} brings the Unicode spaces.
_PY_WHITESPACE = r"[\s\p{Z}\x0b\x1c-\x1f\x85]+"


def _text_pass(a: pa.Array, squeeze_all: bool) -> pa.Array:
    a = pc.utf8_normalize(a, "NFKC")
    a = pc.replace_substring(a, "\ufeff", "")
    a = pc.replace_substring_regex(a, _PY_WHITESPACE, "" if squeeze_all else " ")
    return pc.utf8_trim(a, " ")


def _text(series: pd.Series, squeeze_all: bool) -> pd.Series:
    # Each distinct value once (townships, hospitals, diagnoses repeat), taken back per row.
    enc = pc.dictionary_encode(_arrow(series))
    once = _text_pass(enc.dictionary, squeeze_all)
    twice = _text_pass(once, squeeze_all)
    out = _series(pc.take(twice, enc.indices), series.index)
    out = out.where(out != "", None)
    changed = pc.fill_null(pc.not_equal(once, twice), False)
    unstable = pc.fill_null(pc.take(changed, enc.indices), False).to_numpy(zero_copy_only=False)
    if unstable.any():  # NFKC composed something after a space went: the scalar form loops
        out[unstable] = map_distinct(series[unstable], squeeze if squeeze_all else clean_text)
    return out


def clean_text_vec(series: pd.Series) -> pd.Series:
    """Column form of :func:`pipeline.normalize.common.clean_text`."""
    return _text(series, squeeze_all=False)


def squeeze_vec(series: pd.Series) -> pd.Series:
    """Column form of :func:`pipeline.normalize.common.squeeze`."""
    return _text(series, squeeze_all=True)


def _valid_ymd(ymd: pd.Series) -> np.ndarray:
    d = pd.to_datetime(ymd, format="%Y%m%d", errors="coerce")
    return (d.notna() & (d >= pd.Timestamp(1890, 1, 1)) & (d <= pd.Timestamp(2100, 1, 1))).to_numpy()


def normalize_ids_vec(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Column form of :func:`pipeline.normalize.ids.normalize_id`: (values, status texts)."""
    idx = series.index
    values = pd.Series(None, index=idx, dtype="object")
    status = pd.Series(IdStatus.MISSING.value, index=idx, dtype="object")
    a = _arrow(series)
    cleaned = pc.utf8_upper(pc.replace_substring_regex(a, r"[ \t'\"=]", ""))
    is18 = pc.fill_null(pc.match_substring_regex(cleaned, r"^[0-9]{17}[0-9X]$"), False).to_numpy(
        zero_copy_only=False
    )
    is15 = pc.fill_null(pc.match_substring_regex(cleaned, r"^[0-9]{15}$"), False).to_numpy(
        zero_copy_only=False
    )
    c = pd.Series(cleaned.to_numpy(zero_copy_only=False), index=idx, dtype="object")

    if is18.any():
        s = c[is18]
        raw = ascii_matrix(s.to_numpy(), 18)
        check_ok = check_bytes(raw) == raw[:, 17]
        prov_ok = np.isin((raw[:, 0].astype(np.int64) - 48) * 10 + raw[:, 1] - 48, _PROVINCE_CODES)
        ok = check_ok & prov_ok & _valid_ymd(s.str.slice(6, 14))
        zeros = s.str.endswith("000").to_numpy()
        st = np.where(
            zeros, IdStatus.MANGLED.value, np.where(ok, IdStatus.VALID.value, IdStatus.INVALID.value)
        )
        status[is18] = st
        values[is18] = s.where(st != IdStatus.MANGLED.value, None)
    if is15.any():
        s = c[is15]
        full17 = (s.str.slice(0, 6) + "19" + s.str.slice(6, 15)).to_numpy().astype(str)
        prov = s.str.slice(0, 2).isin(_PROVINCES).to_numpy()
        ok = prov & _valid_ymd(pd.Series(full17).str.slice(6, 14))
        upgraded = np.char.add(full17, check_chars(full17))
        zeros = np.char.endswith(upgraded, "000")
        st = np.where(
            ok, np.where(zeros, IdStatus.MANGLED.value, IdStatus.UPGRADED.value), IdStatus.INVALID.value
        )
        status[is15] = st
        values[is15] = np.where(
            ok, np.where(zeros, np.array(None, dtype=object), upgraded.astype(object)), s.to_numpy()
        )
    rest = series.notna().to_numpy() & ~is18 & ~is15
    if rest.any():  # full-width digits, spreadsheet floats, malformed text: the scalar reference
        r = map_distinct_attrs(
            series[rest], normalize_id, {"value": None, "status_text": IdStatus.MISSING.value}
        )
        values[rest], status[rest] = r["value"], r["status_text"]
    return values, status


_MONEY_JUNK = r"[,，¥￥元\s]"
_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"  # the plain case; anything else goes to the scalar form


def parse_money_vec(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Column form of :func:`pipeline.normalize.values.parse_money`: (amounts, error messages)."""
    a = _arrow(series)
    t = pc.replace_substring_regex(pc.utf8_normalize(a, "NFKC"), _MONEY_JUNK, "")
    number = pc.fill_null(pc.match_substring_regex(t, _NUMBER), False)
    amounts = pc.cast(pc.if_else(number, t, pa.scalar(None, pa.large_string())), pa.float64())
    out = pd.Series(amounts.to_numpy(zero_copy_only=False), index=series.index, dtype="float64")
    errors = pd.Series(None, index=series.index, dtype="object")
    rest = series.notna().to_numpy() & ~number.to_numpy(zero_copy_only=False)
    if rest.any():  # blanks, "-", and the unreadable: the scalar reference decides and words the error

        def safe(v: str) -> tuple[float | None, str | None]:
            try:
                return parse_money(v), None
            except Unreadable as e:
                return None, str(e)

        pairs = map_distinct(series[rest], safe)
        out[rest] = pairs.map(lambda p: p[0]).astype("float64")
        errors[rest] = pairs.map(lambda p: p[1])
    return out, errors


def _matches(series: pd.Series, pattern: str) -> np.ndarray:
    return np.asarray(
        pc.fill_null(pc.match_substring_regex(_arrow(series), pattern), False).to_numpy(zero_copy_only=False)
    )


def normalize_phones_vec(series: pd.Series) -> pd.Series:
    """Column form of :func:`pipeline.normalize.values.normalize_phone`: plain mobiles pass as they
    are, everything else goes through the scalar form once per distinct value."""
    plain = _matches(series, r"^1[3-9][0-9]{9}$")
    out = series.astype("object").where(plain, None)
    rest = series.notna().to_numpy() & ~plain
    if rest.any():
        out[rest] = map_distinct(series[rest], normalize_phone)
    return out


def parse_certs_vec(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Column form of :func:`pipeline.normalize.ids.parse_cert`: (certificate, usable holder ID,
    category, grade)."""
    idx = series.index
    plain = _matches(series, r"^[0-9]{17}[0-9Xx][1-7][1-4]$")
    cert = pd.Series(None, index=idx, dtype="object")
    holder = pd.Series(None, index=idx, dtype="object")
    category = pd.Series(None, index=idx, dtype="object")
    grade = pd.Series(None, index=idx, dtype="object")
    if plain.any():
        s = series[plain].astype("object").str.upper()
        ids, status = normalize_ids_vec(s.str.slice(0, 18))
        cert[plain] = s
        holder[plain] = ids.where(status == IdStatus.VALID.value, None)
        category[plain] = s.str.slice(18, 19).map(_CATEGORY)
        grade[plain] = s.str.slice(19, 20).map(_GRADE)
    rest = series.notna().to_numpy() & ~plain
    if rest.any():
        r = map_distinct_attrs(
            series[rest], parse_cert, {"value": None, "usable_id": None, "category": None, "grade": None}
        )
        cert[rest], holder[rest], category[rest], grade[rest] = (
            r["value"],
            r["usable_id"],
            r["category"],
            r["grade"],
        )
    return cert, holder, category, grade
