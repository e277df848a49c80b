"""The state folder: one writer at a time, and never a half-written file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.contracts import MANIFEST
from pipeline.runs import run_all
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.state import StateLockedError, StateStore

RUN_DATE = date(2026, 11, 29)


def test_a_held_state_folder_refuses_a_second_holder_naming_the_first(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    with store.lock("the run for 2026-11-29 into /srv/reports (pid 42)"):
        with pytest.raises(
            StateLockedError, match=r"in use by the run for 2026-11-29 into /srv/reports \(pid 42\)"
        ):
            with store.lock("another"):
                pass
    with store.lock("another"):  # released at the end of the block
        assert "another" in store.holder()


def test_a_second_holder_waits_when_asked(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    order: list[str] = []

    def first() -> None:
        with store.lock("first"):
            order.append("first in")
            time.sleep(1.5)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    while not order:
        time.sleep(0.01)
    with StateStore(tmp_path / "state").lock("second", wait_seconds=30):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]


def test_two_runs_on_one_state_folder_never_interleave(tmp_path: Path, sample_dir: Path) -> None:
    """A nightly run and an analyst's backfill into another output folder, started together: the
    second waits for the first; their state-holding periods do not overlap."""
    code = textwrap.dedent(
        """
        import sys
        from pipeline.runs import run_all
        from pipeline.settings import Settings
        s = Settings.build(extracts=sys.argv[1], out=sys.argv[2], state=sys.argv[3], run_date=sys.argv[4])
        run_all(s, wait_seconds=float(sys.argv[5]))
        """
    )
    state = tmp_path / "state"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(sample_dir), str(tmp_path / out), str(state), day, "300"],
            cwd=PROJECT_ROOT,
        )
        for out, day in (("nightly", "2026-11-29"), ("backfill", "2026-11-20"))
    ]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    spans = sorted(
        (m["started"], m["finished"])
        for m in (
            json.loads(MANIFEST.at(tmp_path / out / day).read_text(encoding="utf-8"))
            for out, day in (("nightly", "2026-11-29"), ("backfill", "2026-11-20"))
        )
    )
    assert spans[0][1] <= spans[1][0], f"the runs overlapped: {spans}"
    # And without waiting, a run started while another holds the state is refused at once.
    with StateStore(state).lock("the nightly run"):
        with pytest.raises(StateLockedError, match="in use by the nightly run"):
            run_all(
                Settings.build(extracts=sample_dir, out=tmp_path / "third", state=state, run_date=RUN_DATE)
            )
    assert not (tmp_path / "third" / RUN_DATE.isoformat()).exists()


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    from pipeline.state import StateStore
    store = StateStore(sys.argv[1])
    n = 0
    while True:  # rewrite every state file, big enough that a kill lands mid-write
        n += 1
        big = pd.DataFrame({"key": np.arange(400_000).astype(str), "person_id": f"P{n:010d}"})
        store.save_person_keys(big)
        store.save_decisions(pd.DataFrame({"a": ["x"] * n, "b": ["y"] * n, "verdict": ["同一人"] * n}))
        trend = big.rename(columns={"key": "rule", "person_id": "township_code"})
        store.save_warning_trend(trend.head(50_000))
        print(n, flush=True)
    """
)


def test_a_writer_killed_at_any_moment_leaves_every_state_file_readable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    mid_write = 0
    targets = ["person_keys", "warning_trend", "decisions"] * 2
    for target in targets:
        before = set(state.glob(".*.tmp"))
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # one full round written: every file exists from here on
        # Kill it while it writes the target file (its temporary file is there), or after 3 s.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not set(state.glob(f".{target}.parquet.*.tmp")) - before:
            pass
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        mid_write += bool(set(state.glob(".*.tmp")) - before)  # killed inside a write
        store = StateStore(state)
        for frame in (store.person_keys(), store.decisions(), store.warning_trend()):
            assert len(frame) > 0
        assert store.person_keys()["person_id"].nunique() == 1  # one whole round, never a mix
    assert mid_write >= 1, "at least one kill should land inside a write"
    # The next holder of the lock removes what the killed writers left behind.
    with StateStore(state).lock("cleanup"):
        assert not list(state.glob(".*.tmp"))


def test_state_files_are_kept_from_other_users(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    store.save_decisions(pd.DataFrame({"a": ["x"], "b": ["y"], "verdict": ["不同人"]}))
    assert (tmp_path / "state" / "decisions.parquet").stat().st_mode & 0o777 == 0o640
