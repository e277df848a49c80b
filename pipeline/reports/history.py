"""What earlier nights said: the first date each warning was raised, and counts per night for the trend.

Both live in the state folder (``pipeline.state.StateStore``), next to the person IDs:
- the history: warning_id, first_seen, last_seen. A warning id is ``<rule>-<person>``
  and person ids are stable across nights, so the same warning keeps its first date. A warning that
  goes away and comes back keeps its first date too (the township has seen that person before).
- the trend: run_date, county_code, township_code, rule, warnings, new; one set of rows
  per run date (a re-run replaces its date). Only whole runs are kept: a run limited to some counties
  or rules would look like a drop in the trend.

These functions take and return tables; the reports stage reads and writes them through the state
store, and writes them last, after every report file.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

FIRST_SEEN, STATUS = "first_seen", "status"
NEW, ONGOING = "新增", "持续"

TREND_COLUMNS = ["run_date", "county_code", "township_code", "rule", "warnings", "new"]


def annotate(history: pd.DataFrame, warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    """``warnings`` with first_seen (a date) and status (新增 when first raised tonight, else 持续)."""
    earlier = history.set_index("warning_id")[FIRST_SEEN].map(lambda d: pd.Timestamp(d).date())
    first = warnings["warning_id"].map(earlier)
    out = warnings.copy()
    # A re-run for an earlier date must not report a later first date than the run itself.
    out[FIRST_SEEN] = [min(d, run_date) if isinstance(d, date) else run_date for d in first]
    out[STATUS] = [NEW if d == run_date else ONGOING for d in out[FIRST_SEEN]]
    return out


def record(history: pd.DataFrame, warnings: pd.DataFrame, run_date: date) -> pd.DataFrame:
    """The history with tonight's warnings added."""
    tonight = pd.DataFrame(
        {
            "warning_id": warnings["warning_id"].astype("object"),
            FIRST_SEEN: pd.to_datetime(pd.Series(warnings[FIRST_SEEN].tolist(), dtype="object")),
            "last_seen": pd.Timestamp(run_date),
        }
    )
    merged = pd.concat(
        [history.astype({FIRST_SEEN: "datetime64[ns]", "last_seen": "datetime64[ns]"}), tonight]
    )
    return merged.groupby("warning_id", as_index=False).agg({FIRST_SEEN: "min", "last_seen": "max"})


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
