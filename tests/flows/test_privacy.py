"""Personal data kept to need: a night on the sample (through Prefect) leaves no ID number, name or
phone number of the input in its logs, its Prefect artifacts, its manifest, its Data Docs, the
summary, the steward's page or the index; and what it writes is for its owner and group only."""

from __future__ import annotations

import json
import logging
import shutil
import stat
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from flows.nightly import nightly
from pipeline.settings import PROJECT_ROOT


def _personal_values(run_dir: Path) -> set[str]:
    """Every ID number, name and phone number the departments sent (as read, before any cleaning)."""
    values: set[str] = set()
    for raw in (run_dir / "work" / "raw").glob("*.parquet"):
        t = pd.read_parquet(raw)
        for col in ("id_number", "name", "phone", "guardian_id", "guardian_name", "head_id", "head_name"):
            if col in t.columns:
                values |= {str(v).strip(" '\t\u3000") for v in t[col].dropna()}
    # Short names also spell ordinary words and places (王村, 新华); IDs and phones never do.
    gazetteer = (PROJECT_ROOT / "rules" / "reference" / "jiaozuo_townships_2022.csv").read_text(
        encoding="utf-8"
    )
    return {v for v in values if len(v) >= 2 and v not in gazetteer}


@pytest.mark.slow
def test_no_personal_value_in_logs_artifacts_manifest_data_docs_or_pages(
    sample_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    # A failing check must not show its value either: a row shifted by a column puts a name in the
    # amount column (a value Great Expectations would otherwise list on its Data Docs page).
    path = extracts / "subsidy" / "两项补贴发放_2026-10.csv"
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    t.loc[0, "发放金额"] = t.loc[0, "姓名"]
    t.to_csv(path, index=False)
    caplog.set_level(logging.DEBUG)
    nightly(
        run_date=date(2026, 11, 29),
        extracts=str(extracts),
        out=str(tmp_path / "out"),
        state=str(tmp_path / "state"),
    )
    run = tmp_path / "out" / "2026-11-29"
    values = _personal_values(run)
    ids = {v for v in values if len(v) == 18}
    assert len(ids) > 1000 and t.loc[0, "姓名"] in values

    from prefect.artifacts import Artifact

    texts = {"log": "\n".join(r.getMessage() for r in caplog.records)}
    for key in ("warnings-by-county-and-rule", "run-summary", "summary-page", "workbook-index"):
        artifact = Artifact.get(key)
        texts[f"artifact {key}"] = json.dumps(artifact.data, ensure_ascii=False) if artifact else ""
    texts["manifest"] = (run / "run_manifest.json").read_text(encoding="utf-8")
    from pipeline.contracts import INDEX_HTML, QUALITY_HTML, STEWARD_HTML, SUMMARY_HTML

    for page in (SUMMARY_HTML, STEWARD_HTML, INDEX_HTML, QUALITY_HTML):
        texts[page.path] = page.at(run).read_text(encoding="utf-8")
    docs = list((run / "data_quality" / "gx").rglob("*.html")) + list(
        (run / "data_quality" / "gx").rglob("*.json")
    )
    assert any(p.suffix == ".html" for p in docs)
    for p in docs:
        texts[str(p.relative_to(run))] = p.read_text(encoding="utf-8", errors="replace")
    hits = [(where, v) for where, text in texts.items() for v in values if v in text]
    assert not hits, hits[:10]
    # Folders 0750, files 0640: nothing for "others", nothing writable by the group.
    for p in [run, *run.rglob("*"), *(tmp_path / "state").rglob("*")]:
        if p.is_symlink() or p.parent.name == "inbox":
            continue
        assert stat.S_IMODE(p.stat().st_mode) & 0o027 == 0, (p, oct(p.stat().st_mode))
