"""The state folder: everything one night leaves for the next, owned by this module alone.

    <state>/person_keys.parquet      record natural key -> person_id (stable person IDs)
    <state>/decisions.parquet        reviewers' verdicts on uncertain pairs (a, b, verdict)
    <state>/review/*.xlsx            returned review workbooks, read every night
    <state>/cases.sqlite             the case store (pipeline.cases), unless DATABASE_URL names
                                     a PostgreSQL database; it replaced warning_history.parquet
    <state>/inbox/*.xlsx             returned township workbooks, imported first thing every night
                                     (then moved to inbox/done/ or inbox/failed/)
    <state>/warning_trend.parquet    warnings per night, county, township and rule (whole runs)
    <state>/memo/                    files read, normalized and validated on earlier nights,
                                     keyed by content (pipeline.memo)
    <state>/model/                   the fitted matching model, reused until a refit
                                     (pipeline.match.saved)
    <state>/.lock                    held by the run using the folder, with who holds it

Every file is replaced atomically (written under a unique temporary name in the same folder, flushed
to disk, renamed over the old one), so a run killed at any moment leaves each file either as it was
or as the run wrote it, never half-written. A run holds the folder's lock from start to end, so two
runs (the nightly run and an analyst's backfill, or runs into two output folders) can never
interleave their writes: the second waits, then refuses with a message naming the holder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.errors import ActiveDiscoveryError
from pipeline.locks import hold, holder_of
from pipeline.memo import Memo, file_digest, prune, write_replacing

if TYPE_CHECKING:
    from pipeline.cases.store import CaseStore

log = logging.getLogger(__name__)

PERSON_KEYS = "person_keys.parquet"
DECISIONS = "decisions.parquet"
TREND = "warning_trend.parquet"
REVIEW_INBOX = "review"
FEEDBACK_INBOX = "inbox"
MEMO = "memo"
MODEL = "model"
LOCK = ".lock"
_TMP_SUFFIX = ".tmp"

#: Empty tables of each file's shape, for the first night.
_EMPTY: dict[str, dict[str, str]] = {
    PERSON_KEYS: {"key": "object", "person_id": "object"},
    DECISIONS: {"a": "object", "b": "object", "verdict": "object"},
    TREND: {
        "run_date": "object",
        "county_code": "object",
        "township_code": "object",
        "rule": "object",
        "warnings": "object",
        "new": "object",
    },
}


class StateLockedError(ActiveDiscoveryError):
    """Another run holds the state folder."""


def write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet to ``path`` so that readers only ever see a whole file.

    The temporary name is unique (``mkstemp``), so two writers can never share it, and it starts
    with a dot and ends in ``.tmp`` so a leftover from a killed run is recognisable and removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, 0o640)  # personal data: owner and group only (mkstemp makes 0600)
        with os.fdopen(fd, "wb") as f:
            frame.to_parquet(f, index=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateStore:
    """The state folder's files, read and written only through here."""

    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = Path(root)
        self.database_url = database_url  # None: the SQLite case store in the folder
        self._cases: CaseStore | None = None

    def __repr__(self) -> str:
        return f"StateStore({str(self.root)!r})"

    # --- reading and writing -------------------------------------------------------------------

    def _read(self, name: str) -> pd.DataFrame:
        path = self.root / name
        if path.exists():
            return pd.read_parquet(path)
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY[name].items()})

    def _write(self, name: str, frame: pd.DataFrame) -> None:
        write_atomic(frame, self.root / name)

    def person_keys(self) -> pd.DataFrame:
        return self._read(PERSON_KEYS)

    def save_person_keys(self, frame: pd.DataFrame) -> None:
        self._write(PERSON_KEYS, frame)

    def copy_person_keys(self, src: Path) -> None:
        """Replace the key table with a copy of ``src`` (a table this store saved), byte for byte:
        the digest of what is saved is what the next night's links are looked up by."""
        write_replacing(self.root / PERSON_KEYS, lambda tmp: shutil.copyfile(src, tmp))

    def person_keys_digest(self) -> str:
        """The SHA-256 of the key table as saved ("" before the first night): what tonight's
        person ids are made from besides the links (pipeline.match.stable.assign)."""
        path = self.root / PERSON_KEYS
        return file_digest(path) if path.exists() else ""

    def decisions(self) -> pd.DataFrame:
        return self._read(DECISIONS)

    def save_decisions(self, frame: pd.DataFrame) -> None:
        self._write(DECISIONS, frame)

    @property
    def review_inbox(self) -> Path:
        """Where reviewers drop filled-in review workbooks."""
        return self.root / REVIEW_INBOX

    def review_workbooks(self) -> list[Path]:
        """Returned review workbooks (``<state>/review/*.xlsx``), in name order."""
        folder = self.root / REVIEW_INBOX
        return sorted(folder.glob("*.xlsx")) if folder.exists() else []

    def cases(self) -> CaseStore:
        """The case store (opened, and migrated to the newest schema, on first use)."""
        if self._cases is None:
            from pipeline.cases.store import CaseStore

            self._cases = CaseStore.for_state(self.root, self.database_url)
        return self._cases

    def close(self) -> None:
        if self._cases is not None:
            self._cases.dispose()
            self._cases = None

    @property
    def feedback_inbox(self) -> Path:
        """Where returned township workbooks are dropped for the next night."""
        return self.root / FEEDBACK_INBOX

    def feedback_workbooks(self) -> list[Path]:
        folder = self.root / FEEDBACK_INBOX
        return (
            sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$")) if folder.exists() else []
        )

    def memo(self, kind: str, read: bool = True) -> Memo:
        """The memo of one kind of work (``ingest``, ``normalize``, ``validate``,
        ``reports``); ``read`` False on a full night."""
        return Memo(self.root / MEMO / kind, read)

    def prune_memo(self) -> int:
        return prune(self.root / MEMO)

    @property
    def model_folder(self) -> Path:
        return self.root / MODEL

    def warning_trend(self) -> pd.DataFrame:
        return self._read(TREND)

    def save_warning_trend(self, frame: pd.DataFrame) -> None:
        self._write(TREND, frame)

    def files(self) -> list[Path]:
        """The state's data files (what a dry run copies and a test checks)."""
        return sorted(p for p in self.root.glob("*.parquet"))

    # --- the lock -----------------------------------------------------------------------------

    def holder(self) -> str:
        """Who holds (or last held) the lock, as written by ``lock``."""
        return holder_of(self.root / LOCK)

    @contextmanager
    def lock(self, holder: str, wait_seconds: float = 0) -> Iterator[None]:
        """Hold the state folder for the block; wait up to ``wait_seconds`` for another holder.

        ``holder`` (say "the run for 2026-11-29 into /srv/reports, pid 4242") is written into the
        lock file so a refused run can name it (``pipeline.locks``).
        """

        def refuse(current: str) -> StateLockedError:
            return StateLockedError(
                f"the state folder {self.root} is in use by {current}; wait for that run to finish "
                "(or pass --wait SECONDS), or use another --state"
            )

        with hold(self.root / LOCK, holder, wait_seconds, refuse):
            self._remove_leftovers()
            yield

    def _remove_leftovers(self) -> None:
        """Temporary files of a writer that was killed (only while holding the lock: no one else
        can be writing them)."""
        for tmp in self.root.glob(f".*{_TMP_SUFFIX}"):
            log.info("state: removing %s left by an interrupted run", tmp.name)
            tmp.unlink(missing_ok=True)

    def copy_to(self, dest: Path) -> StateStore:
        """A copy of the state's data, review inbox and cases in ``dest`` (for a dry run's throw-away
        state). The copy's cases are always a SQLite file, whatever database the original uses, and
        its feedback inbox is empty: a dry run imports nothing."""
        dest.mkdir(parents=True, exist_ok=True)
        for p in self.files():
            shutil.copy2(p, dest / p.name)
        inbox = self.root / REVIEW_INBOX
        if inbox.exists():
            shutil.copytree(inbox, dest / REVIEW_INBOX)
        if self.model_folder.exists():  # a what-if night links with the model the real one uses
            shutil.copytree(self.model_folder, dest / MODEL)
        copy = StateStore(dest)
        self.cases().copy_to(copy.cases())
        return copy
