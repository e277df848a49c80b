"""The db_url fixture gives an empty, working database on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, inspect, select


def test_round_trip_chinese_text(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []  # each test starts from an empty database
        metadata = MetaData()
        cases = Table(
            "cases",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("name", String(100), nullable=False),
            Column("county", String(100), nullable=False),
        )
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(cases).values(id=1, name="张三丰", county="宝山区"))
        with engine.connect() as conn:
            row = conn.execute(select(cases.c.name, cases.c.county).where(cases.c.id == 1)).one()
        assert tuple(row) == ("张三丰", "宝山区")
    finally:
        engine.dispose()
