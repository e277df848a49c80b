"""Fuzzing the file readers: random bytes, random text tables and random small workbooks never raise
anything but the project's own errors (the parsers' own properties are in test_properties.py)."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cases.config import load_case_rules
from pipeline.cases.feedback import import_workbook, parse_date
from pipeline.cases.store import CaseStore
from pipeline.eligibility.rules import load_rules
from pipeline.errors import SourceFileError
from pipeline.ingest import read_source_file
from pipeline.settings import PROJECT_ROOT
from pipeline.sources import load_sources

CFG = load_sources(PROJECT_ROOT / "rules" / "sources.yaml")
SPEC = CFG.by_key("subsidy")
HEADERS = [h for f in SPEC.fields for h in f.headers] + ["合计", "小计:", "姓名", ""]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cell = st.one_of(
    st.sampled_from(HEADERS),
    st.text(max_size=12),
    st.text(alphabet=",;\t|\"'\n\r=+-@计0123456789X", max_size=10),
    st.integers(min_value=-(10**18), max_value=10**18).map(str),
)


def _read(path: Path) -> None:
    try:
        read_source_file(path, SPEC)
    except SourceFileError:
        pass  # the project's own error, naming the file: what a bad file must give


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".txt", ".xlsx"]))
def test_random_bytes_in_any_table_file(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"x{suffix}"
        path.write_bytes(data)
        _read(path)


@FUZZ
@given(
    rows=st.lists(st.lists(cell, max_size=9), max_size=14),
    sep=st.sampled_from([",", "\t", ";", "|"]),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
)
def test_random_text_tables(rows: list[list[str]], sep: str, encoding: str) -> None:
    text = "\n".join(sep.join(r) for r in [list(SPEC.header_map())[:7], *rows])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.csv"
        path.write_bytes(text.encode(encoding, errors="replace"))
        _read(path)


workbook_cell = st.one_of(
    cell,
    st.floats(allow_nan=True, allow_infinity=False),
    st.dates(min_value=date(1900, 1, 2)),
    st.booleans(),
    st.none(),
)


@FUZZ
@given(
    sheets=st.lists(
        st.tuples(
            st.text(alphabet="abc月说明12", min_size=1, max_size=5),
            st.lists(st.lists(workbook_cell, max_size=8), max_size=10),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda s: s[0],
    ),
    with_header=st.booleans(),
)
def test_random_small_workbooks(sheets: list[tuple[str, list[list[object]]]], with_header: bool) -> None:
    import xlsxwriter

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.xlsx"
        wb = xlsxwriter.Workbook(
            str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "nan_inf_to_errors": True}
        )
        for name, rows in sheets:
            ws = wb.add_worksheet(name)
            start = 0
            if with_header:
                for j, f in enumerate(SPEC.fields):
                    ws.write_string(0, j, f.standard_header)
                start = 1
            for i, row in enumerate(rows, start=start):
                for j, v in enumerate(row):
                    if isinstance(v, date) and not isinstance(v, datetime):
                        ws.write_datetime(i, j, datetime(v.year, v.month, v.day))
                    elif v is not None:
                        ws.write(i, j, v)
        wb.close()
        _read(path)


@FUZZ
@given(value=st.one_of(st.text(max_size=20), st.floats(allow_nan=True), st.integers(), st.none(), st.dates()))
def test_answer_dates_parse_or_are_refused(value: object) -> None:
    parsed = parse_date(value)
    assert parsed is None or isinstance(parsed, date)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_a_returned_file_of_random_bytes_is_refused_whole(data: bytes) -> None:
    sources = {s.key for s in CFG.sources}
    rules = {r.id: r for r in load_rules(PROJECT_ROOT / "rules" / "eligibility.yaml", sources).rules}
    cr = load_case_rules(PROJECT_ROOT / "rules" / "cases.yaml")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "410822105_磨头镇.xlsx"
        path.write_bytes(data)
        store = CaseStore(f"sqlite:///{Path(d) / 'c.sqlite'}")
        try:
            result = import_workbook(store, path, rules, cr, {}, date(2026, 11, 30))
        finally:
            store.dispose()
        assert result.error and result.applied == 0
