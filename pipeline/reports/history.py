"""What earlier nights said: new or continued warnings, and counts per night for the trend.

The first date of each warning is its case's (``pipeline.cases``: a warning id is ``<rule>-<person>``
and person ids are stable across nights, so the same warning keeps its first date, also when it goes
away and comes back). The trend lives in the state folder (``pipeline.state.StateStore``):
run_date, county_code, township_code, rule, warnings, new; one set of rows per run date (a re-run
replaces its date). Only whole runs are kept: a run limited to some counties or rules would look
like a drop in the trend.

These functions take and return tables; the reports stage reads and writes the trend through the
state store, last, after every report file.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

FIRST_SEEN, STATUS = "first_seen", "status"
NEW, ONGOING = "新增", "持续"

TREND_COLUMNS = ["run_date", "county_code", "township_code", "rule", "warnings", "new"]


def mark_new(warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    """``warnings`` (with their case's first_seen) with status: 新增 when first raised tonight, else 持续."""
    out = warnings.copy()
    first = pd.to_datetime(pd.Series(out[FIRST_SEEN].tolist(), index=out.index, dtype="object"))
    out[STATUS] = [NEW if d == pd.Timestamp(run_date) else ONGOING for d in first]
    return out


def _counts(warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    counts = (
        warnings.assign(new=warnings[STATUS] == NEW)
        .groupby(["county_code", "township_code", "rule"], dropna=False)
        .agg(warnings=("warning_id", "size"), new=("new", "sum"))
        .reset_index()
    )
    counts.insert(0, "run_date", pd.Timestamp(run_date))
    return counts


def with_tonight(trend: pd.DataFrame, warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    if len(trend):
        trend = trend[pd.to_datetime(trend["run_date"]) != pd.Timestamp(run_date)]
    frames = [f for f in (trend, _counts(warnings, run_date)) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else _counts(warnings, run_date)
    return out[TREND_COLUMNS].astype({"warnings": "int64", "new": "int64"})


def trend(kept: pd.DataFrame, warnings: pd.DataFrame, run_date: date, whole_run: bool) -> pd.DataFrame:
    """Warnings per run date and rule: the whole runs kept so far, and tonight's if it is one."""
    t = with_tonight(kept, warnings, run_date) if whole_run else kept
    if not len(t):
        return pd.DataFrame(columns=["run_date", "rule", "warnings", "new"])
    t["run_date"] = pd.to_datetime(t["run_date"]).dt.date
    return t.groupby(["run_date", "rule"], as_index=False)[["warnings", "new"]].sum()


def gone_since_last_whole_run(
    history: pd.DataFrame, kept_trend: pd.DataFrame, tonight: pd.DataFrame, run_date: date
) -> dict[str, int]:
    """Per rule, the warnings of the last whole night before ``run_date`` that are not raised
    tonight (resolved, or their condition gone): ids whose last night was that one.

    An id seen by a partial run after that night counts as seen then, so it is not counted here.
    """
    if not len(kept_trend) or not len(history):
        return {}
    dates = pd.to_datetime(kept_trend["run_date"])
    before = dates[dates < pd.Timestamp(run_date)]
    if before.empty:
        return {}
    last = before.max()
    seen = history.loc[pd.to_datetime(history["last_seen"]) == last, "warning_id"]
    gone = seen[~seen.isin(set(tonight["warning_id"]))]
    return {str(k): int(v) for k, v in gone.str.split("-").str[0].value_counts().items()}
