"""LibreOffice headless for the tests: convert or re-save files as a real spreadsheet program does."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest


def program(*names: str) -> str:
    for n in names:
        if found := shutil.which(n):
            return found
    pytest.fail(f"none of {names} is installed: run `make test`, which installs it with apt-get")


def libreoffice(
    files: Sequence[Path], to: str, outdir: Path, profile: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``soffice --headless --convert-to <to>`` with a profile of its own (never the user's)."""
    return subprocess.run(
        [
            program("soffice", "libreoffice"),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            to,
            "--outdir",
            str(outdir),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def printed_sizes(pdf: Path) -> list[dict[float, int]]:
    """Per page of ``pdf``: how many characters are printed at each font size (points, one decimal),
    as pdfminer reads them (the size a reader sees on paper: the cell's size times the print scale)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar

    pages = []
    for page in extract_pages(pdf):
        counts: dict[float, int] = {}
        stack: list[Any] = [page]
        while stack:
            o = stack.pop()
            if isinstance(o, LTChar):
                size = round(o.size, 1)
                counts[size] = counts.get(size, 0) + 1
            elif hasattr(o, "__iter__"):
                stack.extend(o)
        pages.append(counts)
    return pages


def pdf_page_size(pdf: Path) -> tuple[float, float]:
    """(width, height) in points of the first page of ``pdf``."""
    from pdfminer.high_level import extract_pages

    page = next(iter(extract_pages(pdf, maxpages=1)))
    return page.width, page.height
