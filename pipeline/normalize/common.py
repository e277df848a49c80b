"""Helpers shared by the normalizers: text cleaning and per-distinct-value mapping."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

T = TypeVar("T")

_WS = re.compile(r"\s+")


def clean_text(value: object) -> str | None:
    """NFKC, trimmed, inner runs of whitespace collapsed; blank -> None.

    NFKC turns full-width letters, digits, brackets and the ideographic space into ASCII.

    >>> clean_text("  ４１０８　x ")
    '4108 x'
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    s = str(value)
    for _ in range(4):  # until stable: collapsing spaces can let NFKC compose what follows
        new = _WS.sub(" ", unicodedata.normalize("NFKC", s).replace("\ufeff", "")).strip()
        if new == s:
            break
        s = new
    return s or None


def squeeze(value: object) -> str | None:
    """clean_text with every space removed (codes, Chinese names, place names)."""
    s = clean_text(value)
    while s is not None and " " in s:
        s = clean_text(s.replace(" ", ""))
    return s


def map_distinct(series: pd.Series, fn: Callable[[str], T]) -> pd.Series:
    """Apply ``fn`` once per distinct non-null value and map the result back.

    Extracts repeat values heavily (names, townships, dates, categories), so this turns a
    per-row Python call into a per-value one. Nulls stay null and ``fn`` never sees them.
    """
    values = series.dropna().unique()
    table = {v: fn(v) for v in values}
    return series.map(table)


def map_distinct_pairs(a: pd.Series, b: pd.Series, fn: Callable[[Any, Any], T]) -> pd.Series:
    """``fn(a, b)`` once per distinct pair of values, mapped back to the rows of ``a`` (an object
    column, same index). A missing value reaches ``fn`` as None (the gazetteer tests ``is None``).

    >>> map_distinct_pairs(pd.Series(["x", "x", None]), pd.Series([1, 1, 2]), lambda u, v: f"{u}{v}").tolist()
    ['x1', 'x1', 'None2']
    """

    def objects(s: pd.Series) -> np.ndarray:
        out = np.array(s.to_numpy(dtype=object), dtype=object)
        out[pd.isna(out)] = None
        return out

    # dtype object: pandas would read strings and None as a str column, turning None into NaN.
    key = pd.DataFrame({"a": objects(a), "b": objects(b)}, dtype=object)
    pairs = key.drop_duplicates()
    pairs["v"] = pd.Series(
        [fn(x, y) for x, y in zip(pairs["a"], pairs["b"], strict=True)], index=pairs.index, dtype=object
    )
    values = key.merge(pairs, on=["a", "b"], how="left")["v"].to_numpy(dtype=object)
    return pd.Series(values, index=a.index, dtype=object)


def map_distinct_attrs(
    series: pd.Series, fn: Callable[[str], object], attrs: dict[str, object]
) -> dict[str, pd.Series]:
    """Like map_distinct for a function returning an object: one Series per attribute.

    ``attrs`` maps attribute name -> the value rows with a null input get.
    """
    values = series.dropna().unique()
    results = [fn(v) for v in values]
    out: dict[str, pd.Series] = {}
    for attr, default in attrs.items():
        table = {v: getattr(r, attr) for v, r in zip(values, results, strict=True)}
        mapped = series.map(table).astype("object")
        out[attr] = mapped.where(series.notna(), default) if default is not None else mapped
    return out


