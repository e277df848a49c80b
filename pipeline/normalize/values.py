"""Small scalar normalizers: phone, sex, money, integers, yes/no, enumerations, codes."""

from __future__ import annotations

import re

from pipeline.normalize.common import clean_text, squeeze

_NON_DIGIT = re.compile(r"\D")
_MONEY_JUNK = re.compile(r"[,，¥￥元\s]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INT = re.compile(r"^(\d+)(\.0+)?(岁|人|口)?$")


class Unreadable(ValueError):
    """A non-blank value that cannot be read as its kind; the row is quarantined with the reason."""


def normalize_phone(raw: object) -> str | None:
    """Digits only; +86/0086 dropped; mobiles are 11 digits starting with 1. Too short -> None.

    >>> normalize_phone("+86 138-0391-1234"), normalize_phone("0391-2345678"), normalize_phone("无")
    ('13803911234', '03912345678', None)
    """
    s = clean_text(raw)
    if s is None:
        return None
    if re.match(r"^\d(\.\d+)?E\+?\d+$", s, re.IGNORECASE):
        return None  # a spreadsheet float: digits are lost
    d = _NON_DIGIT.sub("", s.removesuffix(".0"))
    for prefix in ("0086", "86"):
        if len(d) == 11 + len(prefix) and d.startswith(prefix) and d[len(prefix)] == "1":
            d = d[len(prefix) :]
    return d if len(d) >= 7 else None


_SEX = {
    "男": "男",
    "男性": "男",
    "M": "男",
    "MALE": "男",
    "1": "男",
    "女": "女",
    "女性": "女",
    "F": "女",
    "FEMALE": "女",
    "2": "女",
}


def normalize_sex(raw: object) -> str | None:
    """男/女 from the usual spellings; anything else -> Unreadable.

    >>> normalize_sex(" 女性 "), normalize_sex("m"), normalize_sex("")
    ('女', '男', None)
    """
    s = squeeze(raw)
    if s is None or s in {"未知", "未说明", "-"}:
        return None
    v = _SEX.get(s.upper())
    if v is None:
        raise Unreadable(f"性别无法识别: {s}")
    return v


def parse_money(raw: object) -> float | None:
    """Amounts in yuan: thousands separators, ¥ and 元 dropped.

    >>> parse_money("1,234.50元"), parse_money("￥650"), parse_money(" ")
    (1234.5, 650.0, None)
    """
    s = clean_text(raw)
    if s is None or s in {"-", "/"}:
        return None
    t = _MONEY_JUNK.sub("", s)
    if not _NUMBER.match(t):
        raise Unreadable(f"金额无法识别: {s}")
    return float(t)


def parse_int(raw: object) -> int | None:
    """Counts and ages: "3", "3人", "45岁", "3.0".

    >>> parse_int("45岁"), parse_int("3.0"), parse_int(None)
    (45, 3, None)
    """
    s = squeeze(raw)
    if s is None:
        return None
    m = _INT.match(s)
    if not m:
        raise Unreadable(f"数值无法识别: {s}")
    return int(m[1])


_YES = {"是", "Y", "YES", "1", "TRUE", "已消除"}
_NO = {"否", "N", "NO", "0", "FALSE", "未消除"}


def parse_yesno(raw: object) -> bool | None:
    """是/否 and common spellings.

    >>> parse_yesno("是"), parse_yesno("n"), parse_yesno("")
    (True, False, None)
    """
    s = squeeze(raw)
    if s is None:
        return None
    u = s.upper()
    if u in _YES:
        return True
    if u in _NO:
        return False
    raise Unreadable(f"是/否无法识别: {s}")


def normalize_enum(raw: object, spellings: dict[str, str]) -> str | None:
    """Map a spelling to its canonical value; unknown values are kept (validation rejects them).

    >>> normalize_enum(" 1级 ", {"1级": "一级"})
    '一级'
    """
    s = squeeze(raw)
    if s is None:
        return None
    return spellings.get(s, s)
