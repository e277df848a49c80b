"""``active-discovery`` console command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.config import RunConfig
from pipeline.errors import ActiveDiscoveryError
from pipeline.settings import Settings

#: Exit codes (README, "Exit codes"). A crash (a bug) exits 1 with a traceback, as Python does.
EXIT_OK = 0
EXIT_USAGE = 2  # argparse: a wrong flag
EXIT_REFUSED = 3  # the run failed or refused for a reason it names: a rule file, a lock, a folder
EXIT_INCOMPLETE = 4  # feedback: some files or rows were not imported (listed, with reasons)
EXIT_PARTIAL = 5  # the night ran and published, but a source was not read whole (summary's banner)


def _error_names() -> tuple[str, ...]:
    """The names of ActiveDiscoveryError and all its subclasses."""
    names, todo = [], [ActiveDiscoveryError]
    while todo:
        cls = todo.pop()
        names.append(cls.__name__)
        todo += cls.__subclasses__()
    return tuple(names)


class _DropKnownErrors(logging.Filter):
    """Prefect logs a failed flow's exception with its traceback, then the failed states; for the
    project's own errors the CLI prints one line instead, so the console drops those records (the
    Prefect API and UI still get them: the API handler is left alone)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ActiveDiscoveryError):
            return False
        message = record.getMessage()
        return not any(f"{name}:" in message or f"{name}(" in message for name in _error_names())


@contextmanager
def _quiet_prefect_tracebacks() -> Iterator[None]:
    handlers = [
        h
        for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs")
        for h in _handlers(name)
        if type(h).__name__ != "APILogHandler"
    ]
    f = _DropKnownErrors()
    for h in handlers:
        h.addFilter(f)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(f)


def _handlers(name: str) -> list[logging.Handler]:
    return list(logging.getLogger(name).handlers)


