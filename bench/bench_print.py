"""Benchmark: how the busiest township's workbook prints (pages, font sizes), from LibreOffice's PDF.

    .venv/bin/python bench/bench_print.py --records 1000000

Needs the night of ``bench/bench_night.py`` at the same size (run it first). Converts the township
workbook with the most warnings to PDF with LibreOffice headless (its own profile), reads every
character's printed size with pdfminer.six and prints the pages per sheet and the sizes: what a
township officer gets from the printer. Needs Debian's fonts-crosextra-carlito (`make test`
installs it): without Calibri's metrics LibreOffice lays the columns out a quarter wider.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import households_for, size_args  # noqa: E402

from pipeline.contracts import TOWNSHIPS  # noqa: E402
from pipeline.reports.workbook import FIRST_DATA_ROW, SHEET_LIST  # noqa: E402
from tests.office import printed_sizes  # noqa: E402

RUN_DATE = "2026-11-29"


def warnings_in(book: Path) -> int:
    ws = openpyxl.load_workbook(book, read_only=True)[SHEET_LIST]
    return sum(1 for row in ws.iter_rows(min_row=FIRST_DATA_ROW + 1, max_col=1, values_only=True) if row[0])


def main() -> None:
    a = size_args(__doc__, 1_000_000, 5)
    run_dir = Path(a.work) / f"rules_{households_for(a.records)}_{a.seed}" / "night" / RUN_DATE
    books = [b for b in TOWNSHIPS.at(run_dir).rglob("*.xlsx") if not b.name.endswith("未确定乡镇.xlsx")]
    if not books:
        sys.exit(f"no township workbooks under {run_dir}: run bench/bench_night.py --records {a.records}")
    # The busiest by file size first (cheap), then counted: the top few by size hold the most rows.
    top = sorted(books, key=lambda b: b.stat().st_size, reverse=True)[:5]
    book = max(top, key=warnings_in)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                tmp,
                str(book),
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        pages = printed_sizes(Path(tmp) / (book.stem + ".pdf"))
    every: Counter[float] = Counter()
    for p in pages:
        every.update(p)
    body = max(every, key=lambda s: every[s])
    print(f"== {book.name}: {warnings_in(book):,} warnings, {len(pages)} A4 pages in all (every sheet)")
    print(f"text: most at {body} pt, smallest {min(every)} pt, largest {max(every)} pt")
    print("sizes (pt: characters):", ", ".join(f"{s}: {n:,}" for s, n in sorted(every.items())))


if __name__ == "__main__":
    main()
