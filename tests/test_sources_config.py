"""The sources file loads, round-trips, and a broken one is reported whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.errors import ConfigError
from pipeline.schema import FIELD_KINDS, Kind
from pipeline.sources import SourcesConfig, dump_sources, load_sources


def test_the_eleven_sources_with_their_standard_headers(cfg: SourcesConfig) -> None:
    assert [s.key for s in cfg.sources] == [
        "monitoring",
        "disability",
        "assistance",
        "subsidy",
        "medical",
        "deaths",
        "students",
        "hotline",
        "reports",
        "vehicles",
        "property",
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


def test_on_bad_is_reject_or_blank_and_never_blanks_a_required_value(tmp_path: Path) -> None:
    p = tmp_path / "sources.yaml"
    body = {
        "sources": {
            "a": {
                "fields": {
                    "age": {"headers": ["年龄"], "on_bad": "drop"},
                    "name": {"headers": ["姓名"], "not_null": True, "on_bad": "blank"},
                }
            }
        }
    }
    p.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_sources(p)
    assert "'on_bad' must be 'reject' or 'blank'" in str(e.value)
    assert "a not_null field cannot be blanked" in str(e.value)


def _validated(cfg: SourcesConfig, source: str, raw: Any) -> tuple[Any, Any, Any]:
    """Rows as read (every cell text) through normalize and validate, on 2026-11-29: (accepted,
    rejected, summary)."""
    from datetime import date

    from pipeline.normalize import normalize_source
    from pipeline.normalize.places import Gazetteer
    from pipeline.settings import PROJECT_ROOT
    from pipeline.validate import Validator

    gaz = Gazetteer.from_csv(PROJECT_ROOT / "rules" / "reference" / "jiaozuo_townships_2022.csv")
    frame = normalize_source(raw, cfg.by_key(source), cfg, gaz)
    return Validator(cfg, date(2026, 11, 29)).validate(source, frame)


def test_a_bad_value_in_a_blank_field_costs_the_value_not_the_row(cfg: SourcesConfig) -> None:
    """A hospital stay with an unreadable age and an impossible cost total is kept (R05 sums it);
    an unreadable discharge date, which R05 decides on, still rejects its row."""
    import pandas as pd

    from pipeline.validate import REASON

    raw = pd.DataFrame(
        {
            "file": ["m.csv"] * 2,
            "row": [2, 3],
            "settlement_no": ["S1", "S2"],
            "name": ["张三", "李四"],
            "id_number": ["", ""],
            "age": ["七十", "70"],
            "discharge_date": ["2026-10-01", "十月"],
            "total_cost": ["-5", "100"],
            "out_of_pocket": ["21000", "100"],
        }
    )
    accepted, rejected, _ = _validated(cfg, "medical", raw)
    assert list(accepted["row"]) == [2] and list(rejected["row"]) == [3]
    kept = accepted.iloc[0]
    assert pd.isna(kept["age"]) and pd.isna(kept["total_cost"]) and kept["out_of_pocket"] == 21000
    assert "年龄" in kept["flags"] and "已置空" in kept["flags"]
    assert "出院日期" in rejected[REASON].iloc[0]


def test_an_id_number_in_an_amount_column_is_caught_by_the_fields_range(cfg: SourcesConfig) -> None:
    """Plausible values are data (``range`` in rules/sources.yaml): an 18-digit ID pasted into an
    amount column reads as a number, 4.1×10¹⁷, and must never reach a rule's threshold."""
    import pandas as pd

    from pipeline.validate import REASON

    # R05 sums what a stay's patient paid: a value outside the range rejects the row.
    stays = pd.DataFrame(
        {
            "file": ["m.csv"] * 3,
            "row": [2, 3, 4],
            "settlement_no": ["S1", "S2", "S3"],
            "name": ["张三", "李四", "王五"],
            "id_number": ["410822196803150310", "41082219700822042X", "410822195001010011"],
            "discharge_date": ["2026-10-01"] * 3,
            "out_of_pocket": ["410822196803150310", "100", "10000001"],
        }
    )
    accepted, rejected, _ = _validated(cfg, "medical", stays)
    assert list(accepted["row"]) == [3] and sorted(rejected["row"]) == [2, 4]
    assert all("个人自付不合理(应在0到10,000,000之间)" in r for r in rejected[REASON])
    # A field that only informs (on_bad: blank) loses the value, not the row.
    medical = pd.DataFrame(
        {
            "file": ["m.csv"],
            "row": [2],
            "settlement_no": ["S1"],
            "name": ["张三"],
            "id_number": ["410822196803150310"],
            "discharge_date": ["2026-10-01"],
            "total_cost": ["410822196803150310"],
            "out_of_pocket": ["21000"],
        }
    )
    accepted, rejected, _ = _validated(cfg, "medical", medical)
    assert (
        len(accepted) == 1
        and pd.isna(accepted.iloc[0]["total_cost"])
        and "医疗费总额" in accepted.iloc[0]["flags"]
    )


