"""The closed loop at city scale: the nightly case update and a feedback import (issue: cases).

    .venv/bin/python bench/bench_cases.py               # the 1M-record run of bench_rules (cached)
    .venv/bin/python bench/bench_cases.py --feedback 10000 --pad 6000

From a finished 1M-record run (its records, people, households) it runs, on a SQLite case store:
1. the rules stage (warnings and the case facts),
2. night 1: the cases stage (every warning opens a case), then the reports stage (workbooks
   written, the cases marked 已下发),
3. ``--pad`` more open cases as an earlier night would have left them (to reach about 30,000
   open cases; they are not raised on night 2, so that night closes them as 条件已消失),
4. ``--feedback`` answered rows written into the real township workbooks with openpyxl (not timed),
   then imported with the same code as ``active-discovery feedback`` (timed),
5. night 2, a week later: the cases stage again (timed): continued, held, closed, overdue.
Prints each step's seconds, the counts, and this process's peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
from bench_reports import RUN_DATE, source_run

from pipeline.cases.feedback import import_files
from pipeline.cases.store import Origin
from pipeline.config import RunConfig
from pipeline.contracts import (
    CASE_FACTS,
    CASE_SUMMARY,
    HOUSEHOLDS,
    MATCH_SUMMARY,
    PERSON_INDEX,
    PERSONS,
    QUALITY,
    RECORDS,
    REVIEW_CHECKS,
    REVIEW_QUEUE,
    RULES_SUMMARY,
    TOWNSHIPS,
    WARNINGS,
    CaseSummary,
)
from pipeline.runs import run_stages
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.state import StateStore


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def fill_workbooks(
    books: list[Path], n: int, answers_of: dict[str, tuple[str, ...]], day: date, out: Path
) -> int:
    """Answer ``n`` warnings across the workbooks, as townships would; returns the rows filled."""
    rng = random.Random(5)
    out.mkdir(parents=True, exist_ok=True)
    filled = 0
    per_book = max(n // max(len(books), 1), 1)
    for book in books:
        if filled >= n:
            break
        wb = openpyxl.load_workbook(book)
        ws = wb["预警名单"]
        head = {c.value: c.column for c in ws[3] if c.value}
        for r in range(4, min(ws.max_row, 3 + per_book * 2) + 1):
            wid = ws.cell(r, head["预警编号"]).value
            if not wid or filled >= n:
                continue
            ws.cell(r, head["核查结果"]).value = rng.choice(answers_of[str(wid).split("-")[0]])
            ws.cell(r, head["核查说明"]).value = "入户核实"
            ws.cell(r, head["核查人"]).value = "核查员"
            ws.cell(r, head["核查日期"]).value = day
            filled += 1
        wb.save(out / book.name)
    return filled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000, help="size of the run made if none is cached")
    ap.add_argument("--feedback", type=int, default=10_000, help="answered rows to import")
    ap.add_argument("--pad", type=int, default=6_000, help="open cases added as an earlier night left them")
    args = ap.parse_args()

    source = source_run(args.records)
    work = Path(tempfile.mkdtemp(prefix="bench_cases_"))
    d1, d2 = RUN_DATE, RUN_DATE + timedelta(days=7)
    settings = Settings.build(
        extracts=PROJECT_ROOT / "data" / "sample", out=work / "out", state=work / "state", run_date=d1
    )
    run1 = settings.run_dir
    # What the rules and reports stages read from the match stage and before.
    for output in (
        RECORDS,
        PERSON_INDEX,
        PERSONS,
        HOUSEHOLDS,
        QUALITY,
        MATCH_SUMMARY,
        REVIEW_QUEUE,
        REVIEW_CHECKS,
    ):
        output.at(run1).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(output.at(source), output.at(run1))
    config = RunConfig.load(settings)
    state = StateStore(settings.state)
    store = state.cases()

    t = time.perf_counter()
    run_stages(config, run1, state, ["rules"])
    print(f"rules stage (warnings and case facts): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    run_stages(config, run1, state, ["cases"])
    first = CaseSummary.read(CASE_SUMMARY.at(run1))
    print(f"night 1 cases stage: {time.perf_counter() - t:.1f} s; opened {first.counts['opened']:,}")
    t = time.perf_counter()
    run_stages(config, run1, state, ["reports"])
    books = sorted(TOWNSHIPS.at(run1).rglob("*.xlsx"))
    print(f"night 1 reports stage: {time.perf_counter() - t:.1f} s; {len(books)} workbooks")

    # Open cases an earlier night left (rules and people of this city, ids not raised tonight).
    with store.begin() as conn:
        before = store.frame(conn)
        persons = pd.read_parquet(PERSONS.at(run1), columns=["person_id", "township_code", "county_code"])
        taken = set(before["warning_id"])
        extra = persons[~("R05-" + persons["person_id"]).isin(taken)].sample(n=args.pad, random_state=5)
        pad = before.iloc[:0].reindex(range(len(extra))).astype(object)
        pad["warning_id"] = ("R05-" + extra["person_id"]).to_numpy()
        pad["rule"], pad["status"], pad["hold_person"] = "R05", "sent", False
        pad["person_id"] = extra["person_id"].to_numpy()
        pad["county_code"] = extra["county_code"].to_numpy()
        pad["township_code"] = extra["township_code"].to_numpy()
        for col in ("first_seen", "last_seen", "first_published", "sent_on", "published_on"):
            pad[col] = d1 - timedelta(days=10)
        store.save(conn, before, pd.concat([before, pad], ignore_index=True), Origin(run_date=d1))
    open_cases = int(store.frame()["status"].isin(list(config.case_rules.send)).sum())
    print(f"open cases before the feedback: {open_cases:,}")

    answers = {
        r.id: tuple(a.answer for a in config.case_rules.answers(r.answers)) for r in config.all_rules.rules
    }
    t = time.perf_counter()
    returned = fill_workbooks(books, args.feedback, answers, d1 + timedelta(days=1), work / "returned")
    print(
        f"(setup: {returned:,} rows answered in {len(list((work / 'returned').glob('*.xlsx')))} workbooks "
        f"with openpyxl, {time.perf_counter() - t:.0f} s)"
    )
    t = time.perf_counter()
    results, _ = import_files(settings, sorted((work / "returned").glob("*.xlsx")), "bench")
    took = time.perf_counter() - t
    applied = sum(r.applied for r in results)
    rejected = sum(r.rejected for r in results)
    print(
        f"feedback import: {took:.1f} s for {applied:,} rows applied, {rejected:,} refused "
        f"({len(results)} files)"
    )

    # Night 2, a week later, on the same warnings and facts.
    run2 = settings.out / d2.isoformat()
    for output in (WARNINGS, CASE_FACTS, RULES_SUMMARY, PERSONS):
        output.at(run2).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(output.at(run1), output.at(run2))
    settings2 = Settings.build(
        extracts=settings.extracts, out=settings.out, state=settings.state, run_date=d2
    )
    t = time.perf_counter()
    run_stages(RunConfig.load(settings2), run2, state, ["cases"])
    took = time.perf_counter() - t
    second = CaseSummary.read(CASE_SUMMARY.at(run2))
    counts = ", ".join(f"{k} {v:,}" for k, v in second.counts.items() if v)
    print(f"night 2 cases stage (the nightly case update): {took:.1f} s; {counts}")
    print(f"cases in the store: {store.count():,}; audit rows: {len(store.table('audit')):,}")
    print(f"peak memory of this process: {peak_gb():.2f} GB")
    state.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
