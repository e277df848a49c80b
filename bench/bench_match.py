"""Benchmark: entity resolution accuracy, time and memory at two sizes.

    .venv/bin/python bench/bench_match.py --records 30000 1000000

For each size: generate extracts with the project's generator (cached under bench/out/), run
ingest + normalize + validate once (cached), then run the matching stage in a fresh child process
and print pairwise precision, recall and F1 against the generator's truth, with the matching
stage's wall time and the child's peak memory. The truth is read here only, never by the pipeline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.match.evaluate import pairwise  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_extracts, households_for  # noqa: E402

RUN_DATE = "2026-11-29"

FOUNDATION = r"""
import logging, sys
logging.basicConfig(level=logging.WARNING)
from pipeline.settings import Settings
from pipeline.stages import run_foundation
run_foundation(Settings.build(extracts=sys.argv[1], out=sys.argv[2], run_date=sys.argv[3]))
"""
MATCH = r"""
import json, logging, resource, shutil, sys, time
logging.basicConfig(level=logging.WARNING)
from pipeline.settings import Settings
from pipeline.stages import match_stage
s = Settings.build(extracts=sys.argv[1], out=sys.argv[2], run_date=sys.argv[3], state=sys.argv[4])
shutil.rmtree(s.state, ignore_errors=True)
t = time.perf_counter()
match_stage(s, s.records_file)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(size: int, seed: int, work: Path) -> None:
    households = households_for(size)
    base = work / f"match_{households}_{seed}"
    extracts, out, state = (
        ensure_extracts(households, seed, base / "extracts"),
        base / "reports",
        base / "state",
    )
    records_file = out / RUN_DATE / "data" / "records.parquet"
    if not records_file.exists():
        subprocess.run(
            [sys.executable, "-c", FOUNDATION, str(extracts), str(out), RUN_DATE], check=True, cwd=ROOT
        )
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", MATCH, str(extracts), str(out), RUN_DATE, str(state)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    measured = json.loads(res.stdout.strip().splitlines()[-1])
    stage_seconds, peak_mb = measured["seconds"], measured["peak_mb"]
    index = pd.read_parquet(
        out / RUN_DATE / "data" / "person_index.parquet", columns=["source", "file", "row", "person_id"]
    )
    truth = pd.read_csv(extracts / "truth.csv", dtype={"row": "int64"})
    joined = index.merge(truth, on=["source", "file", "row"], how="left")
    assert joined["person"].notna().all(), "every record must be in the truth"
    s = pairwise(joined["person"], joined["person_id"])
    summary = json.loads((out / RUN_DATE / "data" / "match_summary.json").read_text(encoding="utf-8"))
    print(f"== {len(index):,} records ({households:,} households, seed {seed})")
    print(
        f"pairwise precision {s.precision:.5f}  recall {s.recall:.5f}  F1 {s.f1:.5f}"
        f"  (true pairs {s.true_pairs:,}, predicted {s.predicted_pairs:,}, correct {s.correct_pairs:,})"
    )
    print(
        f"matching stage {stage_seconds:.1f} s (child wall {wall:.1f} s, with imports); "
        f"peak memory {peak_mb:,.0f} MB (the matching process's max RSS)"
    )
    print(
        f"people {summary['persons']:,}; pairs per pass {summary['pairs_per_pass']}; "
        f"review pairs {summary['review_pairs']:,}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, nargs="+", default=[30_000, 1_000_000])
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--work", default=str(ROOT / "bench" / "out"))
    a = p.parse_args()
    for size in a.records:
        run(size, a.seed, Path(a.work))


if __name__ == "__main__":
    main()
