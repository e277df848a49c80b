"""Benchmark: ingest + normalize + validate on generated extracts.

    .venv/bin/python bench/bench_foundation.py --records 1000000

Generates a synthetic population sized to about --records rows (cached under bench/out/), then
runs the three stages in a fresh child process and prints each stage's wall time, records per
second, and the child's peak memory (ru_maxrss). Machines are noisy: run it twice.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_extracts, households_for, run_in_child, size_args  # noqa: E402

from pipeline.contracts import QUALITY, QualitySummary  # noqa: E402

RUN_DATE = "2026-11-29"


def main() -> None:
    a = size_args(__doc__, 1_000_000, 11)
    households = households_for(a.records)
    extracts = ensure_extracts(households, a.seed, Path(a.work) / f"extracts_{households}_{a.seed}")
    out = Path(a.work) / "reports"
    m = run_in_child(extracts, out, RUN_DATE, Path(a.work) / "state", ["ingest", "normalize", "validate"])
    summary = QualitySummary.read(QUALITY.at(out / RUN_DATE))
    stage_total = sum(m.seconds.values())
    print(f"rows read:        {summary.rows_read:>10,}")
    print(f"records accepted: {summary.records:>10,}   rejected: {summary.rows_rejected:,}")
    for k, v in m.seconds.items():
        print(f"{k:<10} {v:8.1f} s")
    print(
        f"stages total {stage_total:8.1f} s  ({summary.rows_read / stage_total:,.0f} records/s);"
        f" process wall {m.wall:.1f} s"
    )
    # The stages' own process only: RUSAGE_CHILDREN would also count the generator run above.
    print(f"peak memory (max RSS of the stages' process): {m.peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
