"""Text written into a spreadsheet cell, made safe: one rule for every workbook the system writes."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text a spreadsheet would read as a formula, prefixed with ' so it stays text everywhere
    (also in a CSV saved from the workbook).

    >>> neutralise('=HYPERLINK("http://x")'), neutralise("张三")
    ('\\'=HYPERLINK("http://x")', '张三')
    """
    return "'" + text if text.startswith(_FORMULA_START) else text
