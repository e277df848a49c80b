"""Reading townships' answers back: a returned workbook's rows checked, then applied in one transaction.

Each row with anything filled in is checked:
- its 预警编号 names a case, of the workbook's township (or, in a county's 未确定乡镇 list, of
  that county with no township yet);
- the locked columns (预警编号, 身份证号, 姓名) say what was sent;
- 核查结果 is one of the rule's answers (rules/cases.yaml), 回访结果 one of the revisit answers;
- 核查日期 is a real date, not after today and not before the warning's first date;
- it is not older than an answer already recorded (a late file never silently undoes a newer one);
- 预警编号 appears once in the file.
Valid rows change their cases together, with the feedback rows and the import record, in one
transaction; invalid rows change nothing and are listed (sheet, row, reason in Chinese). A file
whose content was imported before changes nothing; a file re-saved by another spreadsheet program
has the same rows, and rows equal to what is recorded change nothing either.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from pipeline.cases.config import ANSWERED, CLOSED, PENDING, REVISIT_DUE, REVISITED, CaseRules
from pipeline.cases.night import ANSWER
from pipeline.cases.results import ImportResult, Problem, write_result
from pipeline.cases.store import CaseStore, Origin, as_date, as_frame, now, records
from pipeline.eligibility.rules import Rule
from pipeline.ingest import cell_text
from pipeline.memo import file_digest
from pipeline.reports.workbook import COLUMNS as LIST_COLUMNS
from pipeline.reports.workbook import (
    REVISIT_COLUMNS,
    ROUTE,
    SHEET_LIST,
    SHEET_REVISIT,
    UNRESOLVED_TOWNSHIP,
)

log = logging.getLogger(__name__)

APPLIED, UNCHANGED, REJECTED = "applied", "unchanged", "rejected"
# The headers read back, from the columns the workbook writer declares (never spelled twice).
H_ID, H_NAME, H_IDNO = (
    next(c.header for c in LIST_COLUMNS if c.key == k) for k in ("warning_id", "name", "id_number")
)
H_ANSWER, H_NOTE, H_BY, H_DATE = (c.header for c in LIST_COLUMNS if not c.key)
H_ROUTE = ROUTE.header
R_ANSWER, R_NOTE, R_BY, R_DATE = (c.header for c in REVISIT_COLUMNS if not c.key)
_CODE_IN_NAME = re.compile(r"^(\d{9})_")
_WARNING_ID = re.compile(r"[A-Z]\d{2,3}-\S+")


class FeedbackFileError(Exception):
    """A returned file that cannot be read as a township workbook (message in Chinese)."""


def file_properties(path: Path) -> dict[str, str]:
    """The workbook's custom document properties (township_code, run_date), as the writer set them.
    Excel, WPS and LibreOffice keep them when they re-save the file."""
    try:
        with zipfile.ZipFile(path) as z:
            if "docProps/custom.xml" not in z.namelist():
                return {}
            root = ElementTree.fromstring(z.read("docProps/custom.xml"))
    except (zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return {}
    out = {}
    for prop in root:
        name = prop.get("name")
        if name and len(prop):
            out[name] = (prop[0].text or "").strip()
    return out


def _cell_text(v: Any) -> str:
    """A cell as the text a person typed ("" for a blank), as the extracts are read."""
    return (cell_text(v) or "").strip()


def parse_date(v: Any) -> date | None:
    """A 核查日期 cell: a date cell, an Excel serial number, or text as people type it.

    >>> parse_date("2026/11/3"), parse_date("2026年11月3日"), parse_date(46329.0)
    (datetime.date(2026, 11, 3), datetime.date(2026, 11, 3), datetime.date(2026, 11, 3))
    >>> parse_date("2026-02-30") is None
    True
    """
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        if 20000 < v < 80000:  # an Excel day number (1954 … 2119)
            return date(1899, 12, 30) + timedelta(days=int(v))
        return None
    text = _cell_text(v)
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+[\d:]+)?", text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _sheet_rows(path: Path, sheets: Sequence[str]) -> dict[str, tuple[list[list[Any]], int]]:
    """Per sheet of ``sheets`` present in the workbook (opened once): its rows from the header down
    and the header's 1-based row number."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as e:  # calamine raises several exception types for files it cannot read
        raise FeedbackFileError(
            f"无法打开文件,请确认是系统下发的 Excel 预警名单(.xlsx):{type(e).__name__}"
        ) from e
    out = {}
    for sheet in sheets:
        if sheet not in wb.sheet_names:
            continue
        # Empty cells above and left of the data are kept as such, so row numbers are the sheet's.
        rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        h = next((i for i, row in enumerate(rows[:12]) if H_ID in [_cell_text(v) for v in row]), None)
        if h is None:
            raise FeedbackFileError(f"工作表“{sheet}”中找不到“{H_ID}”表头,请勿删除或修改表头行")
        out[sheet] = (rows[h:], h + 1)
    return out


