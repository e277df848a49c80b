"""The reports of two nights on the committed sample, opened by the programs people use.

LibreOffice (Debian's libreoffice-calc) converts every township workbook to PDF; headless Chromium
renders summary.html to a screenshot. `make test` installs both; without them these tests fail
and say so, rather than pass without looking.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from pipeline.contracts import RULES_SUMMARY, SUMMARY_HTML, SUMMARY_XLSX, TOWNSHIPS, WARNINGS, RulesSummary
from pipeline.reports import COLUMNS, FILL_IN, SHEET_LIST
from pipeline.reports.workbook import FIRST_DATA_ROW, HEADER_ROW, PRINTED_MIN_PT, ROUTE
from pipeline.runs import run_all
from pipeline.settings import Settings
from tests.office import libreoffice, pdf_page_size, printed_sizes, program

NIGHTS = (date(2026, 11, 28), date(2026, 11, 29))


def letter(kind: str) -> str:
    """The spreadsheet column of the fill-in column of ``kind`` (verdict, fill_date)."""
    return get_column_letter(next(i for i, c in enumerate(COLUMNS) if c.kind == kind) + 1)


def data_range(column: str, last: int) -> str:
    """The cells of ``column`` from the first data row to ``last``, as a spreadsheet writes them."""
    first = FIRST_DATA_ROW + 1
    return f"{column}{first}" if first == last else f"{column}{first}:{column}{last}"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("reports")
    for night in NIGHTS:
        run_all(Settings.build(extracts=sample_dir, out=root / "out", state=root / "state", run_date=night))
    return root / "out" / NIGHTS[-1].isoformat()


@pytest.mark.slow
def test_every_workbook_holds_exactly_its_townships_warnings(run_dir: Path) -> None:
    # What goes out: the warnings with their case (none is held: nobody answered).
    warnings = pd.read_parquet(run_dir / "data" / "cases.parquet")
    assert len(warnings) == len(pd.read_parquet(run_dir / "data" / "warnings.parquet"))
    warnings["township_code"] = warnings["township_code"].fillna("000000000")
    warnings["county_code"] = warnings["county_code"].fillna("000000")  # the city's 未确定区县 list
    books = sorted(TOWNSHIPS.at(run_dir).rglob("*.xlsx"))
    assert len(books) == warnings.groupby(["county_code", "township_code"]).ngroups
    id_col = [c.header for c in COLUMNS].index("身份证号")
    seen: list[str] = []
    for book in books:
        county_code = book.parent.name.split("_")[0]
        unresolved = book.name.endswith("未确定乡镇.xlsx")
        township_code = "000000000" if unresolved else book.name.split("_")[0]
        columns = (*COLUMNS, ROUTE) if unresolved else COLUMNS
        ws = openpyxl.load_workbook(book)[SHEET_LIST]
        cells = list(ws.iter_rows(min_row=FIRST_DATA_ROW + 1))
        rows = [[c.value for c in r] for r in cells]
        ids = [r[[c.header for c in COLUMNS].index("预警编号")] for r in rows]
        mine = warnings[
            (warnings["county_code"] == county_code) & (warnings["township_code"] == township_code)
        ]
        assert sorted(ids) == sorted(mine["warning_id"]), book
        assert all(isinstance(r[id_col], str) and len(r[id_col]) == 18 for r in rows if r[id_col])
        last = FIRST_DATA_ROW + len(rows)
        # Each rule's answers: one dropdown per answer list, together covering every row.
        verdict = letter("verdict")
        answers = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith(verdict)]
        covered = sorted(
            r for dv in answers for cr in dv.sqref.ranges for r in range(cr.min_row, cr.max_row + 1)
        )
        assert covered == list(range(FIRST_DATA_ROW + 1, last + 1)), book.name
        kinds = {(dv.type, str(dv.sqref)) for dv in ws.data_validations.dataValidation if dv not in answers}
        expected = {("date", data_range(letter("fill_date"), last))}
        if unresolved:  # the county routes each row to one of its townships
            expected.add(("list", data_range(get_column_letter(len(columns)), last)))
        assert kinds == expected, book.name
        assert ws.protection.sheet
        for row in cells:
            for c, col in zip(row, columns, strict=True):
                assert c.protection.locked == (col.header not in FILL_IN), (book.name, c.coordinate)
                assert c.data_type != "f" and not (isinstance(c.value, str) and c.value[:1] in "=+-@")
        seen += ids
    assert sorted(seen) == sorted(warnings["warning_id"])  # none lost, none twice
    # The second night: warnings sent the night before are 已下发 with the first night's date.
    first = next(iter(sorted(TOWNSHIPS.at(run_dir).rglob("*.xlsx"))))
    ws = openpyxl.load_workbook(first)[SHEET_LIST]
    headers = [c.value for c in ws[HEADER_ROW + 1]]
    row = dict(zip(headers, [c.value for c in ws[FIRST_DATA_ROW + 1]], strict=True))
    assert row["状态"] == "已下发" and row["首次预警日期"].date() == NIGHTS[0]
    assert "趋势" in SUMMARY_HTML.at(run_dir).read_text(encoding="utf-8")
    assert "<svg" in SUMMARY_HTML.at(run_dir).read_text(encoding="utf-8")
    # The second whole night compares with the first: the 已消失 column is there.
    assert "已消失" in SUMMARY_HTML.at(run_dir).read_text(encoding="utf-8")
    assert "人员比对" in (run_dir / "steward.html").read_text(encoding="utf-8")
    # Tonight's expected linkage errors, from the model alone, on both pages and in the manifest.
    assert "可能关联错了人" in SUMMARY_HTML.at(run_dir).read_text(encoding="utf-8")
    assert "预计漏关联" in (run_dir / "steward.html").read_text(encoding="utf-8")
    # Per rule, too: the warnings that probably stand on a record linked to the wrong person.
    assert "约有几条关联错人" in SUMMARY_HTML.at(run_dir).read_text(encoding="utf-8")
    outcomes = RulesSummary.read(RULES_SUMMARY.at(run_dir)).rules
    tonight = pd.read_parquet(WARNINGS.at(run_dir), columns=["rule", "match_confidence"])
    for o in outcomes:
        mine = tonight.loc[tonight["rule"] == o.id, "match_confidence"]
        assert o.expected_wrong_link == pytest.approx(float((1 - mine.fillna(1.0)).sum()), abs=0.01)
    manifest = json.loads((run_dir / "run_manifest.json").read_text(encoding="utf-8"))
    assert {"expected", "low", "high"} <= set(manifest["linkage_errors"]["false_links"])


@pytest.mark.slow
def test_libreoffice_converts_every_workbook_to_pdf(run_dir: Path, tmp_path: Path) -> None:
    books = sorted(TOWNSHIPS.at(run_dir).rglob("*.xlsx")) + [SUMMARY_XLSX.at(run_dir)]
    done = libreoffice(books, "pdf", tmp_path / "pdf", tmp_path / "lo-profile")
    assert done.returncode == 0, done.stderr
    for book in books:
        pdf = tmp_path / "pdf" / (book.stem + ".pdf")
        assert pdf.exists(), f"{book.name}: {done.stdout} {done.stderr}"
        data = pdf.read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", data))
        assert data.startswith(b"%PDF") and pages >= (1 if book.name == "summary.xlsx" else 3), book.name
    # Printed on A4 at 9 pt or more: every character of every page of every township's workbook
    # (the list, 待回访, 规则说明, 填写说明, page headers and footers), as LibreOffice lays it out.
    smallest = {}
    for book in books[:-1]:
        pdf = tmp_path / "pdf" / (book.stem + ".pdf")
        sizes = printed_sizes(pdf)
        smallest[book.name] = min(size for page in sizes for size in page)
        width, height = pdf_page_size(pdf)
        assert (round(width), round(height)) == (842, 595), f"{book.name}: not A4 landscape"
    assert min(smallest.values()) >= PRINTED_MIN_PT, sorted(smallest.items(), key=lambda kv: kv[1])[:3]


@pytest.mark.slow
def test_chromium_renders_the_summary_with_its_charts(run_dir: Path, tmp_path: Path) -> None:
    chromium = program("chromium", "chromium-browser", "google-chrome")
    shot = tmp_path / "summary.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--hide-scrollbars",
    ]
    done = subprocess.run(
        [
            chromium,
            *flags,
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            SUMMARY_HTML.at(run_dir).as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.exists(), done.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 2400)
    assert len(data) > 60_000  # a blank or failed page compresses to a few kilobytes
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", SUMMARY_HTML.at(run_dir).as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert dom.count('class="bar"') >= 10 and "<polyline" in dom and "按乡镇" in dom


@pytest.mark.slow
def test_libreoffice_reads_the_validations_locks_and_ids_as_written(run_dir: Path, tmp_path: Path) -> None:
    """Saved again by a real spreadsheet program, the workbook keeps what the township relies on."""
    book = max(TOWNSHIPS.at(run_dir).rglob("*.xlsx"), key=lambda p: p.stat().st_size)
    done = libreoffice([book], "xlsx:Calc MS Excel 2007 XML", tmp_path / "resaved", tmp_path / "lo-profile")
    assert done.returncode == 0, done.stderr
    ws = openpyxl.load_workbook(tmp_path / "resaved" / book.name)[SHEET_LIST]
    last = ws.max_row
    assert ws.protection.sheet and ws.print_title_rows == f"${HEADER_ROW + 1}:${HEADER_ROW + 1}"
    kinds = {dv.type: str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert kinds == {
        "list": data_range(letter("verdict"), last),
        "date": data_range(letter("fill_date"), last),
    }
    id_col = [c.header for c in COLUMNS].index("身份证号") + 1
    for r in range(FIRST_DATA_ROW + 1, last + 1):
        cell = ws.cell(r, id_col)
        assert cell.value is None or (cell.data_type == "s" and len(cell.value) == 18)
        verdict = next(i for i, c in enumerate(COLUMNS) if c.kind == "verdict") + 1
        assert ws.cell(r, 1).protection.locked and not ws.cell(r, verdict).protection.locked


@pytest.mark.slow
def test_the_published_folder_holds_only_what_people_may_open_and_links_stay_inside(run_dir: Path) -> None:
    from pipeline.contracts import INDEX_HTML, PUBLISH, STEWARD_HTML

    publish = run_dir / PUBLISH
    files = [p for p in publish.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".xlsx", ".html"}
    assert {p.name for p in files if p.suffix == ".html"} == {"summary.html", "index.html"}
    assert not any(p.suffix == ".parquet" or "rejected" in p.name or "review" in p.name for p in files)
    for page in (SUMMARY_HTML.at(run_dir), INDEX_HTML.at(run_dir)):
        hrefs = re.findall(r'href="([^"#]+)"', page.read_text(encoding="utf-8"))
        assert hrefs
        for href in hrefs:
            target = (page.parent / href).resolve()
            assert target.is_relative_to(publish.resolve()) and target.exists(), (page.name, href)
    # The steward's page, internal, reaches the published pages.
    steward = STEWARD_HTML.at(run_dir)
    for href in re.findall(r'href="([^"#]+)"', steward.read_text(encoding="utf-8")):
        assert (steward.parent / href).exists(), href


@pytest.mark.slow
def test_the_quality_page_opens_offline_and_lists_every_rejected_row(run_dir: Path) -> None:
    """data_quality/index.html in Chromium with the network cut: its tables show, nothing is
    fetched from elsewhere, and every row of every rejected-rows workbook is named by file and row."""
    import shutil

    from playwright.sync_api import sync_playwright

    from pipeline.contracts import QUALITY, QUALITY_HTML, REJECTED, STEWARD_HTML, QualitySummary

    page_path = QUALITY_HTML.at(run_dir)
    assert QUALITY_HTML.path in STEWARD_HTML.at(run_dir).read_text(encoding="utf-8")  # linked
    summary = QualitySummary.read(QUALITY.at(run_dir))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `make test` installs Debian's chromium"
    fetched: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(offline=True)
            context.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort(),
            )
            page = context.new_page()
            page.on("request", lambda r: fetched.append(r.url))
            page.goto(page_path.as_uri())
            text = page.inner_text("body")
            sections = page.locator("h2").all_inner_texts()
            check_rows = page.locator("table.checks tr").count()
            visible = page.locator("table.checks").first.is_visible()
        finally:
            browser.close()
    assert all(u.startswith("file://") for u in fetched), fetched
    assert visible and check_rows > 1
    for key, e in summary.sources.items():
        assert any(e.label in s for s in sections), key
        assert f"读取 {e.rows_read:,} 行" in text.replace("\n", " ")
    assert not re.search(r"\b\d{8}\.0\b", text), "dates must read as dates"
    # Every rejected row, by its file and row number as the department counts them.
    named: dict[str, set[int]] = {}
    for cell in re.findall(r"([^;\n\t]+?) 第([0-9–、]+)行", text):
        numbers = named.setdefault(cell[0].strip(), set())
        for part in cell[1].split("、"):
            lo, _, hi = part.partition("–")
            numbers.update(range(int(lo), int(hi or lo) + 1))
    for key in summary.ok_sources():
        ws = openpyxl.load_workbook(REJECTED.at(run_dir, key), read_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if r and "行号" in r)
        file_col, row_col = rows[head].index("文件"), rows[head].index("行号")
        for r in rows[head + 1 :]:
            if r and r[row_col] is not None:
                assert int(r[row_col]) in named.get(str(r[file_col]), set()), (key, r[file_col], r[row_col])
    assert sum(e.rejected for e in summary.sources.values()) > 0  # the sample has rejected rows
