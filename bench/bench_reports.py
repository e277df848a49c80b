"""Benchmark: write every township workbook, summary.html/.xlsx and index.html for N warnings.

    .venv/bin/python bench/bench_reports.py --warnings 20000

The warnings are real pipeline output: the run bench_rules.py made at 1M records (24,028 warnings,
bench/out/rules_869565_5), sampled down to N with a fixed seed; without that run, the pipeline is
run once here on generated extracts of --records records (cached in bench/out/). Prints the time to
write the workbooks alone, the whole reports stage, the number of workbooks and the peak memory.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
from common import ROOT, ensure_extracts, households_for

from pipeline.cases.views import REVISIT_FIELDS
from pipeline.config import RunConfig
from pipeline.contracts import (
    CASES,
    HOUSEHOLDS,
    MATCH_SUMMARY,
    PERSONS,
    QUALITY,
    REVISITS,
    RULES_SUMMARY,
    TOWNSHIPS,
    WARNINGS,
    RulesSummary,
)
from pipeline.reports import Choices, history, plan_township_books, write_books
from pipeline.reports.prepare import prepare
from pipeline.reports.workbook import rule_rows
from pipeline.runs import run_all, run_stages
from pipeline.settings import Settings
from pipeline.state import StateStore

RUN_DATE = date(2026, 11, 29)


def source_run(records: int) -> Path:
    """A finished run with at least the warnings asked for: bench_rules' 1M run, else one made here."""
    for folder in sorted(
        (ROOT / "bench" / "out").glob("rules_*_5"), key=lambda p: -int(p.name.split("_")[1])
    ):
        run = folder / "reports" / RUN_DATE.isoformat()
        if WARNINGS.at(run).exists():
            return run
    base = ROOT / "bench" / "out" / f"reports_{records}"
    extracts = ensure_extracts(households_for(records), 5, base / "extracts")
    return run_all(
        Settings.build(extracts=extracts, out=base / "reports", state=base / "state", run_date=RUN_DATE)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warnings", type=int, default=20000)
    ap.add_argument("--records", type=int, default=1_000_000, help="size of the run made if none is cached")
    ap.add_argument("--keep", action="store_true", help="keep the written reports (to look at them)")
    args = ap.parse_args()

    source = source_run(args.records)
    work = Path(tempfile.mkdtemp(prefix="bench_reports_"))
    run_dir = work / "out" / RUN_DATE.isoformat()
    for output in (QUALITY, HOUSEHOLDS, PERSONS, RULES_SUMMARY, MATCH_SUMMARY):
        output.at(run_dir).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(output.at(source), output.at(run_dir))
    warnings = pd.read_parquet(WARNINGS.at(source))
    if len(warnings) < args.warnings:
        raise SystemExit(f"{source} has {len(warnings):,} warnings, fewer than --warnings {args.warnings:,}")
    warnings = warnings.sample(n=args.warnings, random_state=5)
    # As the cases stage hands them on a first night: every case new, no revisit due yet.
    warnings = warnings.assign(case_status="新预警", first_seen=RUN_DATE, case_note="")
    warnings.to_parquet(CASES.at(run_dir), index=False)
    revisits = pd.DataFrame(columns=list(REVISIT_FIELDS))
    revisits.astype("object").to_parquet(REVISITS.at(run_dir), index=False)
    print(f"{len(warnings):,} warnings from {source}")

    settings = Settings.build(
        extracts=ROOT / "data" / "sample", out=work / "out", state=work / "state", run_date=RUN_DATE
    )
    config = RunConfig.load(settings)
    state = StateStore(settings.state)
    rules_summary = RulesSummary.read(RULES_SUMMARY.at(run_dir))
    households = pd.read_parquet(HOUSEHOLDS.at(run_dir), columns=["household_key", "household_size"])
    persons = pd.read_parquet(PERSONS.at(run_dir), columns=["person_id", "id_number", "name"])

    t0 = time.perf_counter()
    prepared = prepare(history.mark_new(warnings, RUN_DATE), households, persons)
    t1 = time.perf_counter()
    rules_table = rule_rows(config.all_rules, rules_summary, config.source_labels)
    choices = Choices.of(config.all_rules, config.case_rules)
    books, jobs = plan_township_books(prepared, work / "books", RUN_DATE, rules_table, choices)
    write_books(jobs)
    t2 = time.perf_counter()
    print(f"prepare: {t1 - t0:.1f} s; workbooks: {len(books)} written in {t2 - t1:.1f} s")

    t3 = time.perf_counter()
    result = run_stages(config, run_dir, state, ["reports"])["reports"]
    t4 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    size_mb = sum(p.stat().st_size for p in TOWNSHIPS.at(run_dir).rglob("*.xlsx")) / 1024**2
    print(
        f"reports stage (read, history, {len(result.books)} workbooks, summary, index): {t4 - t3:.1f} s; "
        f"workbooks {size_mb:.1f} MB; peak RSS {peak_gb:.2f} GB"
    )
    if args.keep:
        print(f"kept: {run_dir}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
