"""Read department extracts: one subfolder per source, every .csv/.xlsx inside, every cell as text.

Each record keeps its provenance: source, file name and spreadsheet row number (the header row is
row 1 in a standard file; a title line above the header shifts everything down, as in the file).
A file that cannot be used fails its source with a :class:`SourceFileError` naming the file and
what to do; rows that cannot be split into the header's columns are quarantined with a reason.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import schema as S
from pipeline.errors import SourceFileError
from pipeline.memo import REJECTED_TABLE, TABLE, Memo, digest, file_digest
from pipeline.progress import step
from pipeline.sources import SourcesConfig, SourceSpec, header_key

log = logging.getLogger(__name__)

#: Text tables (Excel's "Unicode text" export is a tab-separated .txt) and workbooks.
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
TABLE_SUFFIXES = (*TEXT_SUFFIXES, ".xlsx", ".xlsm", ".xls")
_HEADER_SCAN_ROWS = 10  # a title line or two above the header is common in government extracts
#: Column separators seen in exported text: Excel's CSV, its "Unicode text" (tabs), European
#: locales' semicolons, some systems' pipes. The one that finds the header wins.
_DELIMITERS = (",", "\t", ";", "|")
#: A total or subtotal row, its label in any column (合计, 总 计:, 小计 …).
_TOTAL = re.compile(r"^(合|总|小)\s*计\s*[:：]?$")
#: Stands in for a CSV line that could not be decoded, so it is quarantined with its row number.
_UNDECODABLE = "\ue000undecodable\ue000"
REASON_TOTAL = "合计行(不是人员,已剔除)"
REASON_HEADER = "重复的表头行(已剔除)"
REASON_UNDECODABLE = "该行含无法识别的字符(编码损坏),整行未读取,请检查原文件"
REJECT_REASON = "reason"
REJECT_TEXT = "raw_text"


@dataclass
class FileReport:
    """What happened to one file; shown to analysts in the quality summary."""

    source: str
    path: str
    encoding: str | None = None
    header_row: int | None = None
    rows: int = 0  # data rows read (not counting blank rows)
    blank_rows: int = 0
    rejected_rows: int = 0  # rows that could not be split into columns
    unknown_columns: list[str] = field(default_factory=list)
    duplicate_columns: list[str] = field(default_factory=list)
    delimiter: str | None = None  # CSV: the column separator found
    sheets: list[str] = field(default_factory=list)  # workbook: the sheets read
    skipped_sheets: list[str] = field(default_factory=list)  # workbook: non-empty sheets without the header
    labels: list[str] = field(default_factory=list)  # the `file` values its rows carry (a sheet each)
    # Filled in by validation: what became of the rows (rows + rejected_rows, every one accounted).
    accepted: int = 0
    out_of_scope: int = 0  # accepted, but outside the run's counties
    quarantined: dict[str, int] = field(default_factory=dict)  # reason -> rows set aside or rejected

    @property
    def accounted(self) -> bool:
        """Every non-blank row below the header is accepted, out of scope or quarantined."""
        return self.rows + self.rejected_rows == self.accepted + self.out_of_scope + sum(
            self.quarantined.values()
        )

    error: str | None = None
    error_zh: str | None = None
    #: The SHA-256 of the file's bytes (what the memo of an incremental night is keyed by).
    content: str | None = None


# --- encodings --------------------------------------------------------------------------------
def detect_encoding(data: bytes, path: str = "") -> str:
    """The text encoding of a CSV: BOMs first, then strict UTF-8, then GB18030 (a superset of GBK
    and GB2312), then charset-normalizer for anything else. Binary data raises SourceFileError.

    >>> detect_encoding("姓名".encode("gbk"))
    'gb18030'
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:65536]
    if b"\x00" in sample:
        raise SourceFileError(
            path,
            "binary data, not a text CSV",
            "文件不是文本格式的CSV(可能是损坏的文件或改了扩展名的其他文件),请重新导出为CSV或xlsx后再提交",
        )
    for enc in ("utf-8", "gb18030"):
        try:
            data.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes  # only for the rare file that is neither

    best = from_bytes(sample).best()
    if best is None:
        raise SourceFileError(
            path, "cannot detect the text encoding", "无法识别文件编码,请另存为UTF-8或GBK编码的CSV,或xlsx"
        )
    return str(best.encoding)


