"""Incremental nights: a night that takes unchanged files from earlier nights (pipeline.memo) and
reuses the saved matching model (pipeline.match.saved) writes exactly what a full night writes
with the same saved model on the same inputs, over a new file, a changed file and a removed file.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import pipeline.households as households
import pipeline.ingest as ingest
import pipeline.match as match
import pipeline.reports as reports
import pipeline.stages as stages
from pipeline.contracts import (
    CASES,
    GX_DOCS,
    MANIFEST,
    MATCH_SUMMARY,
    PERSON_INDEX,
    REJECTED,
    TOWNSHIPS,
    WARNINGS,
    MatchSummary,
)
from pipeline.runs import run_all
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.validate import Validator

SAMPLE = PROJECT_ROOT / "data" / "sample"
LATE_FILE = Path("medical") / "住院结算_2026.csv"  # arrives on the second night


class Calls:
    """Counts the calls of a library function (the runs below are small: one process)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.n = 0
        real: Callable[..., Any] = getattr(owner, name)

        def counted(*a: Any, **k: Any) -> Any:
            self.n += 1
            return real(*a, **k)

        monkeypatch.setattr(owner, name, counted)

    def take(self) -> int:
        n, self.n = self.n, 0
        return n


def _night(extracts: Path, out: Path, state: Path, day: str, full: bool = False) -> Path:
    return run_all(Settings.build(extracts=extracts, out=out, state=state, run_date=day, full=full))


