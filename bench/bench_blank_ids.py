"""Benchmark: matching when a source's IDs are blank (the independent city's student rolls).

    .venv/bin/python bench/bench_blank_ids.py --records 1000000 --source students --share 0.2

Uses bench_rules' cached run (run it first): reads its records.parquet, blanks the ID of a random
``share`` of the ``source`` rows (and what the ID gave: birth date, sex), links in this process,
and prints pairwise precision, recall and F1 over the department sources and how many records of
each source stay outside their person's main cluster, against the generator's truth. The truth is
read here only. Seeded, so two commits compare on the same blanked rows.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline import schema as S  # noqa: E402
from pipeline.contracts import RECORDS  # noqa: E402
from pipeline.match import link  # noqa: E402
from pipeline.match.evaluate import pairwise  # noqa: E402
from pipeline.match.prepare import INPUT_COLUMNS  # noqa: E402
from pipeline.match.settings import load_matching  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from bench_rules import DEPARTMENTS, RUN_DATE  # noqa: E402
from common import households_for  # noqa: E402


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--records", type=int, default=1_000_000)
    a.add_argument("--seed", type=int, default=5)
    a.add_argument("--source", default="students")
    a.add_argument("--share", type=float, default=0.2)
    a.add_argument("--work", default=str(ROOT / "bench" / "out"))
    args = a.parse_args()
    base = Path(args.work) / f"rules_{households_for(args.records)}_{args.seed}"
    run_dir = base / "reports" / RUN_DATE
    if not RECORDS.at(run_dir).exists():
        raise SystemExit(f"no cached run in {base}: run bench/bench_rules.py --records {args.records} first")
    rec = pd.read_parquet(RECORDS.at(run_dir), columns=INPUT_COLUMNS)
    pick = (rec[S.SOURCE] == args.source).to_numpy() & (
        np.random.default_rng(7).random(len(rec)) < args.share
    )
    rec.loc[pick, S.ID_NUMBER] = None
    rec.loc[pick, S.ID_STATUS] = S.IdStatus.MISSING.value
    rec.loc[pick, S.BIRTH_DATE] = pd.NaT
    rec.loc[pick, S.SEX] = None
    t = time.perf_counter()
    # as_of by keyword only where link takes it: the same script measures a commit from before it.
    since = {"as_of": date.fromisoformat(RUN_DATE)} if "as_of" in inspect.signature(link).parameters else {}
    r = link(rec, load_matching(ROOT / "rules" / "matching.yaml"), **since).records
    seconds = time.perf_counter() - t
    truth = pd.read_csv(
        base / "extracts" / "truth.csv", dtype={"row": "int64"}, usecols=["source", "file", "row", "person"]
    )
    j = r[[S.SOURCE, S.FILE, S.ROW, "cluster"]].merge(truth, on=["source", "file", "row"], how="left")
    dep = j[j[S.SOURCE].isin(DEPARTMENTS)]
    s = pairwise(dep["person"], dep["cluster"])
    # A person's main cluster holds most of their records; a tie goes to the cluster of their
    # first record in file order (so each run and commit counts the same records as outside).
    counts = j.groupby(["person", "cluster"], sort=False).size().rename("n").reset_index()
    main_cluster = (
        counts.sort_values("n", ascending=False, kind="stable")
        .drop_duplicates("person")
        .set_index("person")["cluster"]
    )
    size = j.groupby("person")["person"].transform("size")
    outside = (j["cluster"] != j["person"].map(main_cluster)) & (size > 1)
    print(
        f"== {len(rec):,} records; {int(pick.sum()):,} {args.source} IDs blanked ({args.share:.0%});"
        f" link {seconds:.1f} s"
    )
    print(f"department sources: precision {s.precision:.5f} recall {s.recall:.5f} F1 {s.f1:.5f}")
    print("records outside their person's main cluster:", j.loc[outside, S.SOURCE].value_counts().to_dict())


if __name__ == "__main__":
    main()
