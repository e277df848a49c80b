"""End to end without Prefect: a generated population through ingest -> normalize -> validate.

Nothing is lost: every row the generator wrote is either in records.parquet or in a rejected
workbook, with its file and row number.
"""

from __future__ import annotations

from datetime import date

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import schema as S
from pipeline.contracts import FLAGGED, GX_DOCS, QUALITY, QUALITY_XLSX, RECORDS, REJECTED
from pipeline.runs import FOUNDATION, run_in_place
from pipeline.sample import TRUTH_FILE, SampleSpec, generate
from pipeline.settings import Settings


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pd.DataFrame]:
    root = tmp_path_factory.mktemp("e2e")
    generate(SampleSpec(households=600, seed=3, error_scale=3.0), root / "extracts")
    (root / "extracts" / "unknown_department").mkdir()
    (root / "extracts" / "unknown_department" / "a.csv").write_text("x,y\n1,2\n")
    settings = Settings.build(extracts=root / "extracts", out=root / "reports", run_date=date(2026, 11, 29))
    run_in_place(settings, FOUNDATION)
    return settings, pd.read_csv(root / "extracts" / TRUTH_FILE, dtype=str)


def _rejected_rows(settings: Settings) -> pd.DataFrame:
    parts = []
    for p in sorted(REJECTED.at(settings.run_dir, "*").parent.glob("*_rejected.xlsx")):
        ws = openpyxl.load_workbook(p, read_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][:3] == ("文件", "行号", "原因")
        for r in rows[1:]:
            if r[1] is not None:
                parts.append((p.name.removesuffix("_rejected.xlsx"), r[0], int(r[1]), r[2]))
    return pd.DataFrame(parts, columns=["source", "file", "row", "reason"])


def test_records_schema(run: tuple[Settings, pd.DataFrame]) -> None:
    settings, _ = run
    assert pq.read_schema(RECORDS.at(settings.run_dir)).equals(S.RECORD_SCHEMA, check_metadata=False)


def test_nothing_is_lost(run: tuple[Settings, pd.DataFrame]) -> None:
    settings, truth = run
    records = pd.read_parquet(RECORDS.at(settings.run_dir), columns=[S.SOURCE, S.FILE, S.ROW])
    rejected = _rejected_rows(settings)
    seen = pd.concat([records, rejected[["source", "file", "row"]]], ignore_index=True)
    seen["row"] = seen["row"].astype(int)
    truth["row"] = truth["row"].astype(int)
    key = ["source", "file", "row"]
    assert not seen.duplicated(key).any()
    merged = truth.merge(seen, on=key, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()


def test_rejections_are_the_invalid_rows(run: tuple[Settings, pd.DataFrame]) -> None:
    settings, truth = run
    rejected = _rejected_rows(settings)
    rejected["row"] = rejected["row"].astype(int)
    truth["row"] = truth["row"].astype(int)
    m = rejected.merge(truth, on=["source", "file", "row"])
    # Every rejected row is one the generator deliberately broke (negative amount, future date ...).
    assert m["errors"].fillna("").str.contains("invalid").all(), m[
        ~m["errors"].fillna("").str.contains("invalid")
    ]
    assert m["reason"].notna().all()
    # ... and every such row is either rejected or kept with a flag saying what was wrong (a blank
    # name beside a usable ID, an unknown disability grade: rules/sources.yaml, not_null/on_bad).
    broken = truth[truth["errors"].fillna("").str.contains("invalid")]
    assert len(broken) > 0
    rec = pd.read_parquet(RECORDS.at(settings.run_dir), columns=[S.SOURCE, S.FILE, S.ROW, S.FLAGS])
    kept = broken.merge(rec, on=["source", "file", "row"])
    assert kept[S.FLAGS].notna().all(), kept
    assert len(kept) + len(m) == len(broken)


def test_ids_normalized_match_truth_where_usable(run: tuple[Settings, pd.DataFrame]) -> None:
    settings, truth = run
    rec = pd.read_parquet(RECORDS.at(settings.run_dir))
    usable = rec[rec[S.ID_STATUS].isin([s.value for s in S.USABLE_ID])]
    assert usable[S.ID_NUMBER].str.fullmatch(r"\d{17}[\dX]").all()
    assert usable[S.BIRTH_DATE].notna().all() and usable[S.ID_SEX].isin(["男", "女"]).all()
    # Rows whose ID the generator mangled are never usable.
    truth = truth.assign(row=truth["row"].astype(int))
    m = rec.merge(truth, left_on=[S.SOURCE, S.FILE, S.ROW], right_on=["source", "file", "row"])
    # (assistance and student rows carry two IDs and the tag does not say which one was hit)
    mangled = m[
        m["errors"].fillna("").str.contains("id_mangled") & ~m[S.SOURCE].isin(["assistance", "students"])
    ]
    assert len(mangled) > 0
    assert not mangled[S.ID_STATUS].isin([s.value for s in S.USABLE_ID]).any() or (
        # a disability row can recover its ID from the certificate number
        mangled.loc[mangled[S.ID_STATUS] == "valid", S.SOURCE].eq("disability").all()
    )


def test_townships_resolved(run: tuple[Settings, pd.DataFrame]) -> None:
    settings, _ = run
    rec = pd.read_parquet(RECORDS.at(settings.run_dir))
    # Hospital stays carry a county only; vehicle and property checks carry no place of residence.
    placed = rec[~rec[S.SOURCE].isin(["medical", "vehicles", "property"])]
    assert placed[S.TOWNSHIP_CODE].notna().mean() > 0.99
    assert (
        placed[S.TOWNSHIP_CODE].dropna().str[:6] == placed.loc[placed[S.TOWNSHIP_CODE].notna(), S.COUNTY_CODE]
    ).all()


def test_quality_summary(run: tuple[Settings, pd.DataFrame]) -> None:
    import json

    settings, _ = run
    s = json.loads(QUALITY.at(settings.run_dir).read_text(encoding="utf-8"))
    assert s["unknown_folders"] == ["unknown_department"]
    assert {e["status"] for e in s["sources"].values()} == {"ok"}
    assert QUALITY_XLSX.at(settings.run_dir).exists()
    assert (
        GX_DOCS.at(settings.run_dir) / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    ).exists()


def test_the_flagged_rows_go_back_to_their_department(run: tuple[Settings, pd.DataFrame]) -> None:
    """问题数据反馈清单: one line per flagged problem, as many as the quality summary counts, each
    with the file, the spreadsheet row and the row as the department sent it."""
    import json

    settings, _ = run
    summary = json.loads(QUALITY.at(settings.run_dir).read_text(encoding="utf-8"))
    total = 0
    for key, entry in summary["sources"].items():
        ws = openpyxl.load_workbook(FLAGGED.at(settings.run_dir, key), read_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][:3] == ("文件", "行号", "问题")
        lines = [r for r in rows[1:] if r[1] is not None]
        assert len(lines) == sum(entry["flags"].values()), key
        total += len(lines)
    assert total > 0  # the generated extracts carry ID typos, unresolved townships ...