def _columns(header: list[Any], need: list[str], sheet: str) -> dict[str, int]:
    names = [_cell_text(v) for v in header]
    missing = [h for h in need if h not in names]
    if missing:
        raise FeedbackFileError(f"工作表“{sheet}”缺少列:{'、'.join(missing)}(请勿删除或改动列)")
    return {h: names.index(h) for h in names if h}


def _rows(
    rows: list[list[Any]], header_row: int, cols: dict[str, int]
) -> Iterator[tuple[int, Callable[[str], Any]]]:
    """(spreadsheet row number, cell reader) for each row below the header."""
    for k, raw in enumerate(rows[1:], start=1):
        yield header_row + k, _reader(raw, cols)


def _reader(row: list[Any], cols: dict[str, int]) -> Callable[[str], Any]:
    """The cell of ``row`` under a header (None when the column or the cell is not there)."""

    def get(header: str) -> Any:
        i = cols.get(header)
        return row[i] if i is not None and i < len(row) else None

    return get


def _belongs(case: Mapping[str, Any], book_code: str) -> bool:
    """Whether a case is on the workbook of ``book_code`` (a township, or a county's 未确定 list)."""
    if book_code.endswith("000") and len(book_code) == 9 and book_code[6:] == "000":
        return case.get("township_code") is None and case.get("county_code") == book_code[:6]
    return (case.get("routed_township_code") or case.get("township_code")) == book_code


def _township_name(case: Mapping[str, Any], names: Mapping[str, str]) -> str:
    code = case.get("routed_township_code") or case.get("township_code")
    return names.get(str(code), UNRESOLVED_TOWNSHIP[1]) if code else UNRESOLVED_TOWNSHIP[1]


