"""Households, hand-worked: a monitored family and its 低保 roster merge through a shared member."""

from __future__ import annotations

import pandas as pd

from pipeline import schema as S
from pipeline.households import (
    ACTIVE_ASSISTANCE,
    ACTIVE_DIBAO,
    DIBAO_EDGE,
    HOUSEHOLD_KEY,
    URBAN,
    build,
    id_holders,
)
from pipeline.normalize.common import mode_by
from pipeline.normalize.places import Gazetteer, default_gazetteer_path

GAZ = Gazetteer.from_csv(default_gazetteer_path())


def row(source: str, n: int, person: str, **kw: object) -> tuple[dict[str, object], dict[str, object]]:
    rec = {S.SOURCE: source, S.FILE: "f.csv", S.ROW: n, **kw}
    return rec, {S.SOURCE: source, S.FILE: "f.csv", S.ROW: n, "person_id": person}


def frames(rows: list[tuple[dict[str, object], dict[str, object]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    records = pd.DataFrame([r for r, _ in rows])
    for c in S.RECORD_COLUMNS:
        if c not in records:
            records[c] = None
    return records, pd.DataFrame([i for _, i in rows])


def test_monitoring_and_assistance_households_merge_through_a_member() -> None:
    town = {S.TOWNSHIP_CODE: "410822105", S.COUNTY_CODE: "410822"}  # 磨头镇: rural
    records, index = frames(
        [
            row("monitoring", 2, "A", **{S.HOUSEHOLD_NO: "H1"}, **town),
            row("monitoring", 3, "B", **{S.HOUSEHOLD_NO: "H1"}, **town),
            # The 低保 roster lists A as head and C as member: C joins A's monitored household.
            row(
                "assistance",
                2,
                "A",
                **{
                    S.HEAD_ID: "X",
                    S.HEAD_ID_STATUS: "valid",
                    S.ASSISTANCE_CATEGORY: "农村低保",
                    S.ASSISTANCE_STATUS: "正常",
                },
                **town,
            ),
            row(
                "assistance",
                3,
                "C",
                **{
                    S.HEAD_ID: "X",
                    S.HEAD_ID_STATUS: "valid",
                    S.ASSISTANCE_CATEGORY: "农村低保",
                    S.ASSISTANCE_STATUS: "正常",
                },
                **town,
            ),
            row(
                "disability", 2, "D", **{S.TOWNSHIP_CODE: "410802001", S.COUNTY_CODE: "410802"}
            ),  # 民生街道: urban
            row(
                "assistance",
                4,
                "E",
                **{
                    S.HEAD_ID: "Y",
                    S.HEAD_ID_STATUS: "valid",
                    S.ASSISTANCE_CATEGORY: "城市低保",
                    S.ASSISTANCE_STATUS: "停发",
                },
            ),
            row(
                "assistance",
                5,
                "F",
                **{
                    S.HEAD_ID: "Z",
                    S.HEAD_ID_STATUS: "valid",
                    S.ASSISTANCE_CATEGORY: "低保边缘",
                    S.ASSISTANCE_STATUS: "正常",
                },
            ),
        ]
    )
    h = build(records, index, GAZ).set_index("person_id")
    assert h.loc["A", HOUSEHOLD_KEY] == h.loc["B", HOUSEHOLD_KEY] == h.loc["C", HOUSEHOLD_KEY] == "M:H1"
    assert h.loc[["A", "B", "C"], ACTIVE_DIBAO].all() and h.loc[["A", "B", "C"], ACTIVE_ASSISTANCE].all()
    assert h.loc["A", URBAN] is False and h.loc["A", "household_size"] == 3
    assert (
        h.loc["D", HOUSEHOLD_KEY] == "P:D" and h.loc["D", URBAN] is True and not h.loc["D", ACTIVE_ASSISTANCE]
    )
    assert not h.loc["E", ACTIVE_ASSISTANCE]  # 停发 is not active
    assert h.loc["F", DIBAO_EDGE] and not h.loc["F", ACTIVE_ASSISTANCE]  # 低保边缘 is not assistance


def test_a_tie_goes_to_the_value_seen_first_among_the_keys_own_rows() -> None:
    # ID 甲 is carried once by P2 and once by P1 (P2's row first); P1 also appears earlier on
    # another ID. The tie for 甲 goes to P2, seen first among 甲's rows, wherever else P1 is seen;
    # so the holders found among some IDs are those found among all of them.
    r = pd.DataFrame(
        {
            S.ID_NUMBER: ["乙", "甲", "甲", "乙"],
            S.ID_STATUS: ["valid"] * 4,
            "person_id": ["P1", "P2", "P1", "P1"],
        }
    )
    assert mode_by(r, S.ID_NUMBER, "person_id").to_dict() == {"乙": "P1", "甲": "P2"}
    assert id_holders(r).to_dict() == {"乙": "P1", "甲": "P2"}
    assert id_holders(r, {"甲"}).to_dict() == {"甲": "P2"}
