"""Benchmark: ingest + normalize + validate on generated extracts.

    .venv/bin/python bench/bench_foundation.py --records 1000000

Generates a synthetic population sized to about --records rows (cached under bench/out/), then
runs the three stages in a fresh child process and prints each stage's wall time, records per
second, and the child's peak memory (ru_maxrss). Machines are noisy: run it twice.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_extracts, households_for  # noqa: E402

CHILD = r"""
import json, logging, sys, time
from datetime import date
logging.basicConfig(level=logging.WARNING)
from pipeline.settings import Settings
from pipeline.sources import load_sources
from pipeline import stages
s = Settings.build(extracts=sys.argv[1], out=sys.argv[2], run_date=date(2026, 11, 29))
cfg = load_sources(s.sources_file)
t = {}
t0 = time.perf_counter()
rep = stages.ingest_stage(s, cfg)
t["ingest"] = time.perf_counter() - t0
t0 = time.perf_counter()
norm = stages.normalize_stage(s, rep, cfg)
t["normalize"] = time.perf_counter() - t0
t0 = time.perf_counter()
stages.validate_stage(s, rep, norm, cfg)
t["validate"] = time.perf_counter() - t0
summary = json.loads((s.quality_dir / "summary.json").read_text(encoding="utf-8"))
rows = sum(e.get("rows_read", 0) for e in summary["sources"].values())
import resource
print(json.dumps({"seconds": t, "rows": rows, "records": summary["records"],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rejected": sum(e.get("rejected", 0) for e in summary["sources"].values())}))
"""


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--work", default=str(ROOT / "bench" / "out"))
    a = p.parse_args()
    households = households_for(a.records)
    extracts = ensure_extracts(households, a.seed, Path(a.work) / f"extracts_{households}_{a.seed}")
    out = Path(a.work) / "reports"
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", CHILD, str(extracts), str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    r = json.loads(res.stdout.strip().splitlines()[-1])
    stage_total = sum(r["seconds"].values())
    print(f"rows read:        {r['rows']:>10,}")
    print(f"records accepted: {r['records']:>10,}   rejected: {r['rejected']:,}")
    for k, v in r["seconds"].items():
        print(f"{k:<10} {v:8.1f} s")
    print(
        f"stages total {stage_total:8.1f} s  ({r['rows'] / stage_total:,.0f} records/s);"
        f" process wall {wall:.1f} s"
    )
    # The stages' own process only: RUSAGE_CHILDREN would also count the generator run above.
    print(f"peak memory (max RSS of the stages' process): {r['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
