"""The township workbook: the warning list a township officer prints, takes on visits and fills in.

One workbook per township (``townships/<county_code>_<county>/<township_code>_<township>.xlsx``;
warnings whose township is unknown go to ``000000000_未确定乡镇.xlsx`` of their county, for the
county to route). Three sheets: 预警名单 (the list, with the columns to fill in), 规则说明 (each
rule from rules/eligibility.yaml) and 填写说明 (how to fill in and return it).

What the officer relies on, and how it is kept:
- IDs are written as text cells in a text-formatted column, so no spreadsheet turns them into
  4.1e17 or cuts the check character.
- Text from department files that starts with = + - @ (or a tab/CR) is prefixed with ' so that no
  spreadsheet, and no CSV exported from it, ever runs it as a formula.
- Everything is locked except the four fill-in columns (no password: the lock stops slips, it is
  not a security boundary); filters still work on the locked sheet.
- Row heights are set from the evidence text, because Excel does not grow rows written by a
  library, and a cut-off evidence cell prints as a cut-off sentence.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from xlsxwriter.utility import xl_rowcol_to_cell

from pipeline.cases.config import CaseRules
from pipeline.cells import neutralise
from pipeline.contracts import RulesSummary
from pipeline.eligibility.rules import RuleSet

SHEET_LIST, SHEET_RULES, SHEET_HELP, SHEET_REVISIT = "预警名单", "规则说明", "填写说明", "待回访"
UNRESOLVED_TOWNSHIP = ("000000000", "未确定乡镇")
UNRESOLVED_COUNTY = ("000000", "未确定区县")

TITLE_ROWS = 2  # title line and the run line above the header
HEADER_ROW = TITLE_ROWS
FIRST_DATA_ROW = HEADER_ROW + 1
FONT = "宋体"  # the default body font of Chinese office documents; LibreOffice falls back to Noto CJK
FONT_SIZE = 10  # on screen; printed at PRINT_SCALE or more (A4 landscape, fit to width)
PRINT_SCALE = 0.95  # the printed columns fit the page at this scale; LibreOffice then picks about 0.92
PRINTED_MIN_PT = 9  # what a township officer can read on paper (checked on LibreOffice's PDF)
LINE_SPACING = 1.45  # line height / font size: 宋体 in Excel about 1.3, Noto Sans CJK in LibreOffice 1.45
LINE_HEIGHT = FONT_SIZE * LINE_SPACING  # points per wrapped line at FONT_SIZE
MAX_ROW_HEIGHT = 409  # points: Excel's limit for one row
SMALLER_SIZES = (9, 8, 7, 6)  # evidence too long for one row at FONT_SIZE is set smaller, never cut
LOW_CONFIDENCE = 0.95  # below this the 匹配可信度 cell is shaded: check the person is the right one


#: A column ``w`` units wide is 7 w + 5 px in Excel and WPS (units of Calibri's digit, 7 px), that
#: is 5.25 w + 3.75 pt; LibreOffice with Carlito (Calibri's metric twin) draws it 5.6 w + 3.5 pt.
#: The page is fitted to the wider (LibreOffice's: Excel then prints the same columns at 100%), the
#: wrapping to the narrower (Excel's), so no row is written too short for either. Without Carlito,
#: LibreOffice measures with DejaVu Sans and draws every column a quarter wider still.
def column_points(width: float) -> float:
    return 5.6 * width + 3.5


def text_room(width: float) -> float:
    """Points of text one line of a column ``width`` units wide holds in Excel (the narrower)."""
    return 5.25 * width


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # column of the prepared frame ("" for fill-in columns)
    width: float  # Excel character units
    kind: str = "text"  # text | id | int | pct | date | fill | fill_date | verdict
    wrap: bool = False
    printed: bool = True  # on the A4 page; the others sit right of the print area, on screen only


#: The 预警名单 columns, declared once: the writer, the tests and the feedback reader use this list.
#: The printed ones come first and fit A4 landscape at PRINT_SCALE or more, so the text prints at
#: FONT_SIZE * PRINT_SCALE >= 9 pt: who, where, why, and the four boxes the officer fills in. What
#: the visit does not need on paper (the warning's key, the household key, the rule's suggestion,
#: which the 规则说明 sheet prints once per rule, the case history) follows on screen.
COLUMNS: tuple[Column, ...] = (
    Column("序号", "seq", 4, "int"),
    Column("规则", "rule_label", 8, wrap=True),
    Column("姓名", "name", 6, wrap=True),
    Column("身份证号", "id_number", 20.5, "id"),  # 18 digits of DejaVu Sans, LibreOffice's widest
    Column("性别", "sex", 4),
    Column("年龄", "age", 4, "int"),
    Column("住址、电话", "contact", 13, wrap=True),
    Column("预警依据", "evidence", 0, wrap=True),  # the rest of the page: see _fill_page
    # The household's vehicles and real estate: printed, so the visit starts knowing them.
    Column("核对提示", "economic_hint", 9, wrap=True),
    Column("核查结果", "", 8, "verdict"),
    Column("核查说明", "", 10, "fill"),
    Column("核查人", "", 6, "fill"),
    Column("核查日期", "", 10.5, "fill_date"),
    Column("村(社区)", "village", 8, wrap=True, printed=False),
    Column("预警编号", "warning_id", 16, printed=False),
    Column("户", "household_label", 16, wrap=True, printed=False),
    Column("建议措施", "suggestion", 30, wrap=True, printed=False),
    Column("匹配可信度", "match_confidence", 7, "pct", wrap=True, printed=False),
    Column("首次预警日期", "first_seen", 11, "date", wrap=True, printed=False),
    Column("状态", "case_status", 8, wrap=True, printed=False),
    Column("核查记录", "case_note", 20, wrap=True, printed=False),
)
PRINTED = sum(c.printed for c in COLUMNS)
assert all(c.printed for c in COLUMNS[:PRINTED]), "the printed columns come first"
A4_LANDSCAPE_POINTS = 841.89 - 2 * 0.3 * 72  # the page less the list's margins (set_margins below)


def _fill_page(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """``columns`` with the evidence as wide as the printed page allows at PRINT_SCALE."""
    printed = columns[:PRINTED]
    taken = sum(column_points(c.width) for c in printed if c.key != "evidence")
    free = A4_LANDSCAPE_POINTS / PRINT_SCALE - taken - column_points(0)  # the evidence's own padding
    width = math.floor(free / (column_points(1) - column_points(0)) * 2) / 2  # half units
    return tuple(replace(c, width=width) if c.key == "evidence" else c for c in columns)


COLUMNS = _fill_page(COLUMNS)
#: Only in a county's 未确定乡镇 list: the county picks the township that should take each warning.
ROUTE = Column("应属乡镇", "", 14, "route", printed=False)
FILL_IN = tuple(c.header for c in (*COLUMNS, ROUTE) if c.kind in ("verdict", "fill", "fill_date", "route"))
#: The 待回访 sheet: cases answered 符合，已纳入救助 some months ago, to visit again.
REVISIT_COLUMNS: tuple[Column, ...] = (
    Column("序号", "seq", 4, "int"),
    Column("预警编号", "warning_id", 12.5, wrap=True),
    Column("规则", "rule_label", 9, wrap=True),
    Column("姓名", "name", 6, wrap=True),
    Column("身份证号", "id_number", 20.5, "id"),
    Column("电话", "phone", 12.5),
    Column("核查结果", "answer", 8, wrap=True),
    Column("核查日期", "answer_date", 10.5, "date"),
    Column("核查说明", "answer_note", 14, wrap=True),
    Column("回访结果", "", 8, "verdict"),
    Column("回访说明", "", 12, "fill"),
    Column("回访人", "", 5, "fill"),
    Column("回访日期", "", 10.5, "fill_date"),
)


def answers_line(answers: Sequence[str]) -> str:
    """What the page header says on every printed page, so the answers are at hand."""
    return "核查结果填:" + " / ".join(answers)


# Break opportunities as Excel and LibreOffice wrap: after any CJK character, after a space or
# punctuation; a run of Latin letters, digits and joiners (an ID, a file name, 7,351) moves whole.
_TOKEN = re.compile(r"[A-Za-z0-9_.\-–%/]+|.", re.S)


@functools.lru_cache(maxsize=1 << 16)
def lines_needed(text: str, width: float, size: float = 0) -> int:
    """Printed lines of ``text`` wrapped in a column ``width`` units wide at ``size`` pt (FONT_SIZE
    by default; cached: labels, addresses and rule names repeat across a night's rows).

    A CJK character is one em wide, any other character 0.6 em (宋体 draws it at 0.5 em,
    LibreOffice's Latin fallback, DejaVu Sans, at up to 0.64 em in its 7% wider columns), so that
    a row fits in both."""
    em = size or FONT_SIZE
    usable = text_room(width)
    lines = 0
    for para in text.split("\n"):
        lines += 1
        if em * len(para) <= usable:
            continue  # no character is wider than an em (a dash in a Latin run: 1.0 em): one line
        used = 0.0
        for token in _TOKEN.findall(para):
            # Inline (5M tokens at 1M records): a token is one character or a run of Latin ones,
            # where only the dash is wide.
            if len(token) == 1:
                w = em if ord(token) > 0xFF else 0.6 * em
            else:
                w = em * (0.6 * len(token) + 0.4 * token.count("–"))
            if used + w <= usable:
                used += w
            elif w <= usable:
                lines += 1
                used = w
            else:  # longer than a line: broken anywhere
                lines += int((used + w) // usable)
                used = (used + w) % usable
    return lines


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]')


def folder_name(code: str, name: str) -> str:
    """``<code>_<name>`` with characters a file system (or a zip of the folder) dislikes removed."""
    return f"{code}_{_UNSAFE.sub('', name)}"


def file_name(code: str, name: str) -> str:
    return folder_name(code, name) + ".xlsx"


@dataclass(frozen=True)
class TownshipBook:
    county_code: str
    county: str
    township_code: str
    township: str
    path: Path  # relative to the townships folder
    warnings: int
    households: int
    new: int


def _formats(wb: Any) -> dict[str, Any]:
    base = {
        "font_name": FONT,
        "font_size": FONT_SIZE,
        "valign": "top",
        "border": 1,
        "border_color": "#808080",
    }
    fill = {**base, "locked": False, "bg_color": "#FFF9DB"}

    def f(**kw: Any) -> Any:
        return wb.add_format({**base, **kw})

    return {
        "title": wb.add_format({"font_name": FONT, "font_size": 15, "bold": True, "align": "center"}),
        "subtitle": wb.add_format({"font_name": FONT, "font_size": FONT_SIZE, "align": "left"}),
        "head": f(bold=True, bg_color="#DDEBF7", align="center", valign="vcenter", text_wrap=True),
        "head_fill": f(bold=True, bg_color="#FFE699", align="center", valign="vcenter", text_wrap=True),
        "text": f(),
        "wrap": f(text_wrap=True),
        **{f"wrap{size}": f(text_wrap=True, font_size=size) for size in SMALLER_SIZES},
        "id": f(num_format="@"),
        "int": f(num_format="0", align="center"),
        "pct": f(num_format="0.0%", align="center"),
        "pct_low": f(num_format="0.0%", align="center", bg_color="#FCE4D6"),
        "date": f(num_format="yyyy-mm-dd", align="center"),
        "fill": wb.add_format({**fill, "text_wrap": True}),
        "fill_date": wb.add_format({**fill, "num_format": "yyyy-mm-dd"}),
        "cell": wb.add_format(
            {"font_name": FONT, "font_size": FONT_SIZE, "valign": "top", "text_wrap": True}
        ),
        "cell_bold": wb.add_format(
            {"font_name": FONT, "font_size": FONT_SIZE, "valign": "top", "bold": True, "text_wrap": True}
        ),
    }


def evidence_size(text: str, width: float, others: int) -> tuple[int, float]:
    """(font size, row height) for a row whose evidence is ``text`` and whose other cells need
    ``others`` lines: FONT_SIZE when it fits under Excel's row limit, else the largest size that does."""
    height = LINE_HEIGHT * max(lines_needed(text, width), others) + 3
    if height <= MAX_ROW_HEIGHT:
        return FONT_SIZE, height
    for size in SMALLER_SIZES:
        height = max(size * LINE_SPACING * lines_needed(text, width, size), LINE_HEIGHT * others) + 3
        if height <= MAX_ROW_HEIGHT:
            return size, height
    return SMALLER_SIZES[-1], MAX_ROW_HEIGHT


def _write_list(
    ws: Any,
    fmt: dict[str, Any],
    rows: pd.DataFrame,
    title: str,
    subtitle: str,
    run_date: date,
    answers_of: Mapping[str, Sequence[str]],
    route_source: list[str] | str | None = None,
) -> None:
    columns = (*COLUMNS, ROUTE) if route_source else COLUMNS
    last_col = len(columns) - 1
    last_printed = PRINTED - 1
    ws.merge_range(0, 0, 0, last_printed, title, fmt["title"])
    ws.merge_range(1, 0, 1, last_printed, subtitle, fmt["subtitle"])
    ws.set_row(0, 24)
    ws.set_row(HEADER_ROW, 30)
    for j, c in enumerate(columns):
        head = fmt["head_fill"] if c.header in FILL_IN else fmt["head"]
        ws.write_string(HEADER_ROW, j, c.header, head)
        ws.set_column(j, j, c.width)
    evidence_width = next(c.width for c in COLUMNS if c.key == "evidence")
    # Every other wrapped column that can run long decides the row height too.
    wrapped = [
        (c.key, c.width) for c in COLUMNS if c.wrap and c.key and c.kind == "text" and c.key != "evidence"
    ]

    cols = {c.key: rows[c.key].tolist() for c in COLUMNS if c.key}
    n = len(rows)
    for i in range(n):
        r = FIRST_DATA_ROW + i
        others = max([2] + [lines_needed(str(v), w) for k, w in wrapped if isinstance(v := cols[k][i], str)])
        size, height = evidence_size(cols["evidence"][i], evidence_width, others)
        ws.set_row(r, height)
        for j, c in enumerate(columns):
            if not c.key:
                if c.kind == "fill_date":
                    ws.write_blank(r, j, None, fmt["fill_date"])
                else:
                    ws.write_blank(r, j, None, fmt["fill"])
                continue
            v = cols[c.key][i]
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or v == "":
                ws.write_blank(r, j, None, fmt["text"])
            elif c.kind == "int":
                ws.write_number(r, j, int(v), fmt["int"])
            elif c.kind == "pct":
                ws.write_number(r, j, float(v), fmt["pct_low" if v < LOW_CONFIDENCE else "pct"])
            elif c.kind == "date":
                ws.write_datetime(r, j, pd.Timestamp(v).to_pydatetime(), fmt["date"])
            elif c.kind == "id":
                ws.write_string(r, j, neutralise(str(v)), fmt["id"])
            elif c.key == "evidence" and size != FONT_SIZE:
                ws.write_string(r, j, neutralise(str(v)), fmt[f"wrap{size}"])
            else:
                ws.write_string(r, j, neutralise(str(v)), fmt["wrap" if c.wrap else "text"])
    last_row = FIRST_DATA_ROW + max(n, 1) - 1
    if n == 0:
        ws.write_string(FIRST_DATA_ROW, 0, "本乡镇本次没有预警。", fmt["text"])
    else:
        verdict_col = next(j for j, c in enumerate(COLUMNS) if c.kind == "verdict")
        date_col = next(j for j, c in enumerate(COLUMNS) if c.kind == "fill_date")
        if route_source:
            ws.data_validation(
                FIRST_DATA_ROW,
                last_col,
                last_row,
                last_col,
                {
                    "validate": "list",
                    "source": route_source,
                    "input_title": "应属乡镇",
                    "input_message": "请选择应接收这条预警的乡镇(街道)",
                    "error_title": "乡镇无效",
                    "error_message": "请从下拉列表中选择本县(市、区)的乡镇(街道)。",
                },
            )
        # Each rule offers its own answers (rules/cases.yaml): one dropdown per distinct answer
        # list, over every run of rows offering it (xlsxwriter's multi_range).
        offered = [tuple(answers_of[r]) for r in rows["rule"]]
        runs: dict[tuple[str, ...], list[str]] = {}
        start = 0
        for i in range(1, n + 1):
            if i == n or offered[i] != offered[start]:
                first, last = (
                    xl_rowcol_to_cell(FIRST_DATA_ROW + start, verdict_col),
                    xl_rowcol_to_cell(FIRST_DATA_ROW + i - 1, verdict_col),
                )
                runs.setdefault(offered[start], []).append(first if first == last else f"{first}:{last}")
                start = i
        for answers, ranges in runs.items():
            first_cell = ranges[0].split(":")[0]
            ws.data_validation(
                first_cell,
                {
                    "validate": "list",
                    "source": list(answers),
                    "multi_range": " ".join(ranges),
                    "input_title": "核查结果",
                    "input_message": "请从下拉列表中选择一项",
                    "error_title": "核查结果无效",
                    "error_message": "请从下拉列表中选择,不要自行输入。",
                },
            )
        ws.data_validation(
            FIRST_DATA_ROW,
            date_col,
            last_row,
            date_col,
            {
                "validate": "date",
                "criteria": "between",
                "minimum": run_date - timedelta(days=366),
                "maximum": run_date + timedelta(days=366),
                "input_title": "核查日期",
                "input_message": "请填写日期,如 " + run_date.isoformat(),
                "error_title": "日期无效",
                "error_message": "请按 年-月-日 填写实际核查日期,如 " + run_date.isoformat(),
            },
        )
    ws.freeze_panes(FIRST_DATA_ROW, 3)  # header, and 序号 … 姓名 stay in view
    ws.autofilter(HEADER_ROW, 0, last_row, last_col)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)  # a safety net: the printed columns fit at PRINT_SCALE already
    ws.repeat_rows(HEADER_ROW)
    ws.print_area(0, 0, last_row, last_printed)
    # No font in the codes: Excel wants '&"name,style"' with a localised style name; the default is fine.
    shown = dict.fromkeys(a for r in dict.fromkeys(rows["rule"]) for a in answers_of[r])
    # The answers across the top of every page (a long line: it has the header to itself).
    ws.set_header(f"&L&10{answers_line(list(shown))}")
    ws.set_footer(f"&L&10{title}&C&10第 &P 页,共 &N 页&R&10打印日期 &D")
    ws.protect(
        "",
        {
            "autofilter": True,
            "format_rows": True,
            "format_columns": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )


def _route_source(wb: Any, townships: Sequence[str]) -> list[str] | str:
    """The 应属乡镇 dropdown's list: inline, or in a hidden sheet when it is longer than the 255
    characters Excel allows inline."""
    if len(",".join(townships)) <= 250:
        return list(townships)
    sheet = wb.add_worksheet("乡镇列表")
    for i, t in enumerate(townships):
        sheet.write_string(i, 0, t)
    sheet.hide()
    return f"=乡镇列表!$A$1:$A${len(townships)}"


def _write_rules(ws: Any, fmt: dict[str, Any], rule_rows: Sequence[Sequence[str]]) -> None:
    headers = ("规则", "规则名称", "含义", "建议措施", "依据的数据", "本次运行", "本乡镇预警数")
    widths = (4, 13, 50, 40, 16, 14, 7)  # A4 landscape at PRINT_SCALE or more, like the list
    for j, (h, w) in enumerate(zip(headers, widths, strict=True)):
        ws.write_string(0, j, h, fmt["head"])
        ws.set_column(j, j, w)
    for i, row in enumerate(rule_rows, start=1):
        lines = max(lines_needed(str(v), w) for v, w in zip(row, widths, strict=True))
        ws.set_row(i, LINE_HEIGHT * lines + 3)
        for j, v in enumerate(row):
            ws.write_string(i, j, neutralise(str(v)), fmt["wrap"])
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.protect("", {"select_locked_cells": True, "format_rows": True, "format_columns": True})


def help_lines(
    township: str, run_date: date, answer_sets: Sequence[tuple[str, Sequence[str]]] = ()
) -> list[tuple[bool, str]]:
    """The 填写说明 sheet: (is heading, text) lines. ``answer_sets``: (the rules, their answers)."""
    options = [(False, f"   {rules}:{'、'.join(answers)}") for rules, answers in answer_sets]
    return [
        (True, f"{township} 预警名单 填写说明(运行日期 {run_date.isoformat()})"),
        (True, "一、这份名单是什么"),
        (False, "市民政局每晚比对防返贫监测、残联、医保、低保特困名册、补贴发放、殡葬、学籍等部门数据,"),
        (False, "并读取12345热线诉求和村(社区)协理员走访上报,"),
        (False, "找出可能符合救助条件但尚未享受的人员。名单只是线索,是否符合条件以入户核实为准。"),
        (
            False,
            "“核对提示”列写明该户成员名下的非营运车辆和房产(来自车辆、不动产登记核对),供入户时核实家庭"
            "财产;是否影响救助按当地政策判断(除非规则另有设定,系统不据此排除)。",
        ),
        (False, "“预警依据”列写明了每条预警来自哪个数据源、哪个文件的第几行,核查时可对照原始数据。"),
        (True, "二、怎么填"),
        (
            False,
            "1. 逐户上门核查,只填写黄色的四列:核查结果、核查说明、核查人、核查日期。其他列已锁定,请勿修改。",
        ),
        (False, "2. 核查结果:从下拉列表中选择一项,各规则的可选项不同:"),
        *options,
        (False, "3. 核查说明:写明核查到的情况,如家庭收入、已办理的业务、信息错在哪里(例如正确的身份证号)。"),
        (False, "4. 核查人填写姓名;核查日期按 年-月-日 填写,如 " + run_date.isoformat() + "。"),
        (False, "5. 同一户有多条预警时,每条都要填写(可填写相同的核查结果)。"),
        (
            False,
            "6. 打印时只打印左边的列(从“序号”到“核查日期”),字号不小于9磅;村(社区)、预警编号、户、"
            "建议措施、匹配可信度、首次预警日期、状态和核查记录在屏幕上向右拖动查看,各规则的建议措施"
            "也印在“规则说明”页。",
        ),
        (False, "7. “匹配可信度”底色为橙色的,表示系统对“是否为同一人”把握较低,请先核对身份再核查条件。"),
        (
            False,
            "8. “状态”:新预警 为首次下发;已下发 为此前已下发、尚未反馈;超期 为下发后超过规定天数未反馈;"
            "办理中 为已反馈“正在办理”,请办结后再次反馈结果。“核查记录”写明上次核查结果和情况变化。",
        ),
        (
            False,
            "9. 已反馈“不符合”等结果的预警在一段时间内不再下发,除非情况发生明显变化(如残疾等级提高、"
            "医疗费用明显增加),届时“核查记录”会写明变化内容。",
        ),
        (
            False,
            "10. “待回访”工作表列出此前已纳入救助、到期需要回访的人员,请回访后填写黄色的四列。",
        ),
        (True, "三、怎么交回"),
        (
            False,
            "1. 填写完成后直接保存,不要改文件名、不要增删行列、不要改工作表名称,"
            "“预警编号”是系统识别每条预警的依据。",
        ),
        (False, "2. 按县(市、区)民政局规定的时间和方式交回本文件(Excel 或 WPS 保存的 .xlsx 均可)。"),
        (False, "3. 暂未核查完的,可以先交回已填写的部分,未填写的预警会在下次名单中继续出现。"),
        (True, "四、个人信息保护"),
        (False, "本表包含身份证号、健康和救助等个人信息,仅限本乡镇(街道)核查使用;不得外传、不得张贴公示。"),
        (False, "打印件核查后请妥善保管或按规定销毁。"),
    ]


def _write_help(
    ws: Any,
    fmt: dict[str, Any],
    township: str,
    run_date: date,
    answer_sets: Sequence[tuple[str, Sequence[str]]],
) -> None:
    width = 84  # fits portrait A4 at 100% (LibreOffice's widths): the page is read, so it is not shrunk
    ws.set_column(0, 0, width)
    for i, (heading, text) in enumerate(help_lines(township, run_date, answer_sets)):
        ws.set_row(i, LINE_HEIGHT * lines_needed(text, width) + 3)
        ws.write_string(i, 0, text, fmt["cell_bold"] if heading else fmt["cell"])
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.protect("", {"select_locked_cells": True})


@dataclass(frozen=True)
class Choices:
    """What a township may answer: per rule (the 核查结果 dropdown), and on the 待回访 sheet."""

    answers_of: dict[str, tuple[str, ...]]  # rule id -> its answers (rules/cases.yaml)
    revisit_answers: tuple[str, ...]

    @classmethod
    def of(cls, rules: RuleSet, case_rules: CaseRules) -> Choices:
        return cls(
            {r.id: tuple(a.answer for a in case_rules.answers(r.answers)) for r in rules.rules},
            case_rules.revisit_answers,
        )

    def sets(self, rule_ids: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
        """(the rules, their answers) per distinct answer list, for the 填写说明 sheet."""
        by: dict[tuple[str, ...], list[str]] = {}
        for r in rule_ids:
            by.setdefault(self.answers_of[r], []).append(r)
        return [("、".join(rs), answers) for answers, rs in by.items()]


def _write_revisits(
    ws: Any, fmt: dict[str, Any], rows: pd.DataFrame, title: str, run_date: date, answers: Sequence[str]
) -> None:
    last_col = len(REVISIT_COLUMNS) - 1
    ws.merge_range(0, 0, 0, last_col, title, fmt["title"])
    ws.merge_range(
        1, 0, 1, last_col, f"运行日期:{run_date.isoformat()}    到期回访 {len(rows)} 人。", fmt["subtitle"]
    )
    ws.set_row(0, 24)
    ws.set_row(HEADER_ROW, 30)
    for j, c in enumerate(REVISIT_COLUMNS):
        ws.write_string(HEADER_ROW, j, c.header, fmt["head_fill"] if not c.key else fmt["head"])
        ws.set_column(j, j, c.width)
    cols = {c.key: rows[c.key].tolist() for c in REVISIT_COLUMNS if c.key}
    for i in range(len(rows)):
        r = FIRST_DATA_ROW + i
        lines = [
            lines_needed(v, c.width)
            for c in REVISIT_COLUMNS
            if c.wrap and isinstance(v := cols[c.key][i], str)
        ]
        ws.set_row(r, LINE_HEIGHT * max(2, *lines) + 3)
        for j, c in enumerate(REVISIT_COLUMNS):
            if not c.key:
                ws.write_blank(r, j, None, fmt["fill_date" if c.kind == "fill_date" else "fill"])
                continue
            v = cols[c.key][i]
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
                ws.write_blank(r, j, None, fmt["text"])
            elif c.kind == "int":
                ws.write_number(r, j, int(v), fmt["int"])
            elif c.kind == "date":
                ws.write_datetime(r, j, pd.Timestamp(v).to_pydatetime(), fmt["date"])
            else:
                ws.write_string(r, j, neutralise(str(v)), fmt["id" if c.kind == "id" else "wrap"])
    last_row = FIRST_DATA_ROW + max(len(rows), 1) - 1
    if len(rows):
        answer_col = next(j for j, c in enumerate(REVISIT_COLUMNS) if c.kind == "verdict")
        ws.data_validation(
            FIRST_DATA_ROW,
            answer_col,
            last_row,
            answer_col,
            {
                "validate": "list",
                "source": list(answers),
                "input_title": "回访结果",
                "input_message": "请从下拉列表中选择一项",
                "error_title": "回访结果无效",
                "error_message": "请从下拉列表中选择,不要自行输入。",
            },
        )
    else:
        ws.write_string(FIRST_DATA_ROW, 0, "本乡镇本次没有到期需要回访的人员。", fmt["text"])
    ws.freeze_panes(FIRST_DATA_ROW, 4)
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(HEADER_ROW)
    ws.set_header(f"&L&10回访结果填:{' / '.join(answers)}")
    ws.set_footer(f"&L&10{title}&C&10第 &P 页,共 &N 页")
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True, "format_rows": True})


def write_workbook(
    path: Path,
    rows: pd.DataFrame,
    place: tuple[str, str, str],
    run_date: date,
    rule_rows: Sequence[Sequence[str]],
    choices: Choices,
    revisits: pd.DataFrame | None = None,
    route_to: Sequence[str] = (),
) -> None:
    """One township's workbook; ``rows`` are its warnings, prepared and sorted (see ``prepare``);
    ``place``: (county, township, the code the list is filed under); ``revisits``: its 待回访 rows.
    ``route_to``: for a county's 未确定乡镇 list, the county's townships (the 应属乡镇 dropdown)."""
    import xlsxwriter

    county, township, code = place
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        wb.set_properties(
            {
                "title": f"{county}{township} 社会救助主动发现预警名单 {run_date.isoformat()}",
                "author": "民政局社会救助主动发现系统",
                "comments": "含个人信息,仅限核查使用",
            }
        )
        # Read back by the feedback import: which list this is, whatever the file is renamed to.
        wb.set_custom_property("township_code", code)
        wb.set_custom_property("run_date", run_date.isoformat())
        fmt = _formats(wb)
        new = int((rows["status"] == "新增").sum()) if len(rows) else 0
        title = f"{county}{township} 社会救助主动发现预警名单"
        subtitle = (
            f"运行日期:{run_date.isoformat()}    预警 {len(rows)} 条,"
            f"涉及 {rows['household_key'].nunique()} 户,"
            f"其中新增 {new} 条。    本表含个人信息,仅限核查使用,请勿外传。"
        )
        ws = wb.add_worksheet(SHEET_LIST)
        route_source = _route_source(wb, route_to) if route_to else None
        _write_list(ws, fmt, rows, title, subtitle, run_date, choices.answers_of, route_source)
        due = (
            revisits
            if revisits is not None
            else pd.DataFrame(columns=[c.key for c in REVISIT_COLUMNS if c.key])
        )
        _write_revisits(
            wb.add_worksheet(SHEET_REVISIT),
            fmt,
            due,
            f"{county}{township} 待回访名单",
            run_date,
            choices.revisit_answers,
        )
        counts = rows["rule"].value_counts()
        with_counts = [[*r, str(int(counts.get(r[0], 0)))] for r in rule_rows]
        _write_rules(wb.add_worksheet(SHEET_RULES), fmt, with_counts)
        sets = choices.sets([r[0] for r in rule_rows])
        _write_help(wb.add_worksheet(SHEET_HELP), fmt, f"{county}{township}", run_date, sets)
    finally:
        wb.close()


def rule_rows(rules: RuleSet, rules_summary: RulesSummary, labels: dict[str, str]) -> list[list[str]]:
    """One 规则说明 row per rule: id, name, meaning, suggestion, sources, tonight's status."""
    status = rules_summary.by_id()
    out = []
    for r in rules.rules:
        s = status.get(r.id)
        if s is None:
            ran = "本次未运行"
        elif s.skipped:
            ran = "已跳过:缺少" + "、".join(labels.get(m, m) for m in s.missing_sources)
        elif s.incomplete_sources:
            ran = (
                "已运行;但"
                + "、".join(labels.get(m, m) for m in s.incomplete_sources)
                + "有文件未能读取,这些文件中人员的预警可能缺失"
            )
        else:
            ran = "已运行"
        sources = "、".join(dict.fromkeys(labels.get(e.source, e.source) for e in r.evidence))
        out.append([r.id, r.name, r.meaning.strip(), r.suggestion.strip(), sources, ran])
    return out
