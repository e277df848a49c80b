"""Work in worker processes (pipeline.parallel) gives what it gives in one process."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline import parallel, stages
from pipeline.contracts import FLAGGED, INGEST_REPORT, NORMALIZED, RAW, UNSPLIT
from pipeline.runs import run_in_place
from pipeline.settings import PROJECT_ROOT, Settings


def square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def test_workers_return_every_result_and_raise_what_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AD_WORKERS", "2")
    got = dict(parallel.run_each(square, [3, 1, 2], rows=parallel.MIN_ROWS))
    assert got == {3: 9, 1: 1, 2: 4}
    with pytest.raises(ValueError, match="negative: -1"):
        dict(parallel.run_each(square, [2, -1], rows=parallel.MIN_ROWS))


def test_small_work_stays_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AD_WORKERS", "2")
    # A lambda cannot go to a spawned worker: it runs here, in order.
    assert list(parallel.run_each(lambda x: -x, [1, 2], rows=parallel.MIN_ROWS - 1)) == [(1, -1), (2, -2)]
    monkeypatch.setenv("AD_WORKERS", "nonsense")
    assert parallel.workers() == 1


def normalized(out: Path, workers: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, pd.DataFrame]:
    monkeypatch.setenv("AD_WORKERS", workers)
    s = Settings.build(
        extracts=PROJECT_ROOT / "data" / "sample", out=out, state=out / "state", run_date=date(2026, 11, 29)
    )
    run_dir = run_in_place(s, ["ingest", "normalize", "validate"])
    out_files = {}
    for folder in (NORMALIZED.folder, RAW.folder, UNSPLIT.folder):
        for p in sorted((run_dir / folder).glob("*.parquet")):
            out_files[f"{folder}/{p.name}"] = pd.read_parquet(p)
    for book in sorted((run_dir / FLAGGED.folder).glob("*.xlsx")):
        rows = openpyxl.load_workbook(book).active.iter_rows(values_only=True)
        out_files[book.name] = pd.DataFrame([[str(v) for v in r] for r in rows])
    report = json.loads(INGEST_REPORT.at(run_dir).read_text(encoding="utf-8"))
    out_files["ingest_report"] = pd.DataFrame([{"report": json.dumps(report, sort_keys=True)}])
    return out_files


def test_ingest_normalize_and_validate_in_two_workers_write_what_one_process_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sample is small: use the workers anyway.
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(stages, "ROWS_AS_SENT_IN_WORKERS", 0)
    one = normalized(tmp_path / "one", "1", monkeypatch)
    two = normalized(tmp_path / "two", "2", monkeypatch)
    assert one.keys() == two.keys() and len(one) >= 20
    for key in one:
        pd.testing.assert_frame_equal(one[key], two[key])
