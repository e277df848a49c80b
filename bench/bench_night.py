"""Benchmark: the whole night end to end (ingest -> workbooks), as the nightly run operates it.

    .venv/bin/python bench/bench_night.py --records 1000000

Generates the extracts (seed 5, cached under bench/out/, shared with bench_rules.py), then runs
``pipeline.runs.run_night`` in a fresh child process on an empty state folder: staging, the date and
state locks, every stage, the manifest and the publishing rename. Prints seconds per stage, the
night's total, the child's wall time (imports included) and its peak memory. Machines are noisy:
run it twice and keep the machine otherwise idle.

``--departments-only`` runs the same night on the seven department extracts alone (a folder of
links beside the extracts, without the hotline, village reports, vehicles and property): the
cost of the other channels is the difference.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_extracts, households_for, run_in_child, size_args  # noqa: E402

from pipeline.contracts import MANIFEST  # noqa: E402

RUN_DATE = "2026-11-29"
OTHER_CHANNELS = ("hotline", "reports", "vehicles", "property")


def main() -> None:
    a = size_args(
        __doc__, 1_000_000, 5, {"--departments-only": "without the hotline, reports, vehicles, property"}
    )
    households = households_for(a.records)
    base = Path(a.work) / f"rules_{households}_{a.seed}"
    extracts = ensure_extracts(households, a.seed, base / "extracts", clean_out=base / "clean")
    out, state = base / "night", base / "night_state"
    if a.departments_only:
        only = base / "departments"
        shutil.rmtree(only, ignore_errors=True)
        only.mkdir()
        for folder in extracts.iterdir():
            if folder.is_dir() and folder.name not in OTHER_CHANNELS:
                (only / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
        extracts, out, state = only, base / "night_departments", base / "night_departments_state"
    shutil.rmtree(out, ignore_errors=True)
    m = run_in_child(extracts, out, RUN_DATE, state, mode="night")
    assert MANIFEST.at(out / RUN_DATE).exists()
    what = "the department extracts only" if a.departments_only else "every channel"
    print(f"== the night on {a.records:,} records ({households:,} households, seed {a.seed}), {what}")
    for k, v in m.seconds.items():
        print(f"{k:<11} {v:7.1f} s")
    print(
        f"night total {m.total:7.1f} s (child wall {m.wall:.1f} s with imports);"
        f" peak memory {m.peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
