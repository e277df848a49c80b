"""Dates as departments write them: ISO, slashes, dots, 8 digits, 年月日, Excel serial numbers."""

from __future__ import annotations

import re
from datetime import date, timedelta

from pipeline.normalize.common import clean_text

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_YM = re.compile(r"^(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?$")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0, accounting for its 1900 leap-year bug
# Serial numbers outside this window are more likely amounts or codes than dates.
_SERIAL_MIN, _SERIAL_MAX = 10000, 73051  # 1927-05-18 .. 2099-12-31


def _mk(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_date(raw: object) -> date | None:
    """Parse one date cell; None if blank or unreadable.

    >>> [parse_date(v) for v in ["2024-03-05", "2024/3/5", "20240305", "2024.3.5", "2024年3月5日", "45356"]]
    ... # doctest: +NORMALIZE_WHITESPACE
    [datetime.date(2024, 3, 5), datetime.date(2024, 3, 5), datetime.date(2024, 3, 5),
     datetime.date(2024, 3, 5), datetime.date(2024, 3, 5), datetime.date(2024, 3, 5)]
    """
    s = clean_text(raw)
    if s is None:
        return None
    m = _YMD.match(s)
    if m:
        return _mk(int(m[1]), int(m[2]), int(m[3]))
    m = _COMPACT.match(s)
    if m:
        return _mk(int(m[1]), int(m[2]), int(m[3]))
    m = _SERIAL.match(s)
    if m and _SERIAL_MIN <= int(m[1]) <= _SERIAL_MAX:
        return _EXCEL_EPOCH + timedelta(days=int(m[1]))
    return None


def parse_month(raw: object) -> date | None:
    """A year and month (发放年月) as the first of the month; full dates are accepted too.

    >>> parse_month("202403"), parse_month("2024年3月"), parse_month("2024-03-15")
    (datetime.date(2024, 3, 1), datetime.date(2024, 3, 1), datetime.date(2024, 3, 1))
    """
    s = clean_text(raw)
    if s is None:
        return None
    m = _YM.match(s)
    if m:
        return _mk(int(m[1]), int(m[2]), 1)
    if len(s) == 6 and s.isdigit():
        return _mk(int(s[:4]), int(s[4:]), 1)
    d = parse_date(s)
    return d.replace(day=1) if d else None
