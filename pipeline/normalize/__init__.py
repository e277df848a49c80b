"""Normalize one source's raw text frame into the canonical record columns.

Input: the frame the ingest stage wrote (provenance + one text column per canonical field found).
Output: every column of :data:`pipeline.schema.RECORD_SCHEMA`, plus ``parse_errors`` (values that
could not be read: the validation stage rejects those rows) and ``flags`` (soft problems kept with
the row). Each normalizer runs once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from pipeline import schema as S
from pipeline.normalize.common import map_distinct, map_distinct_pairs, squeeze
from pipeline.normalize.dates import parse_date, parse_month
from pipeline.normalize.names import normalize_names
from pipeline.normalize.places import Gazetteer, village_in_address
from pipeline.normalize.values import (
    Unreadable,
    normalize_enum,
    normalize_sex,
    parse_int,
    parse_yesno,
)
from pipeline.normalize.vector import (
    clean_text_vec,
    normalize_ids_vec,
    normalize_phones_vec,
    parse_certs_vec,
    parse_money_vec,
    squeeze_vec,
)
from pipeline.sources import BLANK, SourcesConfig, SourceSpec

# Soft problems: kept with the row, counted in the quality summary, shown to analysts in Chinese.
FLAG_ID_INVALID = "身份证号校验不通过"
FLAG_ID_MANGLED = "身份证号被表格软件转为数字,已无法使用"
FLAG_ID_MALFORMED = "身份证号位数或字符错误"
FLAG_ID_MISSING = "身份证号缺失"
FLAG_ID_FROM_CERT = "身份证号由残疾证号补全"
FLAG_CERT_CONFLICT = "残疾证号与其他列不一致"
FLAG_SEX_CONFLICT = "性别与身份证号不一致"
FLAG_COUNTY_UNRESOLVED = "县区无法识别"
FLAG_TOWNSHIP_UNRESOLVED = "乡镇无法识别"

_ID_FLAGS = {
    S.IdStatus.INVALID: FLAG_ID_INVALID,
    S.IdStatus.MANGLED: FLAG_ID_MANGLED,
    S.IdStatus.MALFORMED: FLAG_ID_MALFORMED,
}


class _Problems:
    """Accumulates per-row messages for one column of problems (parse errors or flags)."""

    def __init__(self, n: int) -> None:
        self.parts: list[pd.Series] = []
        self.n = n

    def add(self, mask: pd.Series | np.ndarray, message: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        col = pd.Series(None, index=range(self.n), dtype="object")
        col[mask] = message[mask] if isinstance(message, pd.Series) else message
        self.parts.append(col)

    def joined(self) -> pd.Series:
        """Messages of each row joined by '; ', None where a row has none (vectorized)."""
        out = pd.Series(None, index=range(self.n), dtype="object")
        for part in self.parts:
            both = out.notna() & part.notna()
            out = out.where(~both, out.str.cat(part, sep="; "))
            out = out.where(out.notna(), part)
        return out


def _checked(series: pd.Series, fn: Callable[[Any], Any]) -> tuple[pd.Series, pd.Series]:
    """(values, error messages) for a normalizer that raises Unreadable; once per distinct value."""

    def safe(v: Any) -> tuple[Any, str | None]:
        try:
            return fn(v), None
        except Unreadable as e:
            return None, str(e)

    pairs = map_distinct(series, safe)
    values = pairs.map(lambda p: p[0] if isinstance(p, tuple) else None)
    errors = pairs.map(lambda p: p[1] if isinstance(p, tuple) else None)
    return values, errors


def _to_datetime(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").astype("datetime64[s]")


def normalize_source(
    raw: pd.DataFrame, spec: SourceSpec, cfg: SourcesConfig, gazetteer: Gazetteer
) -> pd.DataFrame:
    """Canonical columns for one source's raw rows (see module docstring)."""
    # Object columns: the per-distinct-value maps below iterate in Python, which is several times
    # faster over object arrays than over Arrow-backed strings.
    raw = raw.reset_index(drop=True).astype("object")
    n = len(raw)
    out: dict[str, pd.Series] = {
        S.SOURCE: pd.Series([spec.key] * n, dtype="object"),
        S.FILE: raw[S.FILE].astype("object"),
        S.ROW: raw[S.ROW].astype("int64"),
    }
    errors = _Problems(n)
    flags = _Problems(n)
    present = [f for f in spec.fields if f.name in raw.columns]

    for f in present:
        col = raw[f.name]
        label = S.LABELS.get(f.name, f.standard_header)
        kind = f.kind
        # A field the rules do not decide on (on_bad: blank) loses only its value, not its row.
        problems = flags if f.on_bad == BLANK else errors
        suffix = "(已置空)" if f.on_bad == BLANK else ""
        if kind is S.Kind.TEXT:
            out[f.name] = clean_text_vec(col)
        elif kind is S.Kind.CODE:
            out[f.name] = squeeze_vec(col)
        elif kind is S.Kind.NAME:
            names, pinyin = normalize_names(col)
            out[f.name], out[S.raw_col(f.name)], out[S.pinyin_col(f.name)] = names, col, pinyin
        elif kind is S.Kind.ID:
            out[f.name], out[S.status_col(f.name)] = normalize_ids_vec(col)
            out[S.raw_col(f.name)] = col
        elif kind is S.Kind.SEX:
            out[f.name], err = _checked(col, normalize_sex)
            problems.add(err.notna(), label + ": " + err.fillna("") + suffix)
        elif kind is S.Kind.PHONE:
            out[f.name] = normalize_phones_vec(col)
        elif kind in (S.Kind.DATE, S.Kind.MONTH):
            parsed = map_distinct(col, parse_date if kind is S.Kind.DATE else parse_month)
            bad = clean_text_vec(col).notna() & parsed.isna()
            problems.add(bad, label + ": 日期无法识别" + suffix + ": " + col.fillna("").astype(str))
            out[f.name] = _to_datetime(parsed)
        elif kind is S.Kind.MONEY:
            vals, err = parse_money_vec(col)
            out[f.name] = vals
            problems.add(err.notna(), label + ": " + err.fillna("") + suffix)
        elif kind is S.Kind.INT:
            vals, err = _checked(col, parse_int)
            out[f.name] = vals.astype("Int32")
            problems.add(err.notna(), label + ": " + err.fillna("") + suffix)
        elif kind is S.Kind.YESNO:
            vals, err = _checked(col, parse_yesno)
            out[f.name] = vals.astype("boolean")
            problems.add(err.notna(), label + ": " + err.fillna("") + suffix)
        elif kind is S.Kind.ENUM:
            out[f.name] = map_distinct(col, partial(normalize_enum, spellings=cfg.enums[f.name]))
        elif kind is S.Kind.CERT:
            out[f.name], out[S.CERT_ID], out[S.CERT_CATEGORY], out[S.CERT_GRADE] = parse_certs_vec(col)
        elif kind in (S.Kind.COUNTY, S.Kind.TOWNSHIP):
            pass  # resolved together below
        else:  # pragma: no cover - every Kind is handled above
            raise AssertionError(kind)

    id_field = spec.field(S.ID_NUMBER)
    _derive_person(out, flags, n, id_expected=id_field is not None and id_field.required)
    _resolve_places(raw, out, flags, gazetteer, spec)

    frame = pd.DataFrame(out)
    for c in S.RECORD_COLUMNS:
        if c not in frame.columns:
            frame[c] = None
    frame[S.PARSE_ERRORS] = errors.joined()
    frame[S.FLAGS] = flags.joined()
    return frame[[*S.RECORD_COLUMNS, S.PARSE_ERRORS]]


