"""Benchmark: an incremental night, where one new hospital file arrived, against a full night.

    .venv/bin/python bench/bench_incremental.py --records 1000000

The extracts are bench_night's (seed 5, cached under bench/out/). Night 1 (2026-11-28) runs on
every file but the newest hospital file (住院结算_2026.csv, about 8% of the records), on an empty
state folder: a full night that fills the memo and saves the model. Night 2 (2026-11-29) adds the
file and runs twice from the same state: incrementally (the target), and with --full (AD_FULL=1)
from a copy of that state. Then night 2 once more, incrementally, as an analyst's re-run of the same
date with nothing new (every township workbook from the memo), and night 3 (2026-11-30) on the
same files: the commonest night, when no extract arrived. Prints seconds per stage, and
whether the incremental and the full night's person ids, warnings and cases are identical.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import Measured, ensure_extracts, households_for, run_in_child, size_args  # noqa: E402

from pipeline.contracts import CASES, PERSON_INDEX, WARNINGS  # noqa: E402

LATE = ("medical", "住院结算_2026.csv")
NIGHT_1, NIGHT_2, NIGHT_3 = "2026-11-28", "2026-11-29", "2026-11-30"


def linked_copy(extracts: Path, dest: Path, leave_out: tuple[str, str] | None) -> None:
    """The extracts as a folder of links to their files, without ``leave_out``."""
    shutil.rmtree(dest, ignore_errors=True)
    for f in extracts.rglob("*"):
        if f.is_file() and f.parent != extracts and (f.parent.name, f.name) != leave_out:
            (dest / f.parent.name).mkdir(parents=True, exist_ok=True)
            (dest / f.parent.name / f.name).symlink_to(f.resolve())


def show(name: str, m: Measured) -> None:
    stages = "  ".join(f"{k} {v:.1f}" for k, v in m.seconds.items() if v >= 0.05)
    print(f"{name:<24} {m.total:6.1f} s  peak {m.peak_mb:,.0f} MB   {stages}")


def main() -> None:
    a = size_args(__doc__, 1_000_000, 5)
    households = households_for(a.records)
    base = Path(a.work) / f"rules_{households}_{a.seed}"
    extracts = ensure_extracts(households, a.seed, base / "extracts", clean_out=base / "clean")
    work = base / "incremental"
    files, state, twin = work / "extracts", work / "state", work / "state_full"
    linked_copy(extracts, files, LATE)
    shutil.rmtree(work / "out", ignore_errors=True)
    shutil.rmtree(work / "out_full", ignore_errors=True)
    first = run_in_child(files, work / "out", NIGHT_1, state, mode="night")
    late = files / LATE[0] / LATE[1]
    late.symlink_to((extracts / LATE[0] / LATE[1]).resolve())
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(state, twin)
    inc = run_in_child(files, work / "out", NIGHT_2, state, mode="night", keep_state=True)
    full = run_in_child(
        files, work / "out_full", NIGHT_2, twin, mode="night", keep_state=True, env={"AD_FULL": "1"}
    )
    import pandas as pd

    same = {}
    for out in (PERSON_INDEX, WARNINGS, CASES):
        one = pd.read_parquet(out.at(work / "out" / NIGHT_2))
        two = pd.read_parquet(out.at(work / "out_full" / NIGHT_2))
        same[out.key] = one.equals(two)
    # Compared first: the re-run replaces the incremental night's folder.
    again = run_in_child(files, work / "out", NIGHT_2, state, mode="night", keep_state=True)
    # The commonest night of all: no file changed since yesterday (extracts come monthly).
    quiet = run_in_child(files, work / "out", NIGHT_3, state, mode="night", keep_state=True)
    print(f"== {a.records:,} records ({households:,} households, seed {a.seed}); {LATE[1]} on night 2")
    show("night 1 (full, new state)", first)
    show("night 2 incremental", inc)
    show("night 2 full (--full)", full)
    show("night 2 again (same date)", again)
    show("night 3 (nothing new)", quiet)
    print("night 2 incremental == full:", ", ".join(f"{k} {v}" for k, v in same.items()))


if __name__ == "__main__":
    main()