def import_workbook(
    store: CaseStore,
    path: Path,
    rules: Mapping[str, Rule],
    cr: CaseRules,
    townships: Mapping[str, tuple[str, str]],
    today: date,
    user: str | None = None,
    passwords: Mapping[str, str] | None = None,
    file_name: str | None = None,
    allowed: Callable[[str], bool] | None = None,
) -> ImportResult:
    """Check and apply one returned township workbook. ``townships``: code -> (county code, name).

    Never raises for a bad file or row: the result says what happened (``error`` for the file,
    ``problems`` for rows). An encrypted workbook is opened with its township's password from
    ``passwords`` (the township code at the start of its file name). ``file_name``: the name the
    file was sent under, when it is stored under another (the portal's uploads); ``allowed``: which
    workbook codes (township, or county + ``000``) the sender may answer for (None: all).
    """
    path = Path(path)
    name = file_name or path.name
    from pipeline.protect import decrypt, is_encrypted

    if is_encrypted(path):
        m = _CODE_IN_NAME.match(name)
        password = (passwords or {}).get(m[1]) if m else None
        if password is None:
            return ImportResult(
                file=name, error="文件已加密,系统中没有该乡镇的密码:请交回系统下发的文件,不要改文件名"
            )
        try:
            plain = decrypt(path, password)
        except ValueError:
            return ImportResult(file=name, error="文件已加密,且密码不是下发时的密码:请交回系统下发的文件")
        with tempfile.TemporaryDirectory() as d:
            copy = Path(d) / "plain.xlsx"
            copy.write_bytes(plain)
            return import_workbook(
                store, copy, rules, cr, townships, today, user, file_name=name, allowed=allowed
            )
    result = ImportResult(file=name)
    try:
        result.sha256 = file_digest(path)
        props = file_properties(path)
        code = props.get("township_code") or (m[1] if (m := _CODE_IN_NAME.match(name)) else None)
        if not code:
            raise FeedbackFileError("无法确定这份名单属于哪个乡镇:请交回系统下发的原文件,不要另存为新文件")
        if allowed is not None and not allowed(code):
            raise FeedbackFileError("这份名单不属于您负责的乡镇,不能由您的账号导入:请上传本乡镇的名单")
        result.township_code = code
        sheets = _sheet_rows(path, (SHEET_LIST, SHEET_REVISIT))
        if SHEET_LIST not in sheets:
            raise FeedbackFileError(f"找不到工作表“{SHEET_LIST}”,请勿修改工作表名称")
        listed, revisits = sheets[SHEET_LIST], sheets.get(SHEET_REVISIT)
    except (FeedbackFileError, OSError) as e:
        result.error = str(e)
        return result

    names = {c: n for c, (_, n) in townships.items()}
    with store.begin() as conn:
        earlier = store.imported(conn, result.sha256)
        if earlier is not None:
            result.duplicate_of = str(earlier["imported_at"])[:16]
            return result
        # Only the cases the file names: a city has tens of thousands, a township's file a few dozen.
        named = {
            _cell_text(v) for rows_, _ in filter(None, (listed, revisits)) for row in rows_[1:] for v in row
        }
        before = store.frame(conn, ids=[v for v in named if _WARNING_ID.fullmatch(v)])
        cases: dict[str, dict[str, Any]] = {r["warning_id"]: r for r in records(before)}
        received: list[dict[str, Any]] = []
        rows_of: dict[str, int] = {}
        seen: set[str] = set()
        at = now()

        def reject(sheet: str, row: int, wid: str, reason: str, kind: str, values: dict[str, Any]) -> None:
            result.problems.append(Problem(sheet, row, wid, reason))
            received.append(_received(values, kind, name, result.sha256, sheet, row, REJECTED, reason, at))

        # --- 预警名单: answers and (county lists) routing ---------------------------------------
        rows, header_row = listed
        try:
            cols = _columns(rows[0], [H_ID, H_NAME, H_IDNO, H_ANSWER, H_NOTE, H_BY, H_DATE], SHEET_LIST)
        except FeedbackFileError as e:
            result.error = str(e)
            return result
        for row_no, get in _rows(rows, header_row, cols):
            wid = _cell_text(get(H_ID))
            answer, note, by = _cell_text(get(H_ANSWER)), _cell_text(get(H_NOTE)), _cell_text(get(H_BY))
            when_raw, route = get(H_DATE), _cell_text(get(H_ROUTE))
            values: dict[str, Any] = {"warning_id": wid, "answer": answer, "note": note, "checker": by}
            if not (answer or note or by or _cell_text(when_raw) or route):
                if wid:
                    result.blank += 1
                continue
            if not wid:
                reject(SHEET_LIST, row_no, "", "预警编号为空(请勿删除或改动锁定的列)", "answer", values)
                continue
            case = cases.get(wid)
            if case is None:
                reject(
                    SHEET_LIST, row_no, wid, "系统中没有这条预警,请核对预警编号是否被改动", "answer", values
                )
                continue
            if wid in seen:
                reject(
                    SHEET_LIST,
                    row_no,
                    wid,
                    "同一预警编号在本文件中出现多次,只导入第一次出现的行",
                    "answer",
                    values,
                )
                continue
            seen.add(wid)
            if not _belongs(case, code):
                where = _township_name(case, names)
                reject(SHEET_LIST, row_no, wid, f"这条预警属于{where},不属于本名单的乡镇", "answer", values)
                continue
            altered = [
                h
                for h, key in ((H_NAME, "name"), (H_IDNO, "id_number"))
                if case.get(key) is not None and _cell_text(get(h)) != str(case[key])
            ]
            if altered:
                reject(
                    SHEET_LIST,
                    row_no,
                    wid,
                    f"锁定的列“{'、'.join(altered)}”被修改,请交回原文件",
                    "answer",
                    values,
                )
                continue
            rule = rules.get(case["rule"])
            routed = None
            if route:
                county = case.get("county_code")
                routed = next((c for c, (cc, n) in townships.items() if n == route and cc == county), None)
                if routed is None or case.get("township_code") is not None:
                    reject(
                        SHEET_LIST,
                        row_no,
                        wid,
                        f"应属乡镇“{route}”不是本县(市、区)的乡镇(街道)",
                        "route",
                        values,
                    )
                    continue
            changed = False
            if routed and case.get("routed_township_code") != routed:
                case["routed_township_code"] = routed
                changed = True
            if answer or note or by or _cell_text(when_raw):
                problem = _check_answer(case, rule, cr, answer, when_raw, today)
                if problem:
                    reject(SHEET_LIST, row_no, wid, problem, "answer", values)
                    continue
                when = parse_date(when_raw)
                assert when is not None and rule is not None
                values["checked_on"] = when
                if (case.get("answer"), as_date(case.get("answer_date")), case.get("answer_note") or "") == (
                    answer,
                    when,
                    note,
                ):
                    pass  # the same answer again (a re-saved or re-sent file)
                else:
                    apply_answer(case, rule, cr, answer, when, note, by)
                    changed = True
            outcome = APPLIED if changed else UNCHANGED
            if changed:
                result.applied += 1
                rows_of[wid] = row_no
            else:
                result.unchanged += 1
            kind = "answer" if answer else "route"
            received.append(
                _received(values, kind, name, result.sha256, SHEET_LIST, row_no, outcome, None, at)
            )

        # --- 待回访: revisits ---------------------------------------------------------------------
        if revisits is not None:
            rrows, rheader = revisits
            try:
                rcols = _columns(rrows[0], [H_ID, R_ANSWER, R_NOTE, R_BY, R_DATE], SHEET_REVISIT)
            except FeedbackFileError as e:
                result.error = str(e)
                return result
            for row_no, rget in _rows(rrows, rheader, rcols):
                wid = _cell_text(rget(H_ID))
                answer, note, by = (
                    _cell_text(rget(R_ANSWER)),
                    _cell_text(rget(R_NOTE)),
                    _cell_text(rget(R_BY)),
                )
                when_raw = rget(R_DATE)
                values = {"warning_id": wid, "answer": answer, "note": note, "checker": by}
                if not (answer or note or by or _cell_text(when_raw)):
                    continue
                case = cases.get(wid)
                if case is None:
                    reject(
                        SHEET_REVISIT,
                        row_no,
                        wid,
                        "系统中没有这条预警,请核对预警编号是否被改动",
                        "revisit",
                        values,
                    )
                    continue
                if not _belongs(case, code):
                    where = _township_name(case, names)
                    reject(
                        SHEET_REVISIT,
                        row_no,
                        wid,
                        f"这条预警属于{where},不属于本名单的乡镇",
                        "revisit",
                        values,
                    )
                    continue
                when = parse_date(when_raw)
                same = (case.get("revisit_answer"), as_date(case.get("revisit_date"))) == (answer, when)
                if case["status"] == REVISITED and same:
                    result.unchanged += 1
                    received.append(
                        _received(
                            values, "revisit", name, result.sha256, SHEET_REVISIT, row_no, UNCHANGED, None, at
                        )
                    )
                    continue
                problem = None
                if case["status"] != REVISIT_DUE:
                    problem = f"这条预警当前状态为“{cr.label(case['status'])}”,不是待回访"
                elif answer not in cr.revisit_answers:
                    problem = f"回访结果“{answer}”不是可选项(可选:{' / '.join(cr.revisit_answers)})"
                else:
                    problem = _check_date(
                        when_raw, when, as_date(case.get("answer_date")), today, "回访日期", "核查日期"
                    )
                if problem:
                    reject(SHEET_REVISIT, row_no, wid, problem, "revisit", values)
                    continue
                case.update(
                    status=REVISITED, revisit_answer=answer, revisit_date=when, revisit_note=note or None
                )
                values["checked_on"] = when
                result.applied += 1
                rows_of[wid] = row_no
                received.append(
                    _received(
                        values, "revisit", name, result.sha256, SHEET_REVISIT, row_no, APPLIED, None, at
                    )
                )

        after = as_frame(list(cases.values()))
        store.save(conn, before, after, Origin(by_file=name, by_user=user, rows=rows_of))
        store.add_feedback(conn, received)
        store.add_import(
            conn,
            {
                "sha256": result.sha256,
                "file_name": name,
                "township_code": code,
                "imported_at": at,
                "rows_applied": result.applied,
                "rows_unchanged": result.unchanged,
                "rows_rejected": result.rejected,
                "by_user": user,
            },
        )
    log.info("feedback: %s", result.line())
    return result


