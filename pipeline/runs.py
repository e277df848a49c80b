"""Running a night safely: one run per date at a time, outputs staged then moved into place, and a
manifest saying exactly what went in and what came out.

``run_night`` is the one way a night runs: the Prefect flow and the Prefect-free ``run_all`` both
call it, the flow passing a ``call`` that runs each stage as a Prefect task. It wraps the stages of
``pipeline.stages.STAGES`` in ``staged_run``:

    with staged_run(settings) as run:
        ...stages write under run.run_dir (a staging folder), state through run.state...

The output folder is locked for the date and the state folder for the whole run
(``pipeline.state``). On success the staging folder replaces ``<out>/<run_date>`` in one rename; on
failure it is moved to ``<out>/.failed/`` with its manifest, ``<out>/<run_date>`` is left as it
was, and the optional notification hook is called. A run killed outright leaves only its staging
folder, which the next run of that date removes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import traceback
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline import __version__, parallel
from pipeline.config import RunConfig
from pipeline.contracts import MANIFEST, MATCH_SUMMARY, QUALITY, MatchSummary, QualitySummary
from pipeline.errors import ActiveDiscoveryError
from pipeline.locks import hold
from pipeline.measure import StageMeter, release_memory
from pipeline.memo import file_digest
from pipeline.retention import purge
from pipeline.settings import PROJECT_ROOT, TIMEZONE, Settings
from pipeline.stages import STAGES, Stage, StageContext, row_counts
from pipeline.state import StateStore

log = logging.getLogger(__name__)

STAGING, FAILED, LOCKS = ".staging", ".failed", ".locks"
#: A run's outcome in its manifest: completed; partial (published, but a source was not read whole:
#: the summary's banner says which files and rules); failed (set aside in .failed/).
COMPLETED, PARTIAL, FAILED_OUTCOME = "completed", "partial", "failed"


class RunLockedError(ActiveDiscoveryError):
    """Another run for the same date and output folder is in progress."""


@dataclass
class Run:
    """What a run in progress knows: where it writes, its state, and the figures for the manifest."""

    final: Settings
    run_dir: Path  # the staging folder that becomes final.run_dir when the run completes
    state: StateStore  # final.state, or a throw-away copy for a dry run
    dry_run: bool
    started: datetime
    rows: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)  # per stage: seconds, peak_rss_mb


def _files(root: Path) -> list[dict[str, Any]]:
    if not root.exists():
        return []
    return [
        {"path": str(p.relative_to(root)), "bytes": p.stat().st_size, "sha256": file_digest(p)}
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    ]


def code_version() -> str:
    """The package version and, when the code is a git checkout, its commit (with '+dirty')."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return f"{__version__}+{commit}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return __version__


def build_manifest(run: Run, outcome: str, error: str | None) -> dict[str, Any]:
    s = run.final
    rejected: dict[str, Any] = {}
    if QUALITY.at(run.run_dir).exists():
        summary = QualitySummary.read(QUALITY.at(run.run_dir))
        rejected = {
            k: {
                "status": e.status,
                "rows_read": e.rows_read,
                "rejected": e.rejected,
                "error": e.error,
                # Per file: every row below the header accounted for (read = accepted +
                # out_of_scope + quarantined by reason; blank rows apart; a failed file's error).
                "files": [
                    {
                        "file": Path(f.path).name,
                        "read": f.rows + f.rejected_rows,
                        "accepted": f.accepted,
                        "out_of_scope": f.out_of_scope,
                        "quarantined": f.quarantined,
                        "blank": f.blank_rows,
                        "error": f.error,
                    }
                    for f in e.files
                ],
            }
            for k, e in summary.sources.items()
        }
    linkage: dict[str, Any] = {}
    if MATCH_SUMMARY.at(run.run_dir).exists():
        # Tonight's expected false and missed links, from the model alone (pipeline.match.errors).
        errors = MatchSummary.read(MATCH_SUMMARY.at(run.run_dir)).errors
        linkage = {k: errors[k] for k in ("false_links", "missed_links") if k in errors}
    return {
        "run_date": s.run_date.isoformat(),
        "outcome": outcome,
        "error": error,
        "dry_run": run.dry_run,
        "parameters": run.parameters,
        "started": run.started.isoformat(timespec="seconds"),
        "finished": datetime.now(TIMEZONE).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "extracts": str(s.extracts),
        "inputs": _files(s.extracts),
        "rules": _files(s.rules_dir),
        "rows": run.rows,
        "stages": run.stages,
        "sources": rejected,
        "linkage_errors": linkage,
    }


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    MANIFEST.at(folder).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def notify_failure(manifest: dict[str, Any]) -> None:
    """Call the optional hook for a failed or partial run: AD_NOTIFY_COMMAND (a shell command; the
    manifest JSON on stdin) and/or AD_NOTIFY_WEBHOOK (a URL that receives the manifest as a JSON
    POST); the manifest's ``outcome`` says which. A failing hook is logged, never raised."""
    body = json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    command = os.environ.get("AD_NOTIFY_COMMAND")
    if command:
        try:
            subprocess.run(command, shell=True, input=body, timeout=60, check=True)  # noqa: S602 (operator-set)
        except (OSError, subprocess.SubprocessError) as e:
            log.error("notification command failed: %s", e)
    url = os.environ.get("AD_NOTIFY_WEBHOOK")
    if url:
        try:
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).close()  # noqa: S310 (operator-set URL)
        except OSError as e:
            log.error("notification webhook failed: %s", e)