# --- cells -----------------------------------------------------------------------------------
def cell_text(value: Any) -> str | None:
    """A spreadsheet cell as text, the way a person reading the sheet would type it.

    Whole numbers below 10^15 are written without ".0" (phones, counts); larger ones keep
    scientific notation so an ID that Excel stored as a number is recognised as mangled.

    >>> cell_text(13803911234.0), cell_text(4.10822199001012e17), cell_text(650.5)
    ('13803911234', '4.10822199001012E+17', '650.5')
    """
    if type(value) is str:  # the common case first: most cells are text
        return value if value.strip() else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value)) if abs(value) < 1e15 else f"{value:.14E}"
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    s = str(value)
    return s if s.strip() else None


# --- tables ----------------------------------------------------------------------------------
def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """(text, encoding). A file with a line or two that do not decode (a bad byte in one line) keeps
    its other lines: each bad line becomes a marker that is quarantined with its row number, rather
    than the whole file failing or being read in a wrong encoding."""
    if (
        data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        or b"\x00" in data[:65536]
    ):
        enc = detect_encoding(data, str(path))  # a BOM says it; NUL bytes: binary, raises
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as e:
            raise SourceFileError(
                str(path), f"not valid {enc}", "文件编码损坏,无法读取,请另存为UTF-8或GBK编码的CSV,或xlsx"
            ) from e
    lines = data.split(b"\n")
    bad_lines: dict[str, list[int]] = {}
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            bad = []
            for k, line in enumerate(lines):
                try:
                    line.decode(enc)
                except UnicodeDecodeError:
                    bad.append(k)
            bad_lines[enc] = bad
    enc = min(bad_lines, key=lambda e: len(bad_lines[e]))
    if len(bad_lines[enc]) > max(1, len(lines) // 100):  # not a bad line or two: another encoding
        enc = detect_encoding(data, str(path))
        return data.decode(enc, errors="strict"), enc
    bad_set = set(bad_lines[enc])
    text = "\n".join(_UNDECODABLE if k in bad_set else line.decode(enc) for k, line in enumerate(lines))
    return text, enc


def _parse_csv(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _read_csv_rows(path: Path, report: FileReport, header_map: dict[str, str]) -> list[list[str]]:
    data = path.read_bytes()
    if not data.strip():
        raise SourceFileError(str(path), "the file is empty", "文件为空(0行),请检查导出是否成功后重新提交")
    text, enc = _decode(data, path)
    report.encoding = enc
    try:
        # The separator is the one under which the first lines show this source's header.
        head = "\n".join(text.splitlines()[: _HEADER_SCAN_ROWS + 2])
        hits = {d: _header_at(_parse_csv(head, d), header_map)[1] for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=lambda d: (hits[d], d == ","))
        report.delimiter = delimiter
        return _parse_csv(text, delimiter)
    except csv.Error as e:
        raise SourceFileError(
            str(path), f"not a readable CSV: {e}", "CSV格式损坏,无法按列读取,请重新导出后提交"
        ) from e


def _read_excel_sheets(path: Path, report: FileReport) -> list[tuple[str, list[list[Any]]]]:
    """Every sheet's cells (cached values of formulas, hidden rows and columns included)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = [(n, wb.get_sheet_by_name(n).to_python(skip_empty_area=False)) for n in wb.sheet_names]
    except Exception as e:  # calamine raises several exception types for corrupt files
        raise SourceFileError(
            str(path),
            f"cannot open the workbook ({type(e).__name__}: {e})",
            "Excel文件损坏或不是xlsx格式,无法打开,请在Excel/WPS中另存为xlsx后重新提交",
        ) from e
    report.encoding = "xlsx"
    return [(n, [list(r) for r in rows]) for n, rows in sheets]


def _header_hits(row: list[Any], header_map: dict[str, str]) -> int:
    return len({header_map[k] for c in row if (k := header_key(str(c or ""))) in header_map})


def _header_at(rows: list[list[Any]], header_map: dict[str, str]) -> tuple[int | None, int]:
    """(index, known columns named) of the row naming the most known columns (at least two) among
    the first rows."""
    best, best_hits = None, 1
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        hits = _header_hits(row, header_map)
        if hits > best_hits:
            best, best_hits = i, hits
    return best, best_hits if best is not None else 0


def _find_header(rows: list[list[Any]], header_map: dict[str, str]) -> int | None:
    return _header_at(rows, header_map)[0]


def _blank_to_none(values: tuple[str | None, ...]) -> pd.Series:
    # Only empty cells become missing here; whitespace-only cells are blank to every normalizer.
    # Arrow-backed from the start: the memo and the raw Parquet then take the column as it is
    # (converting a million Python strings to Arrow, twice per file, cost seconds at 1M).
    col = pa.array(values, type=pa.string())
    return pd.Series(
        pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col).to_pandas(), dtype="str"
    )


def _column_letter(i: int) -> str:
    """A 0-based column index as a spreadsheet letter (0 -> A, 27 -> AB)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _positions(
    header: list[str], spec: SourceSpec, header_map: dict[str, str], path: Path, report: FileReport
) -> dict[str, int]:
    """Canonical field -> column index. Two columns with one field's header are an error naming
    both, unless the sources file says which to take (``duplicates: first | last``)."""
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        fname = header_map.get(header_key(name))
        if fname is None:
            if name.strip():
                report.unknown_columns.append(name)
            continue
        if fname not in positions:
            positions[fname] = i
            continue
        report.duplicate_columns.append(name)
        field_spec = spec.field(fname)
        rule = field_spec.duplicates if field_spec is not None else None
        if rule == "last":
            positions[fname] = i
        elif rule != "first":
            first = positions[fname]
            raise SourceFileError(
                str(path),
                f"two columns for {fname}: {header[first]!r} ({_column_letter(first)}) and {name!r} "
                f"({_column_letter(i)})",
                f"列名重复:第{_column_letter(first)}列“{header[first]}”和第{_column_letter(i)}列“{name}”"
                "是同一项数据,请删除或改名其中一列后重新提交",
            )
    return positions


def _read_table(
    rows: list[list[str]],
    h: int,
    label: str,
    spec: SourceSpec,
    header_map: dict[str, str],
    path: Path,
    report: FileReport,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data rows under header row ``h``: kept rows, and rows set aside with their reason (not
    split into columns, a total row, the header repeated, a line that could not be decoded)."""
    header = [cell_text(c) or "" for c in rows[h]]
    positions = _positions(header, spec, header_map, path, report)
    missing = [f for f in spec.fields if f.required and f.name not in positions]
    if missing:
        names = "、".join(f.standard_header for f in missing)
        raise SourceFileError(
            str(path),
            f"missing required column(s): {', '.join(f.standard_header for f in missing)}",
            f"缺少必需的列:{names}。请按标准表头补齐这些列后重新提交",
        )
    header_keys = [header_key(c) for c in header]
    named = sum(1 for k in header_keys if k)
    # Cheap tests first (a million rows pass here): only a row containing 计 can be a total row,
    # only a row containing one of the two longest header texts can be the header repeated.
    telltales = sorted((c for c in header if c.strip()), key=len, reverse=True)[:2]
    ncols = len(header)
    data_rows, row_numbers, rejected = [], [], []
    for offset, row in enumerate(rows[h + 1 :]):
        number = h + 2 + offset  # spreadsheet row number: 1-based, header included
        # Cells are str (CSV) or str/None (workbooks, via cell_text); blanks become None below.
        joined = "".join(row)
        if not joined.strip():
            report.blank_rows += 1
            continue
        if row and row[0] == _UNDECODABLE:
            rejected.append((number, REASON_UNDECODABLE, "(无法解码)"))
            continue
        if "计" in joined and any(_TOTAL.match(c.strip()) for c in row if c):
            rejected.append((number, REASON_TOTAL, ",".join(row)))
            continue
        if any(t in joined for t in telltales) and (
            sum(1 for a, b in zip(row, header_keys, strict=False) if b and header_key(a) == b) * 2 >= named
        ):
            rejected.append((number, REASON_HEADER, ",".join(row)))
            continue
        if len(row) > ncols:
            if "".join(row[ncols:]).strip():
                rejected.append((number, "列数多于表头(可能有未加引号的逗号)", ",".join(row)))
                continue
            row = row[:ncols]
        elif len(row) < ncols:
            row = row + [""] * (ncols - len(row))
        data_rows.append(row)
        row_numbers.append(number)
    report.rows += len(data_rows)
    report.rejected_rows += len(rejected)
    columns = list(zip(*data_rows, strict=True)) if data_rows else [()] * ncols
    frame = pd.DataFrame({fname: _blank_to_none(columns[i]) for fname, i in positions.items()})
    frame.insert(0, S.ROW, pd.Series(row_numbers, dtype="int64"))
    frame.insert(0, S.FILE, label)
    rej = pd.DataFrame(rejected, columns=[S.ROW, REJECT_REASON, REJECT_TEXT])
    rej.insert(0, S.FILE, label)
    return frame, rej


def read_source_file(path: Path, spec: SourceSpec) -> tuple[pd.DataFrame, pd.DataFrame, FileReport]:
    """Read one file of a source: a CSV (any usual separator and encoding), or every sheet of a
    workbook whose header names this source's columns (``file.xlsx(Sheet2)`` for sheets after the
    first one read; the others are named in the report).

    Returns (rows, rejected, report). ``rows`` has FILE, ROW and one text column per canonical
    field found; ``rejected`` has FILE, ROW, reason and the raw text of rows set aside. Raises
    SourceFileError when the file cannot be used at all.
    """
    report = FileReport(source=spec.key, path=str(path))
    header_map = spec.header_map()
    tables: list[tuple[str | None, list[list[str]]]]
    if path.suffix.lower() in TEXT_SUFFIXES:
        tables = [(None, _read_csv_rows(path, report, header_map))]
    else:
        # Workbook cells as the text a person would type; "" for blanks, like the CSV reader.
        tables = [
            (n, [[cell_text(c) or "" for c in r] for r in rows])
            for n, rows in _read_excel_sheets(path, report)
        ]
        if not any("".join(r).strip() for _, rows in tables for r in rows):
            raise SourceFileError(
                str(path), "the workbook is empty", "Excel文件没有任何数据,请检查后重新提交"
            )
    frames: list[pd.DataFrame] = []
    rejects: list[pd.DataFrame] = []
    for sheet, rows in tables:
        h = _find_header(rows, header_map)
        if h is None:
            if sheet is not None and any("".join(r).strip() for r in rows):
                report.skipped_sheets.append(sheet)
            continue
        label = path.name if sheet is None or not frames else f"{path.name}({sheet})"
        if sheet is not None:
            report.sheets.append(sheet)
        if not frames:
            report.header_row = h + 1
        frame, rej = _read_table(rows, h, label, spec, header_map, path, report)
        frames.append(frame)
        rejects.append(rej)
    if not frames:
        expected = "、".join(f.standard_header for f in spec.fields if f.required)
        raise SourceFileError(
            str(path),
            "no header row with this source's column names in the first rows",
            f"找不到表头:前{_HEADER_SCAN_ROWS}行中没有本数据源的列名,请确认文件是否放错文件夹;应包含的列:{expected}",
        )
    if report.skipped_sheets:
        log.warning("%s: sheet(s) without this source's header skipped: %s", path.name, report.skipped_sheets)
    if not report.rows and not report.rejected_rows:
        raise SourceFileError(
            str(path), "no data rows below the header", "文件只有表头,没有数据行,请确认导出范围后重新提交"
        )
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    rej = pd.concat(rejects, ignore_index=True) if len(rejects) > 1 else rejects[0]
    return frame, rej, report


@dataclass
class SourceRead:
    """All files of one source: rows, quarantined rows, per-file reports, and the outcome."""

    spec: SourceSpec
    folder: str
    rows: pd.DataFrame
    rejected: pd.DataFrame
    files: list[FileReport]
    error: str | None = None  # set when a file (or the whole source) could not be read
    error_zh: str | None = None
    partial: bool = False  # some files failed; the rows of the others are used


@dataclass
class ExtractsRead:
    sources: dict[str, SourceRead]
    unknown_folders: list[str]
    ignored_files: list[str]


def list_tables(folder: Path) -> tuple[list[Path], list[Path]]:
    """(table files, other files) in a source folder, recursively, in a stable order."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "~$")))
    return [p for p in files if p.suffix.lower() in TABLE_SUFFIXES], [
        p for p in files if p.suffix.lower() not in TABLE_SUFFIXES
    ]


Reader = Callable[[Path, SourceSpec], tuple[pd.DataFrame, pd.DataFrame, FileReport]]


def read_folder(
    folder: Path, spec: SourceSpec, root: Path, reader: Reader | None = None
) -> tuple[SourceRead, list[str]]:
    """Every table file of one source's folder: (what was read, the files ignored, relative to
    ``root``). Independent of the other folders, so they can be read by worker processes.
    ``reader``: how one file is read (default ``read_source_file``; ``MemoReader`` takes a file
    read on an earlier night from the memo)."""
    reader = reader or read_source_file
    ignored: list[str] = []
    tables, others = list_tables(folder)
    ignored += [str(p.relative_to(root)) for p in others]
    frames, rejects, reports = [], [], []
    failure: SourceFileError | None = None
    for path in tables:
        try:
            frame, rej, rep = reader(path, spec)
        except SourceFileError as e:
            if path.suffix.lower() in (".txt", ".tsv") and e.message.startswith("no header row"):
                # A .txt is a table only when it has the source's header (Excel's "Unicode
                # text" export); otherwise it is a note left in the folder.
                ignored.append(str(path.relative_to(root)))
                continue
            log.error("source %s: %s", spec.key, e)
            reports.append(FileReport(spec.key, str(path), error=e.message, error_zh=e.message_zh))
            failure = failure or e
            continue
        # Two files of one folder may share a name in different subfolders: keep the path.
        rel = str(path.relative_to(folder))
        parent = str(Path(rel).parent)
        if parent != ".":
            frame[S.FILE] = parent + "/" + frame[S.FILE].astype(str)
            rej[S.FILE] = parent + "/" + rej[S.FILE].astype(str)
        rep.labels = sorted(set(frame[S.FILE]) | set(rej[S.FILE]))
        frames.append(frame)
        rejects.append(rej)
        reports.append(rep)
        log.info("source %s: %s: %d rows (%s)", spec.key, rel, rep.rows, rep.encoding)
    read = SourceRead(
        spec=spec,
        folder=folder.name,
        rows=pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[S.FILE, S.ROW]),
        rejected=pd.concat(rejects, ignore_index=True)
        if rejects
        else pd.DataFrame(columns=[S.FILE, S.ROW, REJECT_REASON, REJECT_TEXT]),
        files=reports,
    )
    if not frames and failure is None:
        read.error, read.error_zh = "no .csv or .xlsx file in the folder", "文件夹中没有CSV或xlsx文件"
    elif failure is not None:
        bad = [r for r in reports if r.error]
        read.error = "; ".join(f"{Path(r.path).name}: {r.error}" for r in bad)
        read.error_zh = ";".join(f"{Path(r.path).name}:{r.error_zh}" for r in bad)
        read.partial = bool(frames)  # the readable files are used
    return read, ignored


def source_folders(
    extracts: str | Path, cfg: SourcesConfig
) -> tuple[list[tuple[Path, SourceSpec]], list[str]]:
    """(source folder, its source) for every known source folder under ``extracts``, and the
    folders naming no known source (or a second folder of one), reported and skipped."""
    root = Path(extracts)
    if not root.is_dir():
        raise SourceFileError(str(root), "the extracts folder does not exist", "数据文件夹不存在")
    found: list[tuple[Path, SourceSpec]] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        spec = cfg.source_for_folder(folder.name)
        if spec is None:
            log.warning("folder %r names no known source; skipped", folder.name)
            unknown.append(folder.name)
        elif spec.key in seen:
            log.warning("folder %r is a second folder for source %s; skipped", folder.name, spec.key)
            unknown.append(folder.name)
        else:
            seen.add(spec.key)
            found.append((folder, spec))
    return found, unknown


def read_extracts(extracts: str | Path, cfg: SourcesConfig) -> ExtractsRead:
    """Read every known source folder under ``extracts``.

    A folder naming no known source is reported and skipped. A file of a source that cannot be
    used is reported, and the source's other files are read: the source is *partial*. What a
    partial source may be used for is the rules' decision (``requires`` in rules/eligibility.yaml):
    a rule that reasons about an absence in it ("no subsidy payment found") is skipped, since a
    half-read source would produce false warnings; a rule that only takes evidence from it runs,
    and the summary says which file's warnings may be missing.
    """
    folders, unknown = source_folders(extracts, cfg)
    result = ExtractsRead(sources={}, unknown_folders=unknown, ignored_files=[])
    step("ingest", 0, len(folders))
    for n_done, (folder, spec) in enumerate(folders, start=1):
        read, ignored = read_folder(folder, spec, Path(extracts))
        result.sources[spec.key] = read
        result.ignored_files += ignored
        step("ingest", n_done, len(folders))
    return result


#: The modules whose code decides what a file reads as (part of every ingest memo key).
READING_CODE = ("pipeline/ingest", "pipeline/schema.py", "pipeline/sources.py")


def text_table(frame: pd.DataFrame) -> pa.Table:
    """Read rows as Arrow: every column text, the row number an integer."""
    schema = pa.schema([(c, pa.int64() if c == S.ROW else pa.string()) for c in frame.columns])
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


@dataclass(frozen=True)
class MemoReader:
    """``read_source_file`` through the memo: a file with the same bytes, name and reading rules
    as on an earlier night is taken as read then (pipeline.memo). Picklable, for worker processes."""

    memo: Memo
    salt: str  # the sources file and the reading code (memo.digest of their fingerprints)

    PARTS = (TABLE, REJECTED_TABLE, ".json")

    def key(self, path: Path, spec: SourceSpec, content: str) -> str:
        """The memo key of the file at ``path`` whose bytes have the SHA-256 ``content``."""
        return digest(self.salt, spec.key, path.name, content)

    def __call__(self, path: Path, spec: SourceSpec) -> tuple[pd.DataFrame, pd.DataFrame, FileReport]:
        frame, rejected, report, _ = self.read(path, spec)
        return frame, rejected, report

    def read(
        self, path: Path, spec: SourceSpec, content: str | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame, FileReport, bool]:
        """``__call__``'s (rows, rejected rows, report), and whether they came from the memo;
        ``content``: the file's SHA-256 when the caller has it already."""
        content = content or file_digest(path)
        key = self.key(path, spec, content)
        if self.memo.has(key, self.PARTS):
            report = FileReport(**self.memo.load_json(key))
            report.path = str(path)
            frame = self.memo.load_table(key).to_pandas()
            rejected = self.memo.load_table(key, REJECTED_TABLE).to_pandas()
            return frame, rejected, report, True
        frame, rejected, report = read_source_file(path, spec)
        report.content = content
        self.memo.save_table(key, text_table(frame))
        self.memo.save_table(key, text_table(rejected), REJECTED_TABLE)
        self.memo.save_json(key, asdict(report))
        return frame, rejected, report, False
