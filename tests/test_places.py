"""Township resolution against the reference table: suffixes, prefixes, addresses, ambiguity."""

from __future__ import annotations

import re

import pytest

from pipeline.normalize.places import Gazetteer, default_gazetteer_path


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_csv(default_gazetteer_path())


def test_reference_table_is_complete(gaz: Gazetteer) -> None:
    assert len(gaz.townships) == 112
    assert len(gaz.counties) == 11


@pytest.mark.parametrize(
    ("county", "township", "code"),
    [
        ("410822", "磨头镇", "410822105"),
        ("410822", "磨头", "410822105"),  # suffix missing
        ("410822", "博爱县磨头镇", "410822105"),  # county prefix
        (None, "博爱县磨头镇", "410822105"),  # the prefix tells the county
        ("410882", "太行街道", "410882003"),  # 太行街道 of 沁阳市 ...
        ("410811", "太行街道", "410811004"),  # ... and of 山阳区
        (None, "太行街道", None),  # never guessed across counties
        ("410882", "太行办事处", "410882003"),
        ("410823", "武陟宁郭农场", "410823598"),  # a name that starts with its county's name
        ("410822", "不存在镇", None),
    ],
)
def test_township_lookup(gaz: Gazetteer, county: str | None, township: str, code: str | None) -> None:
    assert gaz.township_code(county, township) == code


def test_address_fallback(gaz: Gazetteer) -> None:
    assert gaz.township_code("410822", None, "河南省焦作市博爱县磨头镇东村12号") == "410822105"
    assert gaz.township_code(None, None, "河南省焦作市博爱县磨头镇东村12号") == "410822105"
    assert gaz.township_code(None, None, "焦作市太行街道某社区") is None  # two counties have it


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("博爱县", "410822"),
        ("焦作市博爱县", "410822"),
        ("博爱", "410822"),
        ("温", "410825"),
        ("410822", "410822"),
        ("焦作城乡一体化示范区", "410871"),
        ("孟县", "410883"),
        ("焦作市温县医保中心", "410825"),
        ("郑州市", None),
    ],
)
def test_county_lookup(gaz: Gazetteer, raw: str, code: str | None) -> None:
    assert gaz.county_code(raw) == code


def test_every_reference_township_resolves_in_every_written_form(gaz: Gazetteer) -> None:
    for t in gaz.townships:
        bare = re.sub("(街道|镇|乡)$", "", t.name)
        assert gaz.township_code(t.county_code, t.name) == t.code
        assert gaz.township_code(t.county_code, bare) == t.code, t.name
        assert gaz.township_code(None, t.county + t.name) == t.code
        assert gaz.township_code(t.county_code, "焦作市" + t.county + t.name) == t.code
