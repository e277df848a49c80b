"""No workbook the system writes runs a department's text as a formula.

A copy of the sample gets formula-looking text where departments' files can carry it (a name, a
village, an ID cell, an amount, a file name), and a row that must be rejected with such text in it;
then every .xlsx of the night (township lists, rejected and flagged rows, the quality summary, the
review, summary.xlsx, the feedback result) is read back cell by cell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipeline.runs import run_all
from pipeline.settings import Settings

FORMULAS = ("=", "+", "-", "@")


@pytest.mark.slow
def test_every_workbook_of_a_night_neutralises_formula_text(tmp_path: Path, sample_dir: Path) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    path = extracts / "monitoring" / "410822_防返贫监测对象.csv"
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    t.loc[0, "姓名"] = '=HYPERLINK("http://x","点我")'
    t.loc[1, "行政村(社区)"] = "+1+2"
    t.loc[2, "证件号码"] = "@SUM(A1)"  # unusable ID: flagged or rejected, quoted as sent
    t.loc[3, "家庭年人均纯收入(元)"] = "-cmd|' /C calc'!A0"  # not an amount: rejected, quoted as sent
    t.to_csv(path, index=False)
    (extracts / "disability" / "=cmd.csv").write_bytes(b"")  # a file name quoted in the summaries
    run = run_all(Settings.build(extracts=extracts, out=tmp_path / "out", state=tmp_path / "state"))
    books = sorted(run.rglob("*.xlsx"))
    names = {b.name for b in books}
    assert {
        "summary.xlsx",
        "monitoring_rejected.xlsx",
        "monitoring_flagged.xlsx",
        "match_review.xlsx",
    } <= names
    texts: list[str] = []
    for book in books:
        for ws in openpyxl.load_workbook(book).worksheets:
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", (book.name, ws.title, c.coordinate)
                    if isinstance(c.value, str) and c.value:
                        assert not c.value.startswith(FORMULAS), (book.name, ws.title, c.coordinate, c.value)
                        texts.append(c.value)
    # The texts are there, quoted as sent and made inert, not dropped.
    assert "'-cmd|' /C calc'!A0" in texts  # the rejected row as the department sent it
    assert any(t.startswith("'=cmd.csv") for t in texts)  # the file name in the quality summary