def _lock(out: Path, run_date: str, holder: str, wait_seconds: float) -> AbstractContextManager[None]:
    path = out / LOCKS / f"{run_date}.lock"

    def refuse(current: str) -> RunLockedError:
        return RunLockedError(
            f"another run for {run_date} is writing to {out}: {current} (lock {path}); "
            "wait for it to finish, or use another --out"
        )

    return hold(path, holder, wait_seconds, refuse)


def _holder(final: Settings) -> str:
    return (
        f"the run for {final.run_date.isoformat()} into {final.out} "
        f"(pid {os.getpid()}, started {datetime.now(TIMEZONE).isoformat(timespec='seconds')})"
    )


@contextmanager
def staged_run(final: Settings, dry_run: bool = False, wait_seconds: float = 0) -> Iterator[Run]:
    """Lock the date and the state, stage the outputs, write the manifest, publish or set aside
    (module docstring).

    With ``dry_run`` the reports go to ``<out>/dry-run/<run_date>`` and the state folder is a copy
    made for this run (under the state lock) and thrown away, so no person IDs, verdicts or case
    state change.
    """
    if dry_run:
        final = replace(final, out=final.out / "dry-run")
    date_text = final.run_date.isoformat()
    real_state = StateStore(final.state, final.database_url)
    with _lock(final.out, date_text, _holder(final), wait_seconds), ExitStack() as stack:
        # Personal data: what the run creates is for its owner and group only (0750, 0640).
        stack.callback(os.umask, os.umask(0o027))
        stack.callback(real_state.close)
        staging_root = final.out / STAGING
        for leftover in staging_root.glob(f"{date_text}-*"):  # from a run that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        stamp = datetime.now(TIMEZONE).strftime("%Y%m%dT%H%M%S")
        work = staging_root / f"{date_text}-{stamp}-{os.getpid()}"
        if dry_run:
            with real_state.lock(f"a dry run copying it ({_holder(final)})", wait_seconds):
                state = real_state.copy_to(work / "state")
            stack.callback(state.close)
        else:
            stack.enter_context(real_state.lock(_holder(final), wait_seconds))
            state = real_state
        run = Run(
            final=final,
            run_dir=work / date_text,
            state=state,
            dry_run=dry_run,
            started=datetime.now(TIMEZONE),
        )
        run.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            yield run
        except BaseException as e:
            reason = f"{type(e).__name__}: {e}"
            manifest = build_manifest(run, FAILED_OUTCOME, reason)
            manifest["traceback"] = traceback.format_exc(limit=20)
            failed = final.out / FAILED / f"{date_text}-{stamp}"
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(run.run_dir), str(failed))
            _write_manifest(failed, manifest)
            shutil.rmtree(work, ignore_errors=True)
            log.error("run %s failed: %s; partial output set aside in %s", date_text, reason, failed)
            notify_failure(manifest)
            raise
        run.rows["purged"] = purge(final.out, final.run_date, final.retention_days, keep=work)
        if not dry_run:
            run.rows["memo_files_pruned"] = state.prune_memo()
        incomplete = run.rows.get("sources_incomplete") or {}
        outcome = PARTIAL if incomplete else COMPLETED
        manifest = build_manifest(run, outcome, None)
        _write_manifest(run.run_dir, manifest)
        restrict(run.run_dir)
        _publish(run.run_dir, final.run_dir)
        if incomplete:
            # Published, but not whole: somebody must learn that a month of visits may be missing.
            log.error(
                "run %s is partial: source(s) not read whole: %s",
                date_text,
                "; ".join(f"{k}: {v}" for k, v in incomplete.items()),
            )
            notify_failure(manifest)
        shutil.rmtree(work, ignore_errors=True)
        log.info("run %s published to %s", date_text, final.run_dir)