def test_a_range_is_two_bounds_of_the_fields_kind(tmp_path: Path) -> None:
    from datetime import date

    p = tmp_path / "sources.yaml"
    body = {
        "sources": {
            "a": {
                "fields": {
                    "age": {"headers": ["年龄"], "range": [150, 0]},
                    "amount": {"headers": ["金额"], "range": ["a", 5]},
                    "name": {"headers": ["姓名"], "range": [0, 1]},
                    "death_date": {"headers": ["死亡日期"], "range": [date(2000, 1, 1), None]},
                }
            }
        }
    }
    p.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_sources(p)
    msg = str(e.value)
    assert "field 'age': 'range' must be [min, max] of numbers, min <= max" in msg
    assert "field 'amount': 'range' must be" in msg
    assert "field 'name': 'range' must be [min, max] of dates" in msg
    assert "death_date" not in msg  # a date range, open at the top


def test_not_null_unless_id_needs_an_id_field_and_takes_only_its_three_values(tmp_path: Path) -> None:
    p = tmp_path / "sources.yaml"
    body = {
        "sources": {
            "a": {"fields": {"name": {"headers": ["姓名"], "not_null": "unless_id"}}},
            "b": {
                "fields": {
                    "name": {"headers": ["姓名"], "not_null": "sometimes"},
                    "id_number": {"headers": ["身份证号"]},
                }
            },
        }
    }
    p.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_sources(p)
    assert "field 'name': 'not_null: unless_id' needs an id_number field in the source" in str(e.value)
    assert "source 'b', field 'name': 'not_null' must be true, false or unless_id" in str(e.value)


def test_a_blank_name_beside_a_usable_id_keeps_the_row_and_an_unknown_grade_only_its_value(
    cfg: SourcesConfig,
) -> None:
    """A 残联 row whose name was left blank still proves its ID's holder holds a certificate (R01
    and R04 need nothing more); without a usable ID nobody can tell whose it is. An unknown grade
    (五级) is blanked: R02 and R03, which need a grade, see none."""
    import pandas as pd

    from pipeline.validate import REASON

    raw = pd.DataFrame(
        {
            "file": ["d.csv"] * 3,
            "row": [2, 3, 4],
            "name": ["", "", "王五"],
            "id_number": ["410822196803150316", "4108221950", "410822197008220420"],
            "disability_cert": ["41082219680315031642", "", "41082219700822042011"],
            "disability_category": ["肢体"] * 3,
            "disability_grade": ["五级", "一级", "一级"],
        }
    )
    accepted, rejected, summary = _validated(cfg, "disability", raw)
    assert list(accepted["row"]) == [2, 4] and list(rejected["row"]) == [3]
    assert rejected[REASON].iloc[0] == "姓名为空且身份证号无法使用"
    blank = accepted.iloc[0]
    assert pd.isna(blank["name"]) and pd.isna(blank["disability_grade"])
    assert "姓名为空(身份证号有效,已保留该行)" in blank["flags"] and "已置空" in blank["flags"]
    assert accepted.iloc[1]["disability_grade"] == "一级" and accepted.iloc[1]["name"] == "王五"
    assert summary.warnings["姓名为空(身份证号有效,已保留该行)"] == 1
    assert summary.reasons == {"姓名为空且身份证号无法使用": 1}
