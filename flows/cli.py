"""``active-discovery`` console command."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.settings import PROJECT_ROOT, today_shanghai


def _summary_lines(run_dir: Path) -> list[str]:
    path = run_dir / "data_quality" / "summary.json"
    if not path.exists():
        return []
    s = json.loads(path.read_text(encoding="utf-8"))
    lines = [f"run {s['run_date']}: {s['records']} records accepted"]
    match = run_dir / "data" / "match_summary.json"
    if match.exists():
        m = json.loads(match.read_text(encoding="utf-8"))
        lines.append(
            f"  linked into {m['persons']} people; {m['review_pairs']} pairs for review"
            " (review/match_review.xlsx)"
        )
    warnings = run_dir / "data" / "warnings.parquet"
    if warnings.exists():
        import pandas as pd

        rules = pd.read_parquet(warnings, columns=["rule"])["rule"].value_counts().sort_index()
        by_rule = ", ".join(f"{k} {v}" for k, v in rules.items())
        lines.append(f"  {int(rules.sum())} warnings ({by_rule or 'none'}) in data/warnings.parquet")
    townships = run_dir / "townships"
    if townships.exists():
        books = sum(1 for _ in townships.rglob("*.xlsx"))
        lines.append(f"  {books} township workbooks in townships/; open {run_dir / 'index.html'}")
        lines.append(f"  city summary: {run_dir / 'summary.html'}")
    for key, e in s["sources"].items():
        if e["status"] == "ok":
            lines.append(
                f"  {key:<11} ok      read {e.get('rows_read', 0):>8}  rejected {e.get('rejected', 0):>6}"
            )
        else:
            lines.append(f"  {key:<11} {e['status'].upper():<7} {e.get('error') or e.get('error_zh') or ''}")
    if s.get("unknown_folders"):
        lines.append(f"  skipped folders naming no known source: {', '.join(s['unknown_folders'])}")
    return lines


class _ProgressBars(logging.Handler):
    """Renders pipeline.progress events as one rich progress bar per stage."""

    def __init__(self, progress: Any) -> None:
        super().__init__()
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        stage = getattr(record, "stage", None)
        if stage is None:
            return
        total = max(int(getattr(record, "total", 1)), 1)
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=int(getattr(record, "done", 0)), total=total)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="active-discovery")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the nightly flow once")
    run.add_argument("--extracts", default=str(PROJECT_ROOT / "data" / "sample"))
    run.add_argument("--out", default=str(PROJECT_ROOT / "reports"))
    run.add_argument(
        "--run-date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today, Beijing)"
    )
    run.add_argument("--state", default=str(PROJECT_ROOT / "data" / "state"))
    run.add_argument("--dry-run", action="store_true", help="write to <out>/dry-run/ and change no state")
    run.add_argument(
        "--counties", nargs="+", default=None, metavar="CODE", help="only these 6-digit county codes"
    )
    run.add_argument("--rules", nargs="+", default=None, metavar="ID", help="only these rules (e.g. R05 R06)")
    srv = sub.add_parser(
        "serve", help="serve the nightly deployment on a schedule (starts a local server if needed)"
    )
    srv.add_argument(
        "--cron",
        default=os.environ.get("AD_NIGHTLY_CRON", "0 2 * * *"),
        help="schedule in Asia/Shanghai time (default 02:00 daily, or AD_NIGHTLY_CRON)",
    )
    srv.add_argument(
        "--port", type=int, default=4200, help="port of the local server when PREFECT_API_URL is unset"
    )
    a = p.parse_args(argv)
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    logging.basicConfig(
        level=logging.INFO, format="%(name)s: %(message)s", handlers=[RichHandler(console=console)]
    )
    for noisy in ("great_expectations", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    progress = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    logging.getLogger("pipeline.progress").addHandler(_ProgressBars(progress))

    if a.command == "serve":
        from flows.serve import serve

        serve(cron=a.cron, port=a.port)
        return 0

    from flows.nightly import nightly  # imported late: Prefect's import is slow

    run_date = a.run_date or today_shanghai()
    with progress:
        nightly(
            run_date=run_date,
            extracts=a.extracts,
            out=a.out,
            state=a.state,
            counties=a.counties,
            rules_only=a.rules,
            dry_run=a.dry_run,
        )
    out = Path(a.out) / "dry-run" if a.dry_run else Path(a.out)
    for line in _summary_lines(out / run_date.isoformat()):
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