def _check_date(
    raw: Any, when: date | None, floor: date | None, today: date, what: str, floor_what: str
) -> str | None:
    if _cell_text(raw) == "":
        return f"{what}未填写"
    if when is None:
        return f"{what}“{_cell_text(raw)}”不是有效日期,请按 年-月-日 填写"
    if when > today:
        return f"{what} {when.isoformat()} 晚于今天"
    if floor is not None and when < floor:
        return f"{what} {when.isoformat()} 早于{floor_what} {floor.isoformat()}"
    return None


def _check_answer(
    case: Mapping[str, Any], rule: Rule | None, cr: CaseRules, answer: str, when_raw: Any, today: date
) -> str | None:
    if rule is None:
        return f"规则 {case['rule']} 已不在规则文件中,无法导入"
    if not answer:
        return "已填写核查说明、核查人或日期,但核查结果未选择"
    if cr.answer(rule.answers, answer) is None:
        options = " / ".join(a.answer for a in cr.answers(rule.answers))
        return f"核查结果“{answer}”不是本规则的可选项(可选:{options})"
    when = parse_date(when_raw)
    problem = _check_date(when_raw, when, as_date(case.get("first_seen")), today, "核查日期", "首次预警日期")
    if problem:
        return problem
    recorded = as_date(case.get("answer_date"))
    if recorded is not None and when is not None and when < recorded:
        return f"系统中已有更新的核查结果({case.get('answer')},{recorded.isoformat()}),本行较旧,未覆盖"
    return None