def _modes(k: np.ndarray, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(key codes, their commonest value) for the rows whose value is present; ``k``: each row's
    key code (from pd.factorize). Ties: the value seen first among the key's own rows, so a key's
    mode depends on its rows alone (not on where else its values occur: a file added elsewhere
    cannot turn a tie). In numpy, on integer codes."""
    present = values.notna().to_numpy()
    kk = k[present].astype(np.int64)
    v, vv = pd.factorize(values[present])
    if not len(kk):
        return np.zeros(0, dtype=np.int64), np.asarray(vv)[:0]
    codes, first_at, counts = np.unique(kk * (len(vv) + 1) + v, return_index=True, return_counts=True)
    keys, vals = codes // (len(vv) + 1), codes % (len(vv) + 1)
    order = np.lexsort((first_at, -counts, keys))
    first = order[np.r_[True, keys[order][1:] != keys[order][:-1]]]
    return keys[first], np.asarray(vv)[vals[first]]


def mode_by(frame: pd.DataFrame, key: str, col: str) -> pd.Series:
    """The commonest non-null value of ``col`` per ``key`` (ties: the value seen first), in numpy."""
    sub = frame[[key, col]].dropna()
    if sub.empty:
        return pd.Series([], dtype="object")
    k, kv = pd.factorize(sub[key])
    keys, modes = _modes(k, sub[col])
    return pd.Series(modes, index=np.asarray(kv)[keys])


def modes_by(frame: pd.DataFrame, key: str, cols: dict[str, str]) -> pd.DataFrame:
    """``mode_by`` of several columns at once, the key factorized once: one row per distinct key
    (in order of appearance, index ``key``), one column per ``cols`` item (output name -> column).

    >>> modes_by(pd.DataFrame({"p": ["a", "a", "b"], "x": [1, 1, None], "y": ["u", "v", "w"]}),
    ...          "p", {"x": "x", "y": "y"}).to_dict("index")
    {'a': {'x': 1.0, 'y': 'u'}, 'b': {'x': nan, 'y': 'w'}}
    """
    k, kv = pd.factorize(frame[key])
    out = pd.DataFrame(index=pd.Index(kv, name=key))
    for name, col in cols.items():
        keys, modes = _modes(k, frame[col])
        if isinstance(modes.dtype, pd.StringDtype):
            # Text (most fields): taken from the distinct values as they are, without a Python
            # object per person (about 1 s per column at 1M people).
            at = np.full(len(kv), -1, dtype=np.int64)
            at[keys] = np.arange(len(keys))
            out[name] = pd.Series(pd.Index(modes).take(at, allow_fill=True, fill_value=None), index=out.index)
            continue
        result = np.full(len(kv), None, dtype=object)
        result[keys] = np.asarray(pd.Index(modes), dtype=object)  # dates as Timestamps, not integers
        out[name] = pd.Series(result, index=out.index).infer_objects()
    return out


def member(values: pd.Series | pd.Index, of: Iterable[Any]) -> np.ndarray:
    """``values.isin(of)`` as a numpy bool array, through Arrow's ``is_in``: pandas' own isin on
    Arrow-backed strings builds a Python object per value (seconds at a million rows). Missing
    values are never members.

    >>> member(pd.Series(["a", None, "c"], dtype="str"), {"c", "x"}).tolist()
    [False, False, True]
    """
    arr = pa.array(values.array if isinstance(values, pd.Index) else values, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.null():
        wanted = pa.array([])
    elif isinstance(of, pd.Series | pd.Index | np.ndarray | pd.api.extensions.ExtensionArray):
        # Column to column (a person id column's unique() is an Arrow array): no Python object
        # per value, which cost about 2 us each, a second and a half per night's facts.
        wanted = pa.array(of, from_pandas=True)
        wanted = wanted if wanted.type == arr.type else wanted.cast(arr.type)
    else:
        wanted = pa.array(list(of), type=arr.type, from_pandas=True)
    hit = pc.is_in(arr, value_set=wanted, skip_nulls=True)
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def spread(values: pd.Series, index: pd.Index) -> pd.Series:
    """``values.reindex(index)`` (``values`` with a unique index) for a few values onto many keys:
    their keys are looked up in ``index``'s hash table, built once and kept by the index, instead
    of a table of the few being probed with every key (0.2 s a call onto a city's people).

    >>> spread(pd.Series([2.5, 1.0], index=["c", "x"]), pd.Index(["a", "b", "c"])).tolist()
    [nan, nan, 2.5]
    """
    at = index.get_indexer(values.index)
    found = at >= 0
    take = np.full(len(index), -1, dtype=np.intp)
    take[at[found]] = np.flatnonzero(found)
    return pd.Series(values.array.take(take, allow_fill=True), index=index, name=values.name)


def group_sizes(values: pd.Series) -> np.ndarray:
    """Per row: how many rows share its value (0 where the value is missing), by integer codes
    rather than a map over the values.

    >>> group_sizes(pd.Series(["a", None, "a", "b"])).tolist()
    [2, 0, 2, 1]
    """
    codes, _ = pd.factorize(values)
    counts = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, dtype=np.int64)
    return np.where(codes >= 0, counts[np.maximum(codes, 0)] if len(counts) else 0, 0)