def restrict(root: Path) -> None:
    """Folders 0750, files 0640 under ``root``: also what was copied in with other modes (the Data
    Docs' static files keep their package's 0644 when copied)."""
    root.chmod(0o750)
    for p in root.rglob("*"):
        if not p.is_symlink():
            p.chmod(0o750 if p.is_dir() else 0o640)


def _publish(staged: Path, target: Path) -> None:
    """Replace ``target`` with ``staged``: two renames on one file system, never a half folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


StageCall = Callable[[Stage, StageContext], Any]


def call_directly(stage: Stage, ctx: StageContext) -> Any:
    return stage.run(ctx)


def run_stages(
    config: RunConfig,
    run_dir: Path,
    state: StateStore,
    names: Sequence[str] | None = None,
    call: StageCall = call_directly,
    measured: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the stages of ``STAGES`` (those in ``names``, or all) in order into ``run_dir``.

    Before each stage its declared inputs must exist; after it, its declared outputs must (with
    their declared columns). Returns each stage's return value by name; ``measured`` receives each
    stage's seconds and peak memory (``pipeline.measure``).
    """
    results: dict[str, Any] = {}
    try:
        for st in STAGES:
            if names is not None and st.name not in names:
                continue
            st.check_inputs(run_dir)
            meter = StageMeter()
            try:
                with meter:
                    results[st.name] = call(st, StageContext(st, config, run_dir, state))
            finally:  # a failed stage's time and memory are in the manifest too
                if measured is not None:
                    measured[st.name] = meter.as_dict()
                release_memory()
            st.check_outputs(run_dir)
    finally:
        parallel.close()  # the Dask client of the night, if the executor made one
    return results


@dataclass(frozen=True)
class Night:
    """A completed night: where it was published and what each stage returned."""

    run_dir: Path
    config: RunConfig
    results: dict[str, Any]
    rows: dict[str, Any]


def run_night(
    settings: Settings,
    counties: list[str] | None = None,
    rules: list[str] | None = None,
    dry_run: bool = False,
    call: StageCall = call_directly,
    wait_seconds: float = 0,
) -> Night:
    """The whole night: check the configuration, run every stage, publish (module docstring).

    The rule, matching, parameter and sources files are loaded and checked once, inside the staged
    run, so a mistake in one fails the night at once (with the failure hook) before any data is read.
    """
    with staged_run(settings, dry_run, wait_seconds) as run:
        run.parameters.update(
            counties=counties,
            rules=rules,
            extracts=str(settings.extracts),
            full=settings.full,
            refit=settings.refit,
        )
        config = RunConfig.load(run.final, counties, rules)
        results = run_stages(config, run.run_dir, run.state, call=call, measured=run.stages)
        run.rows.update(row_counts(run.run_dir))
    return Night(run.final.run_dir, config, results, run.rows)


FOUNDATION = ("ingest", "normalize", "validate")


def run_in_place(
    settings: Settings,
    names: Sequence[str] | None = None,
    counties: list[str] | None = None,
    rules: list[str] | None = None,
) -> Path:
    """Some stages straight into ``settings.run_dir``: no staging, locks or manifest (tests and
    benchmarks that look at one stage). Returns the run folder."""
    config = RunConfig.load(settings, counties, rules)
    state = StateStore(settings.state, settings.database_url)
    try:
        run_stages(config, settings.run_dir, state, names)
    finally:
        state.close()
    return settings.run_dir


def run_all(
    final: Settings,
    dry_run: bool = False,
    counties: list[str] | None = None,
    rules: list[str] | None = None,
    wait_seconds: float = 0,
) -> Path:
    """Every stage, without Prefect (tests, benchmarks, a machine without the Prefect server)."""
    return run_night(final, counties, rules, dry_run, wait_seconds=wait_seconds).run_dir
