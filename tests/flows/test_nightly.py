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
from pipeline.contracts import INDEX_HTML, SUMMARY_HTML, SUMMARY_XLSX, TOWNSHIPS


@pytest.mark.slow
def test_nightly_on_the_sample(sample_dir: Path, tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    # A department's broken file must not stop the night, nor lose more than it forces: the hospital
    # file only adds evidence (R05 runs on the readable files); a broken subsidy file makes "no
    # payment" unknowable, so R03 and R04, which reason about that absence, are skipped.
    (extracts / "medical" / "住院结算_broken.xlsx").write_bytes(b"not a workbook")
    (extracts / "subsidy" / "两项补贴发放_2026-11.csv").write_bytes(b"")
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
        "medical",
        "deaths",
        "students",
        "hotline",
        "reports",
        "vehicles",
        "property",
    }
    warnings = pd.read_parquet(result)
    assert "R05" in set(warnings["rule"]) and not {"R03", "R04"} & set(warnings["rule"])
    rules = {
        r["id"]: r for r in json.loads((run_dir / "data" / "rules_summary.json").read_text("utf-8"))["rules"]
    }
    assert rules["R05"]["status"] == "ran" and rules["R05"]["incomplete_sources"] == ["medical"]
    assert rules["R03"]["status"] == "skipped" and rules["R03"]["missing_sources"] == ["subsidy"]
    manifest = json.loads((run_dir / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest["outcome"] == "partial" and manifest["sources"]["medical"]["status"] == "partial"
    assert set(manifest["rows"]["sources_incomplete"]) == {"medical", "subsidy"}
    assert manifest["rows"]["rules_skipped"] == ["R03", "R04"] and manifest["parameters"]["rules"] is None
    summary = json.loads((run_dir / "data_quality" / "summary.json").read_text(encoding="utf-8"))
    assert summary["sources"]["medical"]["status"] == "partial"
    assert "住院结算_broken.xlsx" in summary["sources"]["medical"]["error_zh"]
    page = SUMMARY_HTML.at(run_dir).read_text(encoding="utf-8")
    banner = page[page.index('class="banner"') : page.index("</div>", page.index('class="banner"'))]
    assert "住院结算_broken.xlsx" in banner and "两项补贴发放_2026-11.csv" in banner
    assert "R03 重度残疾人护理补贴未享受" in banner and "R05 大额医疗自付" in banner
    book = next(TOWNSHIPS.at(run_dir).rglob("*.xlsx"))
    said = {
        r[0]: r[5] for r in openpyxl.load_workbook(book)["规则说明"].iter_rows(min_row=2, values_only=True)
    }
    assert said["R03"].startswith("已跳过") and "可能缺失" in said["R05"]
    for source in ("monitoring", "disability", "assistance", "subsidy"):
        wb = openpyxl.load_workbook(run_dir / "data_quality" / f"{source}_rejected.xlsx")
        ws = wb.worksheets[0]
        assert [c.value for c in ws[1]][:3] == ["文件", "行号", "原因"]
        assert ws.freeze_panes == "A2"
    # What people open: township workbooks, the summary and the index, and the Prefect artifacts.
    books = sorted(TOWNSHIPS.at(run_dir).rglob("*.xlsx"))
    assert books and manifest["rows"]["township_workbooks"] == len(books)
    assert SUMMARY_HTML.at(run_dir).exists() and SUMMARY_XLSX.at(run_dir).exists()
    index = INDEX_HTML.at(run_dir).read_text(encoding="utf-8")
    assert all(b.relative_to(INDEX_HTML.at(run_dir).parent).as_posix() in index for b in books)

    from prefect.artifacts import Artifact

    table = Artifact.get("warnings-by-county-and-rule")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert sum(r["合计"] for r in rows) == len(warnings)
    markdown = Artifact.get("run-summary")
    assert (
        f"预警 **{len(warnings):,}** 条" in markdown.data
        and "R03 | 重度残疾人护理补贴未享受 | 0 | 已跳过" in markdown.data
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
    assert link.data.startswith("[运行汇总](file://") and "2026-11-29/publish/summary.html" in link.data
