"""What an import of returned workbooks says: per file and per refused row (no database here, so
a night with an empty inbox never loads the database libraries before matching, its memory peak)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.cells import neutralise


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    warning_id: str
    reason: str


@dataclass
class ImportResult:
    file: str
    sha256: str = ""
    township_code: str | None = None
    applied: int = 0
    unchanged: int = 0
    blank: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicate_of: str | None = None  # when the same content was imported before
    error: str | None = None  # the whole file could not be read (nothing imported)

    @property
    def rejected(self) -> int:
        return len(self.problems)

    def line(self) -> str:
        """One line for the command line and the log (no personal data)."""
        if self.error:
            return f"{self.file}: 未导入:{self.error}"
        if self.duplicate_of:
            return f"{self.file}: 该文件已于 {self.duplicate_of} 导入过,本次无变化"
        return (
            f"{self.file}: 导入 {self.applied} 行,无变化 {self.unchanged} 行,"
            f"未导入 {self.rejected} 行,未填写 {self.blank} 行"
        )


def write_result(path: Path, results: list[ImportResult]) -> None:
    """The 导入结果 workbook: one line per file, then every row not imported with its reason."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    try:
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_name": "宋体"})
        cell = wb.add_format({"border": 1, "text_wrap": True, "valign": "top", "font_name": "宋体"})
        ws = wb.add_worksheet("导入结果")
        for j, (h, w) in enumerate((("文件", 40), ("结果", 80))):
            ws.write_string(0, j, h, head)
            ws.set_column(j, j, w)
        for i, r in enumerate(results, start=1):
            ws.write_string(i, 0, neutralise(r.file), cell)
            ws.write_string(i, 1, neutralise(r.line().split(": ", 1)[1]), cell)
        ws2 = wb.add_worksheet("未导入的行")
        for j, (h, w) in enumerate(
            (("文件", 36), ("工作表", 10), ("行号", 6), ("预警编号", 18), ("原因", 70))
        ):
            ws2.write_string(0, j, h, head)
            ws2.set_column(j, j, w)
        i = 1
        for r in results:
            for p in r.problems:
                ws2.write_string(i, 0, neutralise(r.file), cell)
                ws2.write_string(i, 1, p.sheet, cell)
                ws2.write_number(i, 2, p.row, cell)
                ws2.write_string(i, 3, neutralise(p.warning_id), cell)
                ws2.write_string(i, 4, neutralise(p.reason), cell)
                i += 1
        if i == 1:
            ws2.write_string(1, 0, "没有未导入的行。", cell)
        ws2.freeze_panes(1, 0)
    finally:
        wb.close()
