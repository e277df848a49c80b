"""The sources file loads, round-trips, and a broken one is reported whole."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.errors import ConfigError
from pipeline.schema import FIELD_KINDS, Kind
from pipeline.sources import SourcesConfig, dump_sources, load_sources


def test_the_seven_sources_with_their_standard_headers(cfg: SourcesConfig) -> None:
    assert [s.key for s in cfg.sources] == [
        "monitoring",
        "disability",
        "assistance",
        "subsidy",
        "medical",
        "deaths",
        "students",
    ]
    standard = {s.key: [f.standard_header for f in s.fields] for s in cfg.sources}
    # The field lists, in its order.
    assert standard["deaths"] == ["姓名", "身份证号", "性别", "死亡日期", "火化日期", "户籍地址", "殡仪馆"]
    assert standard["students"] == [
        "学生姓名",
        "学生身份证号",
        "学校名称",
        "学段",
        "年级",
        "监护人姓名",
        "监护人身份证号",
        "家庭住址",
        "所属乡镇",
    ]
    assert standard["assistance"][:8] == [
        "县(市、区)",
        "乡(镇、街道)",
        "村(社区)",
        "户主姓名",
        "户主身份证号",
        "成员姓名",
        "成员身份证号",
        "与户主关系",
    ]
    assert "家庭年人均纯收入(元)" in standard["monitoring"]
    assert "个人自付" in standard["medical"]


def test_every_enum_field_has_values(cfg: SourcesConfig) -> None:
    for s in cfg.sources:
        for f in s.fields:
            if f.kind is Kind.ENUM:
                assert cfg.enum_values(f.name), f.name
    assert cfg.enum_values("assistance_category") == (
        "城市低保",
        "农村低保",
        "城市特困",
        "农村特困",
        "低保边缘",
    )


def test_round_trip(cfg: SourcesConfig, tmp_path: Path) -> None:
    p = tmp_path / "sources.yaml"
    p.write_text(yaml.safe_dump(dump_sources(cfg), allow_unicode=True, sort_keys=False), encoding="utf-8")
    again = load_sources(p)
    assert again.sources == cfg.sources and again.enums == cfg.enums


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    p = tmp_path / "sources.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "a": {"fields": {"nonsense": {"headers": ["x"]}, "name": {"headers": []}}},
                    "b": {"fields": {"disability_grade": {"headers": ["等级"], "requird": True}}},
                },
                "enums": {"name": {"x": ["y"]}},
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_sources(p)
    msg = str(e.value)
    assert str(p) in msg
    for expected in [
        "'nonsense': unknown canonical field",
        "'name': 'headers' must be",
        "unknown keys ['requird']",
        "'name' is not an enum field",
        "'disability_grade': enum field without",
    ]:
        assert expected in msg


def test_schema_kinds_cover_every_field() -> None:
    assert all(isinstance(k, Kind) for k in FIELD_KINDS.values())