def apply_answer(
    case: dict[str, Any], rule: Rule, cr: CaseRules, text: str, when: date, note: str, by: str
) -> None:
    a = cr.answer(rule.answers, text)
    assert a is not None
    first = as_date(case.get("first_answered"))
    case.update(
        answer=text,
        answer_date=when,
        answer_note=note or None,
        answer_by=by or None,
        first_answered=when if first is None or when < first else first,
        status=a.status,
        facts_at_answer=case.get("key_facts"),
        suppressed_until=when + timedelta(days=cr.days["suppress"]) if a.suppress else None,
        hold_person=a.suppress_person,
        verification=PENDING if a.done else None,
        verified_on=None,
        note=None,
    )
    if a.status in (CLOSED, ANSWERED):
        case.update(closed_reason=ANSWER, closed_on=when)
    else:
        case.update(closed_reason=None, closed_on=None)


def _received(
    values: dict[str, Any],
    kind: str,
    file_name: str,
    sha: str,
    sheet: str,
    row: int,
    outcome: str,
    reason: str | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "warning_id": values.get("warning_id") or None,
        "kind": kind,
        "answer": values.get("answer") or None,
        "note": values.get("note") or None,
        "checker": values.get("checker") or None,
        "checked_on": values.get("checked_on"),
        "file_name": file_name,
        "file_sha256": sha,
        "sheet": sheet,
        "row": row,
        "outcome": outcome,
        "reason": reason,
        "imported_at": at,
    }


def import_files(
    settings: Any, paths: list[Path], user: str | None = None, wait_seconds: float = 0
) -> tuple[list[ImportResult], Path]:
    """Import returned workbooks named by hand (``active-discovery feedback FILE...``, the
    ``feedback`` flow): under the state folder's lock, each file alone; the 导入结果 workbook goes
    to ``<state>/feedback/<time>_导入结果.xlsx``. Returns the results and that path."""
    from pipeline.config import RunConfig
    from pipeline.settings import today_shanghai
    from pipeline.state import StateStore

    config = RunConfig.load(settings)
    state = StateStore(settings.state, settings.database_url)
    results: list[ImportResult] = []
    holder = f"a feedback import by {user or 'unknown'} (pid {os.getpid()})"
    with state.lock(holder, wait_seconds):
        try:
            for p in paths:
                path = Path(p)
                if not path.is_file():
                    results.append(ImportResult(file=path.name, error=f"找不到文件 {path}"))
                    continue
                results.append(
                    import_workbook(
                        state.cases(),
                        path,
                        config.rules_by_id,
                        config.case_rules,
                        config.townships,
                        today_shanghai(),
                        user,
                        config.passwords,
                    )
                )
        finally:
            state.close()
    out = Path(settings.state) / "feedback" / f"{now().strftime('%Y%m%d-%H%M%S')}_导入结果.xlsx"
    write_result(out, results)
    return results, out
