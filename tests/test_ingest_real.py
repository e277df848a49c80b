"""Extracts as they really come (tests/bad_inputs.py): each read, set aside or refused as documented,
no row of a person lost, every row accounted for."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import SourceFileError
from pipeline.ingest import read_extracts, read_source_file
from pipeline.settings import PROJECT_ROOT
from pipeline.sources import SourcesConfig, load_sources
from tests.bad_inputs import CORPUS, PEOPLE, duplicate_columns

SPEC = load_sources(PROJECT_ROOT / "rules" / "sources.yaml").by_key("subsidy")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_kind_of_real_extract(name: str, tmp_path: Path) -> None:
    case = CORPUS[name]
    path = case.write(tmp_path)
    if case.error:
        with pytest.raises(SourceFileError) as e:
            read_source_file(path, SPEC)
        assert case.error in e.value.message_zh
        return
    rows, rejected, report = read_source_file(path, SPEC)
    assert sorted(rows["name"]) == sorted(
        p[2] for p in PEOPLE if p[2] != "李四" or name != "undecodable_line"
    )
    assert sorted(rows["id_number"].str.strip()) == sorted(
        p[3] for p in PEOPLE if p[2] != "李四" or name != "undecodable_line"
    )
    assert rejected["reason"].value_counts().to_dict() == case.set_aside
    # Every row below the header is a person, set aside with its reason, or blank.
    assert report.rows == case.rows and report.rejected_rows == sum(case.set_aside.values())
    assert "合计" not in set(rows["name"].dropna())


def test_separators_and_encodings_are_found(tmp_path: Path) -> None:
    _, _, semi = read_source_file(CORPUS["semicolons"].write(tmp_path), SPEC)
    _, _, uni = read_source_file(CORPUS["unicode_text"].write(tmp_path), SPEC)
    assert semi.delimiter == ";" and (uni.delimiter, uni.encoding) == ("\t", "utf-16")


def test_rows_set_aside_keep_their_spreadsheet_row_numbers(tmp_path: Path) -> None:
    _, totals, _ = read_source_file(CORPUS["totals"].write(tmp_path), SPEC)
    assert sorted(totals["row"]) == [4, 6]  # 小计 (label in the fifth column) and 合计
    _, header, _ = read_source_file(CORPUS["repeated_header"].write(tmp_path), SPEC)
    assert header["row"].tolist() == [3]
    rows, bad, _ = read_source_file(CORPUS["undecodable_line"].write(tmp_path), SPEC)
    assert bad["row"].tolist() == [3] and rows["row"].tolist() == [2, 4]


def test_every_sheet_with_the_header_is_read_and_the_others_named(tmp_path: Path) -> None:
    rows, _, report = read_source_file(CORPUS["workbook"].write(tmp_path), SPEC)
    assert report.sheets == ["10月", "11月"] and report.skipped_sheets == ["说明"]
    assert rows["file"].tolist() == ["多工作表.xlsx", "多工作表.xlsx", "多工作表.xlsx(11月)"]
    assert rows["row"].tolist() == [4, 5, 2]  # below the merged title and group rows
    assert rows["amount"].tolist() == ["100", "100", "100"]  # the formula's cached value
    assert rows["township"].tolist() == ["磨头镇", "磨头镇", "柏山镇"]  # the hidden column too


def test_two_columns_of_one_field_are_an_error_naming_both_unless_the_contract_says(tmp_path: Path) -> None:
    path = duplicate_columns(tmp_path)
    with pytest.raises(SourceFileError) as e:
        read_source_file(path, SPEC)
    assert "第C列“姓名”和第H列“姓名”" in e.value.message_zh
    text = (PROJECT_ROOT / "rules" / "sources.yaml").read_text(encoding="utf-8")
    marked = text.replace(
        'name: {headers: ["姓名"], required: true, not_null: unless_id}',
        'name: {headers: ["姓名"], required: true, not_null: unless_id, duplicates: first}',
    )
    assert marked != text
    (tmp_path / "sources.yaml").write_text(marked, encoding="utf-8")
    spec = load_sources(tmp_path / "sources.yaml").by_key("subsidy")
    rows, _, report = read_source_file(path, spec)
    assert len(rows) == 3 and report.duplicate_columns == ["姓名"]


def test_a_folder_of_the_corpus_loses_only_the_broken_files_and_says_so(
    tmp_path: Path, cfg: SourcesConfig
) -> None:
    folder = tmp_path / "extracts" / "subsidy"
    folder.mkdir(parents=True)
    for case in CORPUS.values():
        case.write(folder)
    (folder / "说明.txt").write_text("这些文件是十月的发放明细。", encoding="utf-8")  # a note, not a table
    read = read_extracts(tmp_path / "extracts", cfg).sources["subsidy"]
    assert read.partial and "重复列.csv" in read.error_zh and "空文件.csv" in read.error_zh
    good = [c for c in CORPUS.values() if not c.error]
    assert len(read.rows) == sum(c.rows for c in good)
    assert len(read.rejected) == sum(sum(c.set_aside.values()) for c in good)
    assert not any(f.path.endswith("说明.txt") for f in read.files)
    assert pd.Series([f.error is not None for f in read.files]).sum() == 3


def test_every_row_of_every_file_is_accounted_for(tmp_path: Path, sample_dir: Path) -> None:
    """The corpus dropped into the sample's subsidy folder, through ingest, normalize and validate:
    per file, rows read = accepted + out of scope + quarantined (by reason); a failed file says why."""
    import json
    import shutil

    from pipeline.contracts import QUALITY, QualitySummary
    from pipeline.runs import run_all
    from pipeline.settings import Settings

    extracts = tmp_path / "extracts"
    shutil.copytree(sample_dir, extracts)
    names = {name: case.write(extracts / "subsidy").name for name, case in CORPUS.items()}
    run = run_all(
        Settings.build(
            extracts=extracts, out=tmp_path / "out", state=tmp_path / "state", run_date="2026-11-29"
        ),
        counties=["410822"],
    )
    quality = QualitySummary.read(QUALITY.at(run))
    for key, source in quality.sources.items():
        for f in source.files:
            assert f.accounted, (
                key,
                f.path,
                f.rows,
                f.rejected_rows,
                f.accepted,
                f.out_of_scope,
                f.quarantined,
            )
    subsidy = {Path(f.path).name: f for f in quality.sources["subsidy"].files}
    assert quality.sources["subsidy"].status == "partial"
    for name, case in CORPUS.items():
        f = subsidy[names[name]]
        if case.error:
            assert f.error_zh and case.error in f.error_zh and f.rows == 0, name
        else:
            assert f.rows + f.rejected_rows == case.rows + sum(case.set_aside.values()), name
            for reason, n in case.set_aside.items():
                assert f.quarantined.get(reason) == n, name
    manifest = json.loads((run / "run_manifest.json").read_text(encoding="utf-8"))
    files = {f["file"]: f for f in manifest["sources"]["subsidy"]["files"]}
    totals = files["带合计行.csv"]
    assert totals["read"] == 5 and totals["quarantined"]["合计行(不是人员,已剔除)"] == 2
    assert totals["accepted"] + totals["out_of_scope"] + sum(totals["quarantined"].values()) == totals["read"]
