"""The nightly flow on the committed sample, asserting on what a user opens."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from flows.nightly import nightly
from pipeline import schema as S


@pytest.mark.slow
def test_nightly_on_the_sample(sample_dir: Path, tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    # A department's broken file must not stop the night: only its source is skipped.
    (extracts / "medical" / "住院结算_broken.xlsx").write_bytes(b"not a workbook")
    result = nightly(
        run_date=date(2026, 11, 29),
        extracts=str(extracts),
        out=str(tmp_path / "reports"),
        state=str(tmp_path / "state"),
    )
    run_dir = tmp_path / "reports" / "2026-11-29"
    assert Path(result) == run_dir / "data" / "warnings.parquet"
    records = pd.read_parquet(run_dir / "data" / "records.parquet")
    index = pd.read_parquet(run_dir / "data" / "person_index.parquet")
    assert len(index) == len(records) and index["person_id"].notna().all()
    assert (run_dir / "review" / "match_review.xlsx").exists()
    assert set(records[S.SOURCE]) == {
        "monitoring",
        "disability",
        "assistance",
        "subsidy",
        "deaths",
        "students",
    }
    # R05 reasons about hospital costs: with the medical source failed it is skipped, not run blind.
    warnings = pd.read_parquet(result)
    assert len(warnings) > 0 and "R05" not in set(warnings["rule"])
    rules = json.loads((run_dir / "data" / "rules_summary.json").read_text(encoding="utf-8"))
    r05 = next(r for r in rules["rules"] if r["id"] == "R05")
    assert r05["status"] == "skipped" and r05["missing_sources"] == ["medical"]
    manifest = json.loads((run_dir / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest["outcome"] == "completed" and manifest["sources"]["medical"]["status"] == "failed"
    assert manifest["rows"]["rules_skipped"] == ["R05"] and manifest["parameters"]["rules"] is None
    summary = json.loads((run_dir / "data_quality" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sources"]["medical"]["status"] == "failed"
    assert "住院结算_broken.xlsx" in summary["sources"]["medical"]["error_zh"]
    for source in ("monitoring", "disability", "assistance", "subsidy"):
        wb = openpyxl.load_workbook(run_dir / "data_quality" / f"{source}_rejected.xlsx")
        ws = wb.worksheets[0]
        assert [c.value for c in ws[1]][:3] == ["文件", "行号", "原因"]
        assert ws.freeze_panes == "A2"
    # What people open: township workbooks, the summary and the index, and the Prefect artifacts.
    books = sorted((run_dir / "townships").rglob("*.xlsx"))
    assert books and manifest["rows"]["township_workbooks"] == len(books)
    assert (run_dir / "summary.html").exists() and (run_dir / "summary.xlsx").exists()
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert all(b.relative_to(run_dir).as_posix() in index for b in books)

    from prefect.artifacts import Artifact

    table = Artifact.get("warnings-by-county-and-rule")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert sum(r["合计"] for r in rows) == len(warnings)
    markdown = Artifact.get("run-summary")
    assert (
        f"预警 **{len(warnings):,}** 条" in markdown.data
        and "R05 | 大额医疗自付 | 0 | 已跳过" in markdown.data
    )
    # The first night's cases: every warning sent, none answered yet.
    assert f"核查反馈:已下发 {len(warnings):,},已反馈 0(0%)" in markdown.data
    assert manifest["rows"]["cases"]["opened"] == manifest["rows"]["cases"]["sent"] == len(warnings)
    # One Prefect task per stage of the library's one stage list, in its order.
    from prefect.client.orchestration import get_client

    from pipeline.stages import STAGES

    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs()
    ran = [t.name.rsplit("-", 1)[0] for t in sorted(task_runs, key=lambda t: t.expected_start_time)]
    assert ran[-len(STAGES) :] == [s.name for s in STAGES]
    link = Artifact.get("summary-page")
    assert link.data.startswith("[运行汇总](file://") and "2026-11-29/summary.html" in link.data
