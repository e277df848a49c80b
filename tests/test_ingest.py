"""Reading extracts: encodings, header detection, provenance, and every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from pipeline import schema as S
from pipeline.errors import SourceFileError
from pipeline.ingest import cell_text, detect_encoding, read_extracts, read_source_file
from pipeline.sources import SourcesConfig

SUBSIDY_HEADER = "县(市、区),乡(镇、街道),姓名,身份证号,补贴类别,发放年月,发放金额"
ROW = "博爱县,磨头镇,张伟,11010519491231002X,重度残疾人护理补贴,2026-10,100"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path: Path, cfg: SourcesConfig, encoding: str) -> None:
    p = write(tmp_path / "s.csv", f"{SUBSIDY_HEADER}\n{ROW}\n", encoding)
    frame, rejected, report = read_source_file(p, cfg.by_key("subsidy"))
    assert frame[S.NAME].tolist() == ["张伟"]
    assert frame[S.ID_NUMBER].tolist() == ["11010519491231002X"]
    assert frame[S.ROW].tolist() == [2]  # header is row 1
    assert report.encoding in {"utf-8", "utf-8-sig", "gb18030"}


def test_gbk_is_read_as_gb18030() -> None:
    assert detect_encoding("县(市、区),姓名".encode("gbk")) == "gb18030"


def test_title_line_above_header_keeps_spreadsheet_row_numbers(tmp_path: Path, cfg: SourcesConfig) -> None:
    p = write(tmp_path / "s.csv", f"两项补贴发放名单\n{SUBSIDY_HEADER}\n{ROW}\n\n{ROW}\n")
    frame, _, report = read_source_file(p, cfg.by_key("subsidy"))
    assert report.header_row == 2
    assert frame[S.ROW].tolist() == [3, 5]  # row 4 is blank and counted, not silently lost
    assert report.blank_rows == 1


def test_aliases_and_full_width_headers(tmp_path: Path, cfg: SourcesConfig) -> None:
    header = "县（市、区）,乡镇,姓名,证件号码,补贴类别,发放月份,金额"
    frame, _, _ = read_source_file(write(tmp_path / "s.csv", f"{header}\n{ROW}\n"), cfg.by_key("subsidy"))
    assert {S.COUNTY, S.TOWNSHIP, S.ID_NUMBER, S.PAY_MONTH, S.AMOUNT} <= set(frame.columns)


def test_row_with_too_many_fields_is_quarantined(tmp_path: Path, cfg: SourcesConfig) -> None:
    p = write(tmp_path / "s.csv", f"{SUBSIDY_HEADER}\n{ROW},多余,列\n{ROW}\n{ROW},,\n")
    frame, rejected, report = read_source_file(p, cfg.by_key("subsidy"))
    assert frame[S.ROW].tolist() == [3, 4]  # trailing empty fields are harmless
    assert rejected[S.ROW].tolist() == [2]
    assert "列数多于表头" in rejected["reason"].iloc[0]


def test_ids_are_never_floats(tmp_path: Path, cfg: SourcesConfig) -> None:
    p = write(
        tmp_path / "s.csv", f"{SUBSIDY_HEADER}\n博爱县,磨头镇,张伟,410822199001011234,护理补贴,202610,100\n"
    )
    frame, _, _ = read_source_file(p, cfg.by_key("subsidy"))
    assert frame[S.ID_NUMBER].iloc[0] == "410822199001011234"


def test_xlsx_numeric_cells(tmp_path: Path, cfg: SourcesConfig) -> None:
    p = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    for j, h in enumerate(SUBSIDY_HEADER.split(",")):
        ws.write_string(0, j, h)
    ws.write_row(1, 0, ["博爱县", "磨头镇", "张伟"])
    ws.write_number(1, 3, 410822199001011234)  # typed as a number: Excel keeps 15 digits
    ws.write_row(1, 4, ["护理补贴", "2026-10"])
    ws.write_number(1, 6, 100)
    wb.close()
    frame, _, _ = read_source_file(p, cfg.by_key("subsidy"))
    assert frame[S.ID_NUMBER].iloc[0].startswith("4.1082219900101")
    assert frame[S.AMOUNT].iloc[0] == "100"


def test_cell_text() -> None:
    assert cell_text(100.0) == "100" and cell_text(0.5) == "0.5" and cell_text("  ") is None
    assert cell_text(4.10822199001012e17) == "4.10822199001012E+17"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "文件为空"),
        ("header_only.csv", (SUBSIDY_HEADER + "\n").encode(), "只有表头"),
        (
            "no_id.csv",
            "县(市、区),乡(镇、街道),姓名,补贴类别,发放年月\n博爱县,磨头镇,张伟,护理补贴,202610\n".encode(),
            "缺少必需的列:身份证号",
        ),
        ("junk.csv", bytes(range(256)) * 20, "不是文本格式"),
        ("corrupt.xlsx", b"PK\x03\x04 this is not a zip archive", "Excel文件损坏"),
        ("wrong_folder.csv", b"a,b,c\n1,2,3\n", "找不到表头"),
    ],
)
def test_bad_files_raise_a_clear_error(
    tmp_path: Path, cfg: SourcesConfig, name: str, content: bytes, message: str
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(SourceFileError) as e:
        read_source_file(p, cfg.by_key("subsidy"))
    assert name in str(e.value)
    assert message in e.value.message_zh


def test_bad_file_fails_its_source_and_the_others_go_on(tmp_path: Path, cfg: SourcesConfig) -> None:
    write(tmp_path / "subsidy" / "good.csv", f"{SUBSIDY_HEADER}\n{ROW}\n")
    (tmp_path / "subsidy" / "bad.csv").write_bytes(b"")
    write(
        tmp_path / "monitoring" / "m.csv",
        "县(市、区),乡(镇、街道),户编号,姓名,证件号码,风险是否已消除\n博爱县,磨头,H1,王芳,,否\n",
        "gbk",
    )
    write(tmp_path / "新部门数据" / "x.csv", "a,b\n1,2\n")
    (tmp_path / "readme.txt").write_text("not a source")
    read = read_extracts(tmp_path, cfg)
    assert read.unknown_folders == ["新部门数据"]
    assert read.sources["subsidy"].error is not None and "bad.csv" in read.sources["subsidy"].error
    assert read.sources["monitoring"].error is None
    assert read.sources["monitoring"].rows[S.NAME].tolist() == ["王芳"]
    assert set(read.sources) == {"subsidy", "monitoring"}


def test_folder_aliases(tmp_path: Path, cfg: SourcesConfig) -> None:
    write(tmp_path / "两项补贴" / "s.csv", f"{SUBSIDY_HEADER}\n{ROW}\n")
    read = read_extracts(tmp_path, cfg)
    assert list(read.sources) == ["subsidy"]
    assert isinstance(read.sources["subsidy"].rows, pd.DataFrame)
