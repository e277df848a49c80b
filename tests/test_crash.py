"""A night killed with SIGKILL at several points, then run again for the same date: every state file
stays readable, and the second run's outputs are those of a night never interrupted."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pipeline.contracts import CASE_FACTS, PERSON_INDEX, RAW, TOWNSHIPS
from pipeline.runs import run_all
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.state import StateStore

DAY = "2026-11-29"
CHILD = (
    "import sys; from pipeline.runs import run_all; from pipeline.settings import Settings; "
    "run_all(Settings.build(extracts=sys.argv[1], out=sys.argv[2], state=sys.argv[3], run_date=sys.argv[4]))"
)
OUTPUTS = ("records", "person_index", "persons", "households", "warnings", "cases")


def staged(out: Path, rel: str) -> list[Path]:
    return list((out / ".staging").glob(f"{DAY}-*/{DAY}/{rel}"))


#: Where to kill: a moment recognised from the files the run writes.
POINTS: dict[str, Callable[[Path, Path], bool]] = {
    "during ingest": lambda out, state: bool(staged(out, RAW.path.replace("{source}", "*"))),
    "while matching writes the state": lambda out, state: bool(
        list(state.glob(".person_keys.parquet.*.tmp")) or staged(out, PERSON_INDEX.path)
    ),
    "while the case store commits": lambda out, state: bool(staged(out, CASE_FACTS.path)),
    "while reports are written": lambda out, state: bool(staged(out, f"{TOWNSHIPS.path}/*/*.xlsx")),
}


def outputs(run: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(run / "data" / f"{name}.parquet") for name in OUTPUTS}


def readable(state: Path) -> None:
    store = StateStore(state)
    for frame in (store.person_keys(), store.decisions(), store.warning_trend()):
        assert isinstance(frame, pd.DataFrame)
    db = state / "cases.sqlite"
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.cases().frame()
        store.close()


@pytest.mark.slow
def test_a_night_killed_anywhere_is_completed_by_the_next_run(tmp_path: Path, sample_dir: Path) -> None:
    baseline = run_all(
        Settings.build(
            extracts=sample_dir, out=tmp_path / "base", state=tmp_path / "base-state", run_date=DAY
        )
    )
    expected = outputs(baseline)
    for n, (point, reached) in enumerate(POINTS.items()):
        out, state = tmp_path / f"out{n}", tmp_path / f"state{n}"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(sample_dir), str(out), str(state), DAY], cwd=PROJECT_ROOT
        )
        deadline = time.monotonic() + 120
        while not reached(out, state) and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert child.poll() is None, f"{point}: the run ended before the point was reached"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert not (out / DAY).exists(), point  # nothing half-published
        readable(state)
        if point == "while reports are written":  # raised, not yet published: exactly 新预警
            killed = StateStore(state).cases()
            assert set(killed.frame()["status"]) == {"new"}, point
            killed.dispose()
        again = run_all(Settings.build(extracts=sample_dir, out=out, state=state, run_date=DAY))
        readable(state)
        got = outputs(again)
        for name in OUTPUTS:
            pd.testing.assert_frame_equal(got[name], expected[name], obj=f"{point}: {name}")
        cases = StateStore(state).cases()
        mine = cases.frame().set_index("warning_id").sort_index()
        base = StateStore(tmp_path / "base-state").cases().frame().set_index("warning_id").sort_index()
        cols = ["status", "first_seen", "sent_on", "published_on"]
        pd.testing.assert_frame_equal(mine[cols], base[cols], obj=f"{point}: the case store")
        cases.dispose()