def _derive_person(out: dict[str, pd.Series], flags: _Problems, n: int, id_expected: bool = True) -> None:
    """Cross-fill and cross-check the ID, the disability certificate and the stated sex.

    ``id_expected``: the source's ID column is required, so a blank ID is a problem to report; a
    hotline caller or a reported person without one is the channel's normal case, not a flag."""
    if S.ID_NUMBER not in out:
        return
    status = out[S.ID_STATUS]
    if S.CERT_ID in out:
        # A certificate carries the holder's ID: fill an unusable ID from it, flag disagreement.
        usable = status.isin([s.value for s in S.USABLE_ID])
        cert_id = out[S.CERT_ID]
        fill = ~usable & cert_id.notna()
        out[S.ID_NUMBER] = out[S.ID_NUMBER].where(~fill, cert_id)
        out[S.ID_STATUS] = status = status.where(~fill, S.IdStatus.VALID.value)
        flags.add(fill, FLAG_ID_FROM_CERT)
        conflict = pd.Series(None, index=range(n), dtype="object")
        parts = [
            (usable & cert_id.notna() & (cert_id != out[S.ID_NUMBER]), "身份证号"),
        ]
        for field, cert_col in ((S.DISABILITY_CATEGORY, S.CERT_CATEGORY), (S.DISABILITY_GRADE, S.CERT_GRADE)):
            if field in out:
                stated, derived = out[field], out[cert_col]
                parts.append((stated.notna() & derived.notna() & (stated != derived), S.LABELS[field]))
                out[field] = stated.where(stated.notna(), derived)  # fill a blank from the certificate
        for mask, what in parts:
            conflict = conflict.where(~mask, conflict.fillna("").str.cat([what] * n, sep=",").str.strip(","))
        out[S.CERT_CONFLICT] = conflict
        flags.add(conflict.notna(), FLAG_CERT_CONFLICT + ": " + conflict.fillna(""))

    for st, message in _ID_FLAGS.items():
        flags.add(status == st.value, message)
    if id_expected:
        flags.add(status == S.IdStatus.MISSING.value, FLAG_ID_MISSING)
    usable = status.isin([s.value for s in S.USABLE_ID])
    ids = out[S.ID_NUMBER].where(usable)
    # A usable ID always holds a real date (checked when normalizing), so this parse cannot fail.
    out[S.BIRTH_DATE] = pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d").astype("datetime64[s]")
    odd = pd.to_numeric(ids.str.slice(16, 17)) % 2 == 1
    out[S.ID_SEX] = pd.Series(np.where(odd, "男", "女"), dtype="object").where(ids.notna(), None)
    if S.SEX in out:
        stated = out[S.SEX]
        flags.add(stated.notna() & out[S.ID_SEX].notna() & (stated != out[S.ID_SEX]), FLAG_SEX_CONFLICT)
        out[S.SEX] = stated.where(stated.notna(), out[S.ID_SEX])
    else:
        out[S.SEX] = out[S.ID_SEX]


