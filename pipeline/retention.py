"""Personal data kept to need: what a night deletes of earlier nights.

After ``retention_days`` (AD_RETENTION_DAYS, default 30) the intermediates of a run (``work/``:
every source's rows as read and normalized), the runs set aside as failed (``.failed/``) and
staging folders a killed run left (``.staging/``) are deleted; the published reports stay. The
night logs what it deleted and counts it in its manifest.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from datetime import date, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})")


def _day(name: str) -> date | None:
    m = _DATED.match(name)
    if not m:
        return None
    try:
        return date.fromisoformat(m[1])
    except ValueError:
        return None


def purge(out: Path, today: date, keep_days: int, keep: Path | None = None) -> dict[str, int]:
    """Delete under ``out`` (and its dry-run folder) what is older than ``keep_days``: run
    folders' ``work/``, ``.failed/<date>-…`` and ``.staging/<date>-…`` (by their date, and for a
    staging folder also by its age on disk). ``keep``: a folder never touched (tonight's staging).
    Returns how many of each were deleted."""
    cutoff = today - timedelta(days=keep_days)
    oldest_mtime = time.time() - keep_days * 86400
    counts = {"work": 0, "failed": 0, "staging": 0}
    for root in (out, out / "dry-run"):
        if not root.is_dir():
            continue
        for run in root.iterdir():
            d = _day(run.name)
            if d is not None and d < cutoff and (run / "work").is_dir():
                shutil.rmtree(run / "work", ignore_errors=True)
                counts["work"] += 1
        for kind, folder in (("failed", root / ".failed"), ("staging", root / ".staging")):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                if keep is not None and (p == keep or keep.is_relative_to(p)):
                    continue
                d = _day(p.name)
                old = d is not None and d < cutoff
                if kind == "staging":
                    old = old and p.stat().st_mtime < oldest_mtime
                if old:
                    shutil.rmtree(p, ignore_errors=True)
                    counts[kind] += 1
    if any(counts.values()):
        log.info(
            "retention (%d days): deleted %d work folder(s), %d failed run(s), %d stale staging folder(s)",
            keep_days,
            counts["work"],
            counts["failed"],
            counts["staging"],
        )
    return counts
