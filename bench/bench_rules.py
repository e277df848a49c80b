"""Benchmark: warning precision and recall per rule against the generator's truth, and time.

    .venv/bin/python bench/bench_rules.py --records 30000 1000000

For each size: generate the extracts and, beside them, the same rows before any error was injected
(``--clean-out``; rows made invalid on purpose left out), cached under bench/out/. The pipeline runs
every stage on the extracts in a child process (wall time and peak memory per stage). The expected
warnings come from the clean rows with every row assigned to its true person (no matching at all)
and the same households, facts and rule code: so the comparison measures what ID and name errors,
rejected rows and linking mistakes cost, not the rule definitions (hand-worked tests cover those).
A pipeline person counts as the true person most of its records belong to.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline import schema as S  # noqa: E402
from pipeline.eligibility import find_warnings  # noqa: E402
from pipeline.households import build as build_households  # noqa: E402
from pipeline.match.evaluate import pairwise  # noqa: E402
from pipeline.normalize.common import mode_by  # noqa: E402
from pipeline.normalize.places import Gazetteer  # noqa: E402
from pipeline.params import load_params  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.stages import load_rule_set, run_foundation  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_extracts, households_for  # noqa: E402

RUN_DATE = "2026-11-29"

PIPELINE = r"""
import json, logging, resource, shutil, sys, time
logging.basicConfig(level=logging.WARNING)
from pipeline import stages
from pipeline.settings import Settings
s = Settings.build(extracts=sys.argv[1], out=sys.argv[2], run_date=sys.argv[3], state=sys.argv[4])
shutil.rmtree(s.state, ignore_errors=True)
times = {}
t = time.perf_counter()
records = stages.run_foundation(s)
times["foundation"] = time.perf_counter() - t; t = time.perf_counter()
index = stages.match_stage(s, records)
times["match"] = time.perf_counter() - t; t = time.perf_counter()
households = stages.households_stage(s, index)
times["households"] = time.perf_counter() - t; t = time.perf_counter()
stages.rules_stage(s, households)
times["rules"] = time.perf_counter() - t
print(json.dumps({"seconds": times, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def expected_warnings(clean: Path, work: Path) -> pd.DataFrame:
    """(rule, person) a perfect pipeline would report: clean rows, true persons."""
    s = Settings.build(extracts=clean, out=work, run_date=RUN_DATE)
    records_file = s.records_file
    if not records_file.exists():
        run_foundation(s)
    records = pd.read_parquet(records_file)
    truth = pd.read_csv(clean / "truth.csv", dtype={"row": "int64"})
    keys = [S.SOURCE, S.FILE, S.ROW]
    index = records[keys].merge(truth.rename(columns={"person": "person_id"}), on=keys, how="left")
    assert index["person_id"].notna().all(), "every clean record must be in the truth"
    index = index.assign(match_probability=1.0, link_rule="id", evidence="truth")
    gaz = Gazetteer.from_csv(s.gazetteer_file)
    r = records.merge(index[[*keys, "person_id"]], on=keys)
    usable = r[r[S.ID_STATUS].isin([v.value for v in S.USABLE_ID])]
    persons = pd.DataFrame({"person_id": r["person_id"].unique()})
    for col in (S.ID_NUMBER, S.NAME, S.SEX, S.BIRTH_DATE, S.COUNTY_CODE, S.TOWNSHIP_CODE):
        source = usable if col in (S.ID_NUMBER, S.BIRTH_DATE) else r
        persons[col] = persons["person_id"].map(mode_by(source, "person_id", col))
    households = build_households(records, index, gaz)
    params = load_params(s.params_file, date.fromisoformat(RUN_DATE))
    warnings, _ = find_warnings(records, index, households, persons, params, load_rule_set(s), gaz)
    return warnings[["rule", "person_id"]].rename(columns={"person_id": "person"})


def run(size: int, seed: int, work: Path) -> None:
    households = households_for(size)
    base = work / f"rules_{households}_{seed}"
    clean = base / "clean"
    extracts = ensure_extracts(households, seed, base / "extracts", clean_out=clean)
    out, state = base / "reports", base / "state"
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", PIPELINE, str(extracts), str(out), RUN_DATE, str(state)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    measured = json.loads(res.stdout.strip().splitlines()[-1])
    data = out / RUN_DATE / "data"
    got = pd.read_parquet(data / "warnings.parquet", columns=["rule", "person_id"])
    index = pd.read_parquet(data / "person_index.parquet", columns=["source", "file", "row", "person_id"])
    truth = pd.read_csv(extracts / "truth.csv", dtype={"row": "int64"})
    joined = index.merge(truth, on=["source", "file", "row"], how="left")
    true_person = mode_by(joined, "person_id", "person")
    got = got.assign(person=got["person_id"].map(true_person))
    want = expected_warnings(clean, base / "truth_run")

    print(f"== {len(index):,} records ({households:,} households, seed {seed}), run date {RUN_DATE}")
    secs = measured["seconds"]
    print(
        "stages: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items())
        + f"; child wall {wall:.0f} s; peak memory {measured['peak_mb']:,.0f} MB (whole run, one process)"
    )
    pw = pairwise(joined["person"], joined["person_id"])
    print(f"matching: pairwise precision {pw.precision:.5f} recall {pw.recall:.5f} F1 {pw.f1:.5f}")
    print(f"{'rule':<5} {'expected':>9} {'warned':>8} {'correct':>8} {'precision':>10} {'recall':>8}")
    for rule in sorted(set(want["rule"]) | set(got["rule"])):
        w = set(want.loc[want["rule"] == rule, "person"])
        g = got[got["rule"] == rule]
        hit = g["person"].isin(w)
        correct = int(hit.sum())
        found = len(w & set(g["person"].dropna()))
        precision = correct / len(g) if len(g) else float("nan")
        recall = found / len(w) if w else float("nan")
        print(f"{rule:<5} {len(w):>9,} {len(g):>8,} {correct:>8,} {precision:>10.4f} {recall:>8.4f}")
    print(f"all   {len(want):>9,} {len(got):>8,}")


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
