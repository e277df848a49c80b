"""Running a night safely: one run per date at a time, outputs staged then moved into place, and a
manifest saying exactly what went in and what came out.

``staged_run`` is the one wrapper both the Prefect flow and the Prefect-free ``run_all`` use:

    with staged_run(settings) as run:
        ...stages write under run.settings.run_dir (a staging folder)...
        run.rows["records"] = 123

On success the staging folder replaces ``<out>/<run_date>`` in one rename; on failure it is moved
to ``<out>/.failed/`` with its manifest, ``<out>/<run_date>`` is left as it was, and the optional
notification hook is called. A run killed outright leaves only its staging folder, which the next
run of that date removes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
import traceback
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import ActiveDiscoveryError
from pipeline.settings import PROJECT_ROOT, TIMEZONE, Settings

log = logging.getLogger(__name__)

MANIFEST = "run_manifest.json"
STAGING, FAILED, LOCKS = ".staging", ".failed", ".locks"


class RunLockedError(ActiveDiscoveryError):
    """Another run for the same date and output folder is in progress."""


@dataclass
class Run:
    """What a run in progress knows: its staging settings and the figures for the manifest."""

    final: Settings
    settings: Settings  # like final, but writing under the staging folder
    dry_run: bool
    started: datetime
    rows: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _files(root: Path) -> list[dict[str, Any]]:
    if not root.exists():
        return []
    return [
        {"path": str(p.relative_to(root)), "bytes": p.stat().st_size, "sha256": sha256(p)}
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
    s = run.settings
    quality = s.quality_dir / "summary.json"
    rejected: dict[str, Any] = {}
    if quality.exists():
        summary = json.loads(quality.read_text(encoding="utf-8"))
        rejected = {
            k: {
                "status": e["status"],
                "rows_read": e.get("rows_read"),
                "rejected": e.get("rejected"),
                "error": e.get("error"),
            }
            for k, e in summary["sources"].items()
        }
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
        "sources": rejected,
    }


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def notify_failure(manifest: dict[str, Any]) -> None:
    """Call the optional hook: AD_NOTIFY_COMMAND (a shell command; the manifest JSON on stdin) and/or
    AD_NOTIFY_WEBHOOK (a URL that receives the manifest as a JSON POST). A failing hook is logged,
    never raised: the run has failed already."""
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


@contextmanager
def _lock(out: Path, run_date: str, wait_seconds: float) -> Iterator[None]:
    (out / LOCKS).mkdir(parents=True, exist_ok=True)
    path = out / LOCKS / f"{run_date}.lock"
    with open(path, "w") as f:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLockedError(
                        f"another run for {run_date} is writing to {out} (lock {path}); "
                        "wait for it to finish, or use another --out"
                    ) from None
                time.sleep(1)
        try:
            f.write(str(os.getpid()))
            f.flush()
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def staged_run(final: Settings, dry_run: bool = False, wait_seconds: float = 0) -> Iterator[Run]:
    """Lock the date, stage the outputs, write the manifest, publish or set aside (module docstring).

    With ``dry_run`` the reports go to ``<out>/dry-run/<run_date>`` and the state folder is a copy
    made for this run and thrown away, so no person IDs, verdicts or case state change.
    """
    if dry_run:
        final = replace(final, out=final.out / "dry-run")
    date_text = final.run_date.isoformat()
    with _lock(final.out, date_text, wait_seconds):
        staging_root = final.out / STAGING
        for leftover in staging_root.glob(f"{date_text}-*"):  # from a run that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        stamp = datetime.now(TIMEZONE).strftime("%Y%m%dT%H%M%S")
        work = staging_root / f"{date_text}-{stamp}-{os.getpid()}"
        state = final.state
        if dry_run:
            state = work / "state"
            if final.state.exists():
                shutil.copytree(final.state, state)
        settings = replace(final, out=work, state=state)
        run = Run(final=final, settings=settings, dry_run=dry_run, started=datetime.now(TIMEZONE))
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            yield run
        except BaseException as e:
            reason = f"{type(e).__name__}: {e}"
            manifest = build_manifest(run, "failed", reason)
            manifest["traceback"] = traceback.format_exc(limit=20)
            failed = final.out / FAILED / f"{date_text}-{stamp}"
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(settings.run_dir), str(failed))
            _write_manifest(failed, manifest)
            shutil.rmtree(work, ignore_errors=True)
            log.error("run %s failed: %s; partial output set aside in %s", date_text, reason, failed)
            notify_failure(manifest)
            raise
        _write_manifest(settings.run_dir, build_manifest(run, "completed", None))
        _publish(settings.run_dir, final.run_dir)
        shutil.rmtree(work, ignore_errors=True)
        log.info("run %s published to %s", date_text, final.run_dir)


def _publish(staged: Path, target: Path) -> None:
    """Replace ``target`` with ``staged``: two renames on one file system, never a half folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def run_all(
    final: Settings, dry_run: bool = False, counties: list[str] | None = None, rules: list[str] | None = None
) -> Path:
    """Every stage, without Prefect (tests, benchmarks, a machine without the Prefect server)."""
    from pipeline import stages

    with staged_run(final, dry_run) as run:
        s = run.settings
        run.parameters["counties"] = counties
        run.parameters["rules"] = rules
        stages.load_rule_set(s, rules)
        records = stages.run_foundation(s, counties=counties)
        person_index = stages.match_stage(s, records)
        households = stages.households_stage(s, person_index)
        warnings = stages.rules_stage(s, households, rules)
        stages.reports_stage(s, warnings, whole_run=not counties and not rules)
        run.rows.update(stages.row_counts(s))
    return run.final.run_dir