def _resolve_places(
    raw: pd.DataFrame, out: dict[str, pd.Series], flags: _Problems, gaz: Gazetteer, spec: SourceSpec
) -> None:
    n = len(raw)
    none = pd.Series(None, index=range(n), dtype="object")
    county_raw = raw[S.COUNTY] if S.COUNTY in raw.columns else none
    township_raw = raw[S.TOWNSHIP] if S.TOWNSHIP in raw.columns else none
    address = out.get(S.ADDRESS, none)
    if spec.field(S.COUNTY) is None and spec.field(S.TOWNSHIP) is None and S.ADDRESS not in out:
        return
    county = map_distinct(county_raw, gaz.county_code)
    # None, not NaN, for "no county": the gazetteer tests `is None` (an all-blank column comes back
    # as float NaN, which would send every address to an empty county bucket).
    county = county.astype("object").where(county.notna(), None)
    # Townships once per distinct (county, township) pair, then the address for what is left.
    township = map_distinct_pairs(
        county,
        map_distinct(township_raw, squeeze),
        lambda c, t: gaz.township_code(c, t) if t is not None else None,
    )
    need = township.isna() & address.notna()
    if need.any():
        township = township.copy()
        township[need] = map_distinct_pairs(
            county[need], address[need], lambda c, a: gaz.township_code(c, None, a)
        ).to_numpy()
    # A resolved township tells its county when the county column was blank or absent.
    tcounty = township.map(lambda c: c[:6] if isinstance(c, str) else None)
    county = county.where(county.notna(), tcounty)
    flags.add(county_raw.notna() & county.isna(), FLAG_COUNTY_UNRESOLVED)
    flags.add((township_raw.notna() | address.notna()) & township.isna(), FLAG_TOWNSHIP_UNRESOLVED)
    out[S.COUNTY_CODE], out[S.COUNTY_RAW] = county, county_raw
    out[S.TOWNSHIP_CODE], out[S.TOWNSHIP_RAW] = township, township_raw
    # The village an address names after its township (a hotline caller's 诉求地址, a 户籍地址),
    # where no village column says it: matching compares villages.
    village = out[S.VILLAGE] if S.VILLAGE in out else none
    need = village.isna() & address.notna() & township.notna()
    if need.any():
        village = village.copy()
        village[need] = map_distinct_pairs(
            address[need],
            township[need],
            lambda a, t: village_in_address(a, gaz.by_code[t].name if t in gaz.by_code else None),
        ).to_numpy()
        out[S.VILLAGE] = village