def _cells(book: Path) -> list[list[list[Any]]]:
    wb = openpyxl.load_workbook(book)
    return [[[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets]


def _same_outputs(a: Path, b: Path) -> None:
    """Person ids, links, warnings, the cases sent and every township workbook's cells."""
    for out in (PERSON_INDEX, WARNINGS, CASES):
        one, two = pd.read_parquet(out.at(a)), pd.read_parquet(out.at(b))
        pd.testing.assert_frame_equal(one, two, obj=out.key)
    # The township lists, and the rejected- and flagged-rows workbooks sent back to departments.
    for folder in (TOWNSHIPS.at(a), REJECTED.at(a, "medical").parent):
        twin = b / folder.relative_to(a)
        books_a = sorted(p.relative_to(folder) for p in folder.rglob("*.xlsx"))
        assert books_a == sorted(p.relative_to(twin) for p in twin.rglob("*.xlsx")) and books_a
        for p in books_a:
            assert _cells(folder / p) == _cells(twin / p), p


def _change_a_file(extracts: Path) -> None:
    """A county re-sends its roster: two people gone, one name corrected."""
    path = next((extracts / "assistance").glob("410821_*.csv"))
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "gb18030"  # as the county sent it
    lines = raw.decode(encoding).splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    first = rows[0].split(",")
    first[[i for i, c in enumerate(header.split(",")) if "姓名" in c][0]] += "华"
    path.write_bytes("".join([header, ",".join(first), *rows[3:]]).encode(encoding))


def test_incremental_nights_equal_full_nights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AD_WORKERS", "1")
    extracts = tmp_path / "extracts"
    shutil.copytree(SAMPLE, extracts)
    late = tmp_path / "late.csv"
    shutil.move(extracts / LATE_FILE, late)
    reads = Calls(monkeypatch, ingest, "read_source_file")
    normalizes = Calls(monkeypatch, stages, "normalize_source")
    fits = Calls(monkeypatch, match, "fit")
    validations = Calls(monkeypatch, Validator, "validate_tables")
    books = Calls(monkeypatch, reports, "write_workbook")
    # Great Expectations is imported ahead (during ingest) once per source read tonight.
    warm_ups = Calls(monkeypatch, stages, "warm_up_validation")
    record_writers = Calls(monkeypatch, stages.pq, "ParquetWriter")  # records.parquet's
    links = Calls(monkeypatch, match, "link")
    groupings = Calls(monkeypatch, households, "build")
    state = tmp_path / "state"
    _night(extracts, tmp_path / "out", state, "2026-12-01")
    assert reads.take() > 40  # every table file in a source folder
    assert fits.take() == links.take() == groupings.take() == 1
    sources = validations.take()
    assert normalizes.take() == sources  # one call per source: its files together
    assert warm_ups.take() == sources  # every source's files read tonight
    books.take()

    # The full twin of each night runs in another process while the incremental one runs here
    # (the counters above count this process's calls only).
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    assert record_writers.take() == 1

    def night(day: str, changed: int, sources_changed: int = 1, same_date: bool = False) -> None:
        """Tonight incrementally, and a full night from a copy of the same state: the same."""
        twin = tmp_path / f"state_full_{len(list(tmp_path.glob('state_full_*')))}"
        shutil.copytree(state, twin)
        full_night = pool.submit(_night, extracts, tmp_path / "out_full", twin, day, True)
        inc = _night(extracts, tmp_path / "out", state, day)
        assert reads.take() == changed, "only the new or changed files are read"
        assert normalizes.take() == changed  # the changed files' sources, those files only
        assert warm_ups.take() == changed, "GX imported ahead only when a file is read tonight"
        # No source validated: the records are those written when the same verdicts were made.
        assert record_writers.take() == (1 if sources_changed else 0)
        # The sample's dates all lie before these nights: no verdict can change with the date.
        assert validations.take() == sources_changed, "only the changed sources are validated"
        assert fits.take() == 0, "the saved model is reused"
        # The same records, model, verdicts and person keys in the same month: the earlier
        # night's links and households.
        assert links.take() == groupings.take() == (1 if sources_changed else 0)
        written, township_books = books.take(), len(list(TOWNSHIPS.at(inc).rglob("*.xlsx")))
        if same_date:  # a re-run of the same date: only the townships the change reaches
            assert 0 < written < township_books
        else:  # a workbook carries its run date
            assert written == township_books
        assert MatchSummary.read(MATCH_SUMMARY.at(inc)).refit_reason is None
        # The Data Docs still show every source: those not validated tonight from the memo.
        docs = GX_DOCS.at(inc) / "gx" / "uncommitted" / "data_docs" / "local_site" / "validations"
        assert len(list(docs.iterdir())) == sources
        full = full_night.result()
        assert json.loads(MANIFEST.at(full).read_text(encoding="utf-8"))["parameters"]["full"] is True
        _same_outputs(inc, full)

    with pool:
        shutil.move(late, extracts / LATE_FILE)  # night 2: a new hospital file
        night("2026-12-02", 1)
        _change_a_file(extracts)  # night 3: a county's roster changed, re-run the same morning
        night("2026-12-02", 1, same_date=True)
        removed = next((extracts / "monitoring").glob("410802_*.csv"))
        removed.unlink()  # night 4: a county's monitoring list withdrawn
        night("2026-12-04", 0, sources_changed=1)
        night("2026-12-05", 0, sources_changed=0)  # night 5: nothing new (most nights)
    # The removed county's monitored people are gone from the night's records.
    index = pd.read_parquet(PERSON_INDEX.at(tmp_path / "out" / "2026-12-04"))
    assert not (index["file"] == removed.name).any()
    # Nights run in processes of their own: the links' memo key must not change with the process.
    keys = {_match_key_in_a_process(extracts, tmp_path / "out" / "2026-12-05", state, seed) for seed in "12"}
    assert len(keys) == 1


def _match_key_in_a_process(extracts: Path, run_dir: Path, state: Path, hash_seed: str) -> str:
    """The links' memo key (stages._match_key) for the night in ``run_dir``, computed by a new
    Python process."""
    code = f"""
from pathlib import Path
from pipeline.config import RunConfig
from pipeline.match import saved
from pipeline.settings import Settings
from pipeline.stages import StageContext, _match_inputs, _match_key, stage
from pipeline.state import StateStore
s = Settings.build(extracts={str(extracts)!r}, out={str(run_dir.parent)!r}, state={str(state)!r},
                   run_date={run_dir.name!r})
ctx = StageContext(stage("match"), RunConfig.load(s), Path({str(run_dir)!r}), StateStore(s.state))
model = saved.fingerprint(s.matching_file, s.sources_file)
print(_match_key(_match_inputs(ctx, model, ctx.state.decisions()), ctx.state.person_keys_digest()))
"""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_verdict_that_depends_on_the_run_date_is_not_taken_from_the_memo(tmp_path: Path) -> None:
    """A date after one night's run date but not after the next's: that file is validated again."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.validate import _dates_between

    path = tmp_path / "n.parquet"
    stamps = pd.to_datetime(pd.Series(["2026-11-30", None, "2026-12-03"]))
    pq.write_table(pa.table({"discharge_date": stamps.to_numpy()}), path)
    d = pd.Timestamp
    assert _dates_between(path, d("2026-12-01").date(), d("2026-12-03").date())  # 12-03 rejected, then not
    assert _dates_between(path, d("2026-12-03").date(), d("2026-12-01").date())  # a backfill, the other way
    assert not _dates_between(path, d("2026-12-03").date(), d("2026-12-09").date())
    assert not _dates_between(path, d("2026-11-30").date(), d("2026-12-02").date())  # 11-30: on both nights


def test_a_night_with_every_source_from_the_memo_takes_its_data_docs_as_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: Any
) -> None:
    """Most nights no file changes: every source's verdicts come from the memo, and so do the Data
    Docs built from exactly those suites and results, without importing Great Expectations."""
    from datetime import date

    import pyarrow as pa
    import pyarrow.parquet as pq

    import pipeline.validate as validate
    from pipeline.memo import Memo
    from pipeline.normalize import normalize_source
    from pipeline.normalize.places import Gazetteer

    gaz = Gazetteer.from_csv(PROJECT_ROOT / "rules" / "reference" / "jiaozuo_townships_2022.csv")
    raw = pd.DataFrame(
        {
            "file": ["m.csv"] * 2,
            "row": [2, 3],
            "name": ["张三", "李四"],
            "id_number": ["", ""],
            "discharge_date": ["2026-10-01", "十月"],
            "out_of_pocket": ["21000", "100"],
        }
    )
    table = pa.Table.from_pandas(normalize_source(raw, cfg.by_key("medical"), cfg, gaz), preserve_index=False)
    path = tmp_path / "medical.parquet"
    pq.write_table(table.replace_schema_metadata({validate.CONTENT_KEY: b"rows-1"}), path)
    memo = Memo(tmp_path / "memo")

    def night(day: str) -> tuple[bool, Path]:
        docs = tmp_path / day
        v = validate.Validator(cfg, date.fromisoformat(day), docs_dir=docs)
        *_, remembered = validate.validate_memo(v, memo, "salt", "medical", path)
        v.finish(memo)
        return remembered, docs

    def files(docs: Path) -> list[str]:
        return sorted(str(p.relative_to(docs)) for p in docs.rglob("*") if p.is_file())

    assert night("2026-11-29")[0] is False  # validated with GX
    remembered, built = night("2026-11-30")  # from the memo: the docs built once, and kept
    assert remembered

    def no_gx(docs_dir: Path | None) -> Any:
        raise AssertionError("Great Expectations was needed")

    monkeypatch.setattr(validate, "_context", no_gx)
    remembered, taken = night("2026-12-01")
    assert remembered
    assert files(taken) == files(built) and any(f.endswith("index.html") for f in files(taken))
    assert (taken / "gx" / "expectations" / "medical_records.json").exists()


def test_a_source_whose_files_were_all_normalized_before_is_copied_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: Any
) -> None:
    """The second time, neither the normalizer nor any file's memo entry is read: the source's
    normalized file is the one written the first time, rows and metadata."""
    import pyarrow.parquet as pq

    from pipeline.ingest import read_folder
    from pipeline.memo import Memo
    from pipeline.normalize.places import Gazetteer

    gaz = Gazetteer.from_csv(PROJECT_ROOT / "rules" / "reference" / "jiaozuo_townships_2022.csv")

    spec = cfg.by_key("deaths")
    read, _ = read_folder(SAMPLE / "deaths", spec, SAMPLE)
    stages._write_text_parquet(read.rows, tmp_path / "raw.parquet")
    labels = read.rows["file"].unique().tolist()
    assert len(labels) > 1
    job = stages._NormalizeJob(
        "deaths",
        tmp_path / "raw.parquet",
        tmp_path / "first.parquet",
        cfg,
        gaz,
        Memo(tmp_path / "memo"),
        "salt",
        {label: f"sha-{label}" for label in labels},
    )
    first = stages._normalize_one(job)
    assert first == len(read.rows)

    def unused(*a: Any, **k: Any) -> Any:
        raise AssertionError("read again")

    monkeypatch.setattr(stages, "normalize_source", unused)
    monkeypatch.setattr(Memo, "load_table", unused)
    again = stages._normalize_one(replace(job, out=tmp_path / "again.parquet"))
    assert again == first
    one, two = pq.read_table(tmp_path / "first.parquet"), pq.read_table(tmp_path / "again.parquet")
    assert one.equals(two) and one.schema.metadata == two.schema.metadata
    # One file less: the source is made again from its files' entries, not taken whole.
    monkeypatch.undo()
    fewer = replace(job, out=tmp_path / "fewer.parquet", contents={labels[0]: f"sha-{labels[0]}"})
    assert stages._normalize_one(fewer) == first  # the other files have no digest: no whole key


def test_a_source_folder_whose_files_were_all_read_before_is_taken_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: Any
) -> None:
    """Its rows and reports are those of the first reading, and no file is opened; a file added
    to the folder makes it read again (the unchanged files from their own entries)."""
    import pyarrow.parquet as pq

    from pipeline.ingest import MemoReader
    from pipeline.memo import Memo

    folder = tmp_path / "extracts" / "deaths"
    shutil.copytree(SAMPLE / "deaths", folder)
    reader = MemoReader(Memo(tmp_path / "memo"), "salt")
    spec = cfg.by_key("deaths")

    def job(name: str) -> Any:
        return stages._IngestJob(
            folder, spec, folder.parent, tmp_path / f"{name}.raw", tmp_path / f"{name}.unsplit", reader
        )

    first, ignored, rows, fresh = stages._ingest_one(job("first"))
    assert fresh and rows > 0 and first.error is None

    def unused(*a: Any, **k: Any) -> Any:
        raise AssertionError("read again")

    with monkeypatch.context() as m:
        m.setattr(MemoReader, "read", unused)
        again, ignored_again, rows_again, fresh_again = stages._ingest_one(job("again"))
    assert not fresh_again and (ignored_again, rows_again) == (ignored, rows)
    assert again.files == first.files and again.folder == first.folder
    for part in ("raw", "unsplit"):
        assert pq.read_table(tmp_path / f"first.{part}").equals(pq.read_table(tmp_path / f"again.{part}"))
    # A new file: the folder is read again, the files seen before from their own entries.
    shutil.copy(folder / "火化信息_2026.csv", folder / "火化信息_补报.csv")
    reads = Calls(monkeypatch, ingest, "read_source_file")
    more, _, more_rows, fresh_more = stages._ingest_one(job("more"))
    assert fresh_more and reads.take() == 1 and len(more.files) == len(first.files) + 1
    assert more_rows > rows
