"""Benchmark: entity resolution accuracy, time and memory at two sizes.

    .venv/bin/python bench/bench_match.py --records 30000 1000000

For each size: generate extracts with the project's generator (cached under bench/out/), run
ingest + normalize + validate once (cached), then run the matching stage in a fresh child process
and print pairwise precision, recall and F1 against the generator's truth, with the matching
stage's wall time and the child's peak memory. The truth is read here only, never by the pipeline.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.contracts import MATCH_SUMMARY, PERSON_INDEX, RECORDS, MatchSummary  # noqa: E402
from pipeline.match.errors import ErrorEstimates  # noqa: E402
from pipeline.match.evaluate import pairwise  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from common import ensure_extracts, households_for, run_in_child, scaled, size_args  # noqa: E402

RUN_DATE = "2026-11-29"


def run(size: int, seed: int, work: Path, error_scale: float = 1.0) -> None:
    households = households_for(size)
    base = work / scaled(f"match_{households}_{seed}", error_scale)
    extracts, out, state = (
        ensure_extracts(households, seed, base / "extracts", error_scale=error_scale),
        base / "reports",
        base / "state",
    )
    run_dir = out / RUN_DATE
    if not RECORDS.at(run_dir).exists():
        run_in_child(extracts, out, RUN_DATE, state, ["ingest", "normalize", "validate"])
    m = run_in_child(extracts, out, RUN_DATE, state, ["match"])
    index = pd.read_parquet(
        PERSON_INDEX.at(run_dir),
        columns=["source", "file", "row", "person_id", "link_rule", "linked_via", "record_key"],
    )
    truth = pd.read_csv(extracts / "truth.csv", dtype={"row": "int64"})
    joined = index.merge(truth, on=["source", "file", "row"], how="left")
    assert joined["person"].notna().all(), "every record must be in the truth"
    s = pairwise(joined["person"], joined["person_id"])
    summary = MatchSummary.read(MATCH_SUMMARY.at(run_dir))
    print(f"== {len(index):,} records ({households:,} households, seed {seed})")
    print(
        f"pairwise precision {s.precision:.5f}  recall {s.recall:.5f}  F1 {s.f1:.5f}"
        f"  (true pairs {s.true_pairs:,}, predicted {s.predicted_pairs:,}, correct {s.correct_pairs:,})"
    )
    print(
        f"matching stage {m.seconds['match']:.1f} s (child wall {m.wall:.1f} s, with imports); "
        f"peak memory {m.peak_mb:,.0f} MB (the matching process's max RSS)"
    )
    print(
        f"people {summary.persons:,}; pairs per pass {summary.pairs_per_pass}; "
        f"review pairs {summary.review_pairs:,}"
    )
    print_errors(joined, ErrorEstimates.from_dict(summary.errors))


def true_errors(joined: pd.DataFrame) -> pd.DataFrame:
    """Per record: a model link to someone else (false), or a record without an ID left alone
    while its person has other records (missed), by the generator's truth."""
    # A key names one record, or all records of one ID (I:<id>): its holder is their first's person.
    person_of = joined.drop_duplicates("record_key").set_index("record_key")["person"]
    model = joined["link_rule"] == "model"
    false = model & (joined["linked_via"].map(person_of) != joined["person"])
    size = joined.groupby("person_id")["person_id"].transform("size")
    records_of_person = joined.groupby("person")["person"].transform("size")
    alone = joined["link_rule"].isin(["none", "model"]) & (size == 1)
    missed = alone & (records_of_person > 1)
    return pd.DataFrame({"source": joined["source"], "false": false, "missed": missed})


def print_errors(joined: pd.DataFrame, est: ErrorEstimates) -> None:
    """The night's estimate (from the model alone) beside the truth, overall and per source."""
    t = true_errors(joined)
    f, mi = est.false_links, est.missed_links
    print(
        f"false links: estimated {f.expected:,.0f} (range {f.low:,.0f}-{f.high:,.0f}), "
        f"true {int(t['false'].sum()):,}"
        f" of {est.linked_by_model:,} model links"
    )
    print(
        f"missed links: estimated {mi.expected:,.0f} (range {mi.low:,.0f}-{mi.high:,.0f}), "
        f"true {int(t['missed'].sum()):,} of {est.alone_without_id:,} records without an ID left alone"
    )
    per = t.groupby("source")[["false", "missed"]].sum()
    print(f"{'source':<12}{'false est':>10}{'true':>7}{'missed est':>12}{'true':>7}")
    for source, row in per.iterrows():
        e = est.by_source.get(str(source), {})
        print(
            f"{source!s:<12}{e.get('false', 0):>10,.0f}{int(row['false']):>7,}"
            f"{e.get('missed', 0):>12,.0f}{int(row['missed']):>7,}"
        )


def main() -> None:
    a = size_args(__doc__, [30_000, 1_000_000], 5)
    for size in a.records:
        run(size, a.seed, Path(a.work), a.error_scale)


if __name__ == "__main__":
    main()
