"""A corpus of extracts as departments really send them, written from code so every case is visible
here: other separators and encodings, total rows, repeated headers, several sheets, merged and
hidden cells, formulas, duplicate columns, an undecodable line, empty and broken files.

Each writer returns the file it wrote; ``CORPUS`` lists them with what the reader must make of them.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEADER = ["县(市、区)", "乡(镇、街道)", "姓名", "身份证号", "补贴类别", "发放年月", "发放金额"]
PEOPLE = [
    ["博爱县", "磨头镇", "张三", "410822196803150310", "重度残疾人护理补贴", "2026-10", "100"],
    ["博爱县", "磨头镇", "李四", "41082219700822042X", "困难残疾人生活补贴", "2026-10", "80"],
    ["博爱县", "柏山镇", "王五", "410822195001010011", "重度残疾人护理补贴", "2026-10", "100"],
]


def _text(rows: list[list[str]], sep: str) -> str:
    return "\n".join(sep.join(r) for r in rows) + "\n"


def semicolons(folder: Path) -> Path:
    p = folder / "分号分隔.csv"
    p.write_text(_text([HEADER, *PEOPLE], ";"), encoding="utf-8")
    return p


def unicode_text(folder: Path) -> Path:
    """Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated, saved as .txt."""
    p = folder / "Unicode文本.txt"
    p.write_bytes(
        codecs.BOM_UTF16_LE + _text([HEADER, *PEOPLE], "\t").replace("\n", "\r\n").encode("utf-16-le")
    )
    return p


def totals(folder: Path) -> Path:
    """A 合计 row at the bottom, a 小计 row in the middle with its label in a later column."""
    p = folder / "带合计行.csv"
    sub = ["", "", "", "", "小计:", "", "180"]
    p.write_text(
        _text([HEADER, PEOPLE[0], PEOPLE[1], sub, PEOPLE[2], ["合计", "", "", "", "", "", "280"]], ","),
        encoding="gb18030",
    )
    return p


def repeated_header(folder: Path) -> Path:
    p = folder / "重复表头.csv"
    p.write_text(_text([HEADER, PEOPLE[0], HEADER, PEOPLE[1], PEOPLE[2]], ","), encoding="utf-8")
    return p


def undecodable_line(folder: Path) -> Path:
    """A UTF-8 file with one line carrying a byte no encoding of the file can read."""
    p = folder / "一行乱码.csv"
    lines = [",".join(r).encode("utf-8") for r in (HEADER, PEOPLE[0], PEOPLE[1], PEOPLE[2])]
    lines[2] = lines[2].replace("李四".encode(), b"\xff\xfe\xff")
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


def duplicate_columns(folder: Path) -> Path:
    p = folder / "重复列.csv"
    header = [*HEADER, "姓名"]
    p.write_text(_text([header, *[[*r, r[2]] for r in PEOPLE]], ","), encoding="utf-8")
    return p


def workbook(folder: Path) -> Path:
    """Two sheets with the header (one with a merged title and a merged group row above it, a hidden
    column and an amount computed by a formula), and a notes sheet."""
    import xlsxwriter

    p = folder / "多工作表.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    title = wb.add_format({"bold": True})
    one = wb.add_worksheet("10月")
    one.merge_range(0, 0, 0, len(HEADER) - 1, "两项补贴发放明细(10月)", title)
    one.merge_range(1, 0, 1, 1, "地区", title)
    one.merge_range(1, 2, 1, 6, "人员与发放", title)
    for j, h in enumerate(HEADER):
        one.write_string(2, j, h)
    for i, r in enumerate(PEOPLE[:2], start=3):
        for j, v in enumerate(r[:-1]):
            one.write_string(i, j, v)
        one.write_formula(i, len(HEADER) - 1, "=50*2", None, 100)  # the cached value is read
    one.set_column(1, 1, None, None, {"hidden": True})
    two = wb.add_worksheet("11月")
    for j, h in enumerate(HEADER):
        two.write_string(0, j, h)
    for j, v in enumerate([*PEOPLE[2][:5], "2026-11", "100"]):
        two.write_string(1, j, v)
    notes = wb.add_worksheet("说明")
    notes.write_string(0, 0, "本表由残联导出,金额单位:元")
    wb.close()
    return p


def empty_file(folder: Path) -> Path:
    p = folder / "空文件.csv"
    p.write_bytes(b"")
    return p


def truncated_workbook(folder: Path) -> Path:
    p = folder / "损坏.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    return p


@dataclass(frozen=True)
class Case:
    write: Callable[[Path], Path]
    rows: int  # people read
    set_aside: dict[str, int]  # reason -> rows quarantined
    error: str | None = None  # the file fails: a word of its Chinese reason


CORPUS = {
    "semicolons": Case(semicolons, 3, {}),
    "unicode_text": Case(unicode_text, 3, {}),
    "totals": Case(totals, 3, {"合计行(不是人员,已剔除)": 2}),
    "repeated_header": Case(repeated_header, 3, {"重复的表头行(已剔除)": 1}),
    "undecodable_line": Case(
        undecodable_line, 2, {"该行含无法识别的字符(编码损坏),整行未读取,请检查原文件": 1}
    ),
    "workbook": Case(workbook, 3, {}),
    "duplicate_columns": Case(duplicate_columns, 0, {}, error="列名重复"),
    "empty_file": Case(empty_file, 0, {}, error="文件为空"),
    "truncated_workbook": Case(truncated_workbook, 0, {}, error="无法打开"),
}
