"""A township's workbook as it comes back: the answers filled in with openpyxl, as a cadre would."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any


def filled(
    book: Path, answers: dict[str, str], day: date, note: str = "入户核实", checker: str = "王五"
) -> Any:
    """The workbook of ``book`` (an openpyxl Workbook, not saved) with each warning id of
    ``answers`` given its 核查结果, 核查说明, 核查人 and 核查日期 on the 预警名单 sheet."""
    import openpyxl

    wb = openpyxl.load_workbook(book)
    ws = wb["预警名单"]
    head = {c.value: c.column for c in ws[3] if c.value}
    for r in range(4, ws.max_row + 1):
        wid = ws.cell(r, head["预警编号"]).value
        if wid in answers:
            ws.cell(r, head["核查结果"]).value = answers[wid]
            ws.cell(r, head["核查说明"]).value = note
            ws.cell(r, head["核查人"]).value = checker
            ws.cell(r, head["核查日期"]).value = day
    return wb
