"""Dates, phones, money, counts, yes/no and enumerations, hand-worked."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.normalize.dates import parse_date, parse_month
from pipeline.normalize.values import (
    Unreadable,
    normalize_enum,
    normalize_phone,
    normalize_sex,
    parse_int,
    parse_money,
    parse_yesno,
)
from pipeline.sample import DATE_STYLES, _fmt_date


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/3/5",
        "20240305",
        "2024.03.05",
        "2024年3月5日",
        "45356",  # Excel serial: 45356 days after 1899-12-30
        "2024-03-05 00:00:00",
        "２０２４－０３－０５",  # full-width
    ],
)
def test_date_formats(raw: str) -> None:
    assert parse_date(raw) == date(2024, 3, 5)


@pytest.mark.parametrize("raw", ["2024-02-30", "2024", "昨天", "13/45/2024", "123"])
def test_unreadable_dates_are_none(raw: str) -> None:
    assert parse_date(raw) is None


@pytest.mark.parametrize("style", DATE_STYLES)
def test_every_generator_date_style_is_read(style: str) -> None:
    assert parse_date(_fmt_date(date(2023, 1, 9), style)) == date(2023, 1, 9)


def test_months() -> None:
    assert parse_month("2026-10") == parse_month("202610") == parse_month("2026年10月") == date(2026, 10, 1)
    assert parse_month("2026-13") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0391 1234", "13803911234"),
        ("+86-138-0391-1234", "13803911234"),
        ("0391-2345678", "03912345678"),
        ("13803911234.0", "13803911234"),
        ("1.38039E+10", None),
        ("无", None),
        ("123", None),
    ],
)
def test_phones(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_money_ints_yesno_sex() -> None:
    assert parse_money("1,234.50") == 1234.5
    assert parse_money("￥650元") == 650.0
    assert parse_money("-50.00") == -50.0  # read; validation rejects the negative amount
    with pytest.raises(Unreadable):
        parse_money("八十")
    assert parse_int("3人") == 3 and parse_int("45岁") == 45
    with pytest.raises(Unreadable):
        parse_int("三")
    assert parse_yesno("否") is False and parse_yesno("Y") is True
    with pytest.raises(Unreadable):
        parse_yesno("待定")
    assert normalize_sex("男性") == "男" and normalize_sex("F") == "女" and normalize_sex("未知") is None


def test_enum_spellings() -> None:
    spellings = {"1级": "一级", "一级": "一级"}
    assert normalize_enum(" 1级", spellings) == "一级"
    assert normalize_enum("五级", spellings) == "五级"  # unknown values pass through; validation rejects
