"""What earlier nights said: the first date each warning was raised, and counts per night for the trend.

Both live in the state folder, next to the person IDs:
- ``warning_history.parquet``: warning_id, first_seen, last_seen. A warning id is ``<rule>-<person>``
  and person ids are stable across nights, so the same warning keeps its first date. A warning that
  goes away and comes back keeps its first date too (the township has seen that person before).
- ``warning_trend.parquet``: run_date, county_code, township_code, rule, warnings, new; one set of rows
  per run date (a re-run replaces its date). Only whole runs are kept: a run limited to some counties
  or rules would look like a drop in the trend.

Reading (``annotate``) and writing (``record``) are separate so the stage writes state last, after
every report file is written.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd

HISTORY = "warning_history.parquet"
TREND = "warning_trend.parquet"
FIRST_SEEN, STATUS = "first_seen", "status"
NEW, ONGOING = "新增", "持续"

TREND_COLUMNS = ["run_date", "county_code", "township_code", "rule", "warnings", "new"]


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.read_parquet(path)


def _replace(frame: pd.DataFrame, path: Path) -> None:
    """Write next to the target and rename over it: a killed run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def annotate(state: Path, warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    """``warnings`` with first_seen (a date) and status (新增 when first raised tonight, else 持续)."""
    history = _read(state / HISTORY, ["warning_id", FIRST_SEEN, "last_seen"])
    earlier = history.set_index("warning_id")[FIRST_SEEN].map(lambda d: pd.Timestamp(d).date())
    first = warnings["warning_id"].map(earlier)
    out = warnings.copy()
    # A re-run for an earlier date must not report a later first date than the run itself.
    out[FIRST_SEEN] = [min(d, run_date) if isinstance(d, date) else run_date for d in first]
    out[STATUS] = [NEW if d == run_date else ONGOING for d in out[FIRST_SEEN]]
    return out


def record(state: Path, warnings: pd.DataFrame, run_date: date, whole_run: bool) -> None:
    """Add tonight's warnings to the history and, for a whole run, tonight's counts to the trend."""
    history = _read(state / HISTORY, ["warning_id", FIRST_SEEN, "last_seen"])
    tonight = pd.DataFrame(
        {
            "warning_id": warnings["warning_id"].astype("object"),
            FIRST_SEEN: pd.to_datetime(pd.Series(warnings[FIRST_SEEN].tolist(), dtype="object")),
            "last_seen": pd.Timestamp(run_date),
        }
    )
    merged = pd.concat([history.astype({FIRST_SEEN: "datetime64[ns]", "last_seen": "datetime64[ns]"}), tonight])
    merged = merged.groupby("warning_id", as_index=False).agg({FIRST_SEEN: "min", "last_seen": "max"})
    _replace(merged, state / HISTORY)
    if whole_run:
        _replace(_with_tonight(_read(state / TREND, TREND_COLUMNS), warnings, run_date), state / TREND)


def _counts(warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    counts = (
        warnings.assign(new=warnings[STATUS] == NEW)
        .groupby(["county_code", "township_code", "rule"], dropna=False)
        .agg(warnings=("warning_id", "size"), new=("new", "sum"))
        .reset_index()
    )
    counts.insert(0, "run_date", pd.Timestamp(run_date))
    return counts


def _with_tonight(trend: pd.DataFrame, warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    if len(trend):
        trend = trend[pd.to_datetime(trend["run_date"]) != pd.Timestamp(run_date)]
    frames = [f for f in (trend, _counts(warnings, run_date)) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else _counts(warnings, run_date)
    return out[TREND_COLUMNS].astype({"warnings": "int64", "new": "int64"})


def trend(state: Path, warnings: pd.DataFrame, run_date: date, whole_run: bool) -> pd.DataFrame:
    """Warnings per run date and rule: the whole runs kept so far, and tonight's if it is one."""
    t = _read(state / TREND, TREND_COLUMNS)
    if whole_run:
        t = _with_tonight(t, warnings, run_date)
    if not len(t):
        return pd.DataFrame(columns=["run_date", "rule", "warnings", "new"])
    t["run_date"] = pd.to_datetime(t["run_date"]).dt.date
    return t.groupby(["run_date", "rule"], as_index=False)[["warnings", "new"]].sum()