def _summary_lines(run_dir: Path) -> list[str]:
    from pipeline.contracts import (
        INDEX_HTML,
        MATCH_SUMMARY,
        QUALITY,
        SUMMARY_HTML,
        TOWNSHIPS,
        WARNINGS,
        MatchSummary,
        QualitySummary,
    )

    if not QUALITY.at(run_dir).exists():
        return []
    s = QualitySummary.read(QUALITY.at(run_dir))
    lines = [f"run {s.run_date}: {s.records} records accepted"]
    if MATCH_SUMMARY.at(run_dir).exists():
        m = MatchSummary.read(MATCH_SUMMARY.at(run_dir))
        lines.append(
            f"  linked into {m.persons} people; {m.review_questions} questions for review"
            f" ({m.review_pairs} pairs; review/match_review.xlsx)"
        )
    if WARNINGS.at(run_dir).exists():
        import pandas as pd

        rules = pd.read_parquet(WARNINGS.at(run_dir), columns=["rule"])["rule"].value_counts().sort_index()
        by_rule = ", ".join(f"{k} {v}" for k, v in rules.items())
        lines.append(f"  {int(rules.sum())} warnings ({by_rule or 'none'}) in {WARNINGS.path}")
    if TOWNSHIPS.at(run_dir).exists():
        books = sum(1 for _ in TOWNSHIPS.at(run_dir).rglob("*.xlsx"))
        lines.append(f"  {books} township workbooks in {TOWNSHIPS.path}/; open {INDEX_HTML.at(run_dir)}")
        lines.append(f"  city summary: {SUMMARY_HTML.at(run_dir)}")
    stages = _manifest(run_dir).get("stages") or {}
    if stages:
        lines.append(
            "  stages: "
            + ", ".join(f"{k} {v['seconds']:.1f} s {v['peak_rss_mb']:,} MB" for k, v in stages.items())
        )
    for key, e in s.sources.items():
        if e.ok:
            lines.append(f"  {key:<11} ok      read {e.rows_read:>8}  rejected {e.rejected:>6}")
        else:
            lines.append(
                f"  {key:<11} {e.status.upper():<7} read {e.rows_read:>8}  {e.error or e.error_zh or ''}"
            )
    if s.unknown_folders:
        lines.append(f"  skipped folders naming no known source: {', '.join(s.unknown_folders)}")
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
    # No defaults here: Settings.build has the one set (flag, else AD_* variable, else built-in).
    run.add_argument("--extracts", default=None, help="extracts folder (default: AD_EXTRACTS or data/sample)")
    run.add_argument("--out", default=None, help="reports folder (default: AD_OUT or reports)")
    run.add_argument(
        "--run-date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today, Beijing)"
    )
    run.add_argument("--state", default=None, help="state folder (default: AD_STATE or data/state)")
    run.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait this long for another run holding the state or date (default: refuse at once)",
    )
    run.add_argument("--dry-run", action="store_true", help="write to <out>/dry-run/ and change no state")
    run.add_argument(
        "--counties", nargs="+", default=None, metavar="CODE", help="only these 6-digit county codes"
    )
    run.add_argument("--rules", nargs="+", default=None, metavar="ID", help="only these rules (e.g. R05 R06)")
    run.add_argument(
        "--full",
        action="store_true",
        default=None,
        help="read, normalize and validate every file again (default: take unchanged files from "
        "earlier nights; AD_FULL=1)",
    )
    run.add_argument(
        "--refit",
        action="store_true",
        default=None,
        help="fit the matching model again tonight (default: reuse the saved one until it is "
        "refit_days old; AD_REFIT=1)",
    )
    fb = sub.add_parser("feedback", help="import returned township workbooks (核查结果) into the case store")
    fb.add_argument("files", nargs="+", type=Path, metavar="FILE", help="returned .xlsx workbooks")
    fb.add_argument("--state", default=None, help="state folder (default: AD_STATE or data/state)")
    fb.add_argument("--user", default=None, help="who imports (recorded in the audit trail; default: $USER)")
    fb.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="wait for a run holding the state"
    )
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
    from portal.cli import add_parsers

    add_parsers(sub)
    a = p.parse_args(argv)
    if a.command in ("portal", "user"):
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        from portal.cli import portal_command, user_command

        try:
            return portal_command(a) if a.command == "portal" else user_command(a)
        except ActiveDiscoveryError as e:
            sys.stderr.write(f"active-discovery: {e}\n")
            return EXIT_REFUSED
    from rich.console import Console
    from rich.logging import RichHandler
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    logging.basicConfig(
        level=logging.INFO, format="%(name)s: %(message)s", handlers=[RichHandler(console=console)]
    )
    for noisy in ("great_expectations", "httpx", "alembic"):
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

    if a.command == "feedback":
        return _feedback(a)

    settings = Settings.build(
        extracts=a.extracts, out=a.out, state=a.state, run_date=a.run_date, full=a.full, refit=a.refit
    )
    try:
        # Fail in a second, not after Prefect has started, when a rule or settings file is wrong
        # (the flow loads and checks it again inside the run, for scheduled and UI runs).
        RunConfig.load(settings, a.counties, a.rules)
        from flows.nightly import nightly  # imported late: Prefect's import is slow

        with progress, _quiet_prefect_tracebacks():
            nightly(
                run_date=settings.run_date,
                extracts=str(settings.extracts),
                out=str(settings.out),
                state=str(settings.state),
                counties=a.counties,
                rules_only=a.rules,
                dry_run=a.dry_run,
                wait_seconds=a.wait,
                full=settings.full,
                refit=settings.refit,
            )
    except ActiveDiscoveryError as e:
        sys.stderr.write(f"active-discovery: {e}\n")
        return EXIT_REFUSED
    out = settings.out / "dry-run" if a.dry_run else settings.out
    run_dir = out / settings.run_date.isoformat()
    for line in _summary_lines(run_dir):
        sys.stdout.write(line + "\n")
    from pipeline.contracts import SUMMARY_HTML

    if _outcome(run_dir) == "partial":
        sys.stderr.write(
            "active-discovery: the run is PARTIAL: a source was not read whole; its rules were skipped "
            f"or may miss warnings (see the banner of {SUMMARY_HTML.at(run_dir)})\n"
        )
        return EXIT_PARTIAL
    return EXIT_OK


def _manifest(run_dir: Path) -> dict[str, Any]:
    import json

    from pipeline.contracts import MANIFEST

    path = MANIFEST.at(run_dir)
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}


def _outcome(run_dir: Path) -> str | None:
    return _manifest(run_dir).get("outcome")


def _feedback(a: argparse.Namespace) -> int:
    """``active-discovery feedback FILE...``: one line per file, then each row not imported."""
    import getpass

    from pipeline.cases.feedback import import_files

    settings = Settings.build(state=a.state)
    try:
        results, result_book = import_files(settings, a.files, a.user or getpass.getuser(), a.wait)
    except ActiveDiscoveryError as e:
        sys.stderr.write(f"active-discovery: {e}\n")
        return EXIT_REFUSED
    for r in results:
        sys.stdout.write(r.line() + "\n")
        for p in r.problems:
            sys.stdout.write(f"  {p.sheet} 第{p.row}行 {p.warning_id}: {p.reason}\n")
    sys.stdout.write(f"导入结果: {result_book}\n")
    return EXIT_INCOMPLETE if any(r.error or r.problems for r in results) else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
