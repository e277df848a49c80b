"""The case store on SQLite and PostgreSQL: migrations, the audit trail, the old history file, copies."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipeline.cases.db import current_revision, engine_for, upgrade
from pipeline.cases.store import HISTORY_FILE, CaseStore, Origin, as_frame, empty_frame
from pipeline.state import StateStore

D = date(2026, 11, 2)


def one_case(wid: str = "R03-P1", **kw: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(empty_frame().columns)
    row.update(
        warning_id=wid,
        rule=wid.split("-")[0],
        person_id=wid.split("-")[1],
        status="new",
        first_seen=D,
        last_seen=D,
        hold_person=False,
        name="孟平",
    )
    row.update(kw)
    return row


def test_the_migrations_run_from_an_empty_database_and_from_the_previous_revision(db_url: str) -> None:
    engine = engine_for(db_url)
    try:
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        with engine.begin() as conn:  # a case written by the previous release
            conn.execute(
                sa.text(
                    "INSERT INTO cases (warning_id, rule, person_id, status, first_seen, last_seen,"
                    " hold_person) VALUES ('R05-P7', 'R05', 'P7', 'sent', :d, :d, false)"
                ),
                {"d": D},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO audit (warning_id, field, old, new, at) VALUES ('R05-P7', 'status',"
                    " 'new', 'sent', :t)"
                ),
                {"t": datetime(2026, 11, 1, 2, 0)},
            )
        upgrade(engine)
        assert current_revision(engine) == "0003"
        columns = {c["name"] for c in sa.inspect(engine).get_columns("cases")}
        assert {"routed_township_code", "sent_on", "revisit_answer"} <= columns
        assert "imports" in sa.inspect(engine).get_table_names()
        with engine.begin() as conn:  # the old trail reads as case changes; accesses fit beside it
            assert conn.execute(sa.text("SELECT event FROM audit")).scalar_one() == "change"
            conn.execute(
                sa.text("INSERT INTO audit (event, at, by_user, result) VALUES ('login', :t, 'u', 'ok')"),
                {"t": datetime(2026, 11, 2, 9, 0)},
            )
    finally:
        engine.dispose()
    store = CaseStore(db_url)  # opening migrates to the newest revision (here: nothing to do)
    try:
        kept = store.frame()
        assert kept["warning_id"].tolist() == ["R05-P7"] and kept["status"].tolist() == ["sent"]
    finally:
        store.dispose()


def test_save_writes_only_what_changed_and_audits_each_field(db_url: str) -> None:
    store = CaseStore(db_url)
    try:
        with store.begin() as conn:
            assert store.save(conn, empty_frame(), as_frame([one_case()]), Origin(run_date=D)) == 1
        before = store.frame()
        after = before.copy()
        after.loc[0, "status"] = "closed"
        after.loc[0, "answer"] = "不符合"
        with store.begin() as conn:
            written = store.save(conn, before, after, Origin(by_file="磨头镇.xlsx", rows={"R03-P1": 7}))
        assert written == 1
        with store.begin() as conn:  # nothing changed: nothing written, nothing audited
            assert store.save(conn, store.frame(conn), store.frame(conn), Origin(run_date=D)) == 0
        trail = store.table("audit").sort_values("id")
        assert trail["field"].tolist() == ["created", "status", "answer"]
        status = trail.iloc[1]
        assert (status["old"], status["new"], status["by_file"], status["by_row"]) == (
            "new",
            "closed",
            "磨头镇.xlsx",
            7,
        )
        assert pd.isna(trail.iloc[2]["old"]) and trail.iloc[2]["new"] == "不符合"
        assert store.frame().loc[0, "answer"] == "不符合"
    finally:
        store.dispose()


def test_cases_changed_in_different_fields_are_written_as_they_are_after(db_url: str) -> None:
    # A night changes the quiet bookkeeping date of every case and, on some, other fields: each case
    # is written as its changed fields (one UPDATE per set of fields), the rest left as they were.
    store = CaseStore(db_url)
    try:
        with store.begin() as conn:
            store.save(conn, empty_frame(), as_frame([one_case(f"R03-P{i}") for i in range(4)]), Origin())
        before = store.frame().sort_values("warning_id", ignore_index=True)
        after = before.copy()
        later = date(2026, 11, 3)
        after["last_seen"] = later
        after.loc[1, ["status", "sent_on"]] = ["sent", later]
        after.loc[2, "hold_person"] = True
        after.loc[3, ["status", "answer"]] = ["closed", "不符合"]
        with store.begin() as conn:
            assert store.save(conn, before, after, Origin(run_date=later)) == 4
        pd.testing.assert_frame_equal(store.frame().sort_values("warning_id", ignore_index=True), after)
        trail = store.table("audit").sort_values("id")
        changes = trail[trail["field"] != "created"]
        assert sorted(zip(changes["warning_id"], changes["field"], changes["new"], strict=True)) == [
            ("R03-P1", "sent_on", "2026-11-03"),
            ("R03-P1", "status", "sent"),
            ("R03-P2", "hold_person", "true"),
            ("R03-P3", "answer", "不符合"),
            ("R03-P3", "status", "closed"),
        ]
    finally:
        store.dispose()


def test_a_transaction_that_fails_leaves_no_case_and_no_audit_row(db_url: str) -> None:
    store = CaseStore(db_url)
    try:
        try:
            with store.begin() as conn:
                store.save(conn, empty_frame(), as_frame([one_case()]), Origin(run_date=D))
                raise RuntimeError("killed half-way")
        except RuntimeError:
            pass
        assert store.count() == 0 and store.table("audit").empty
    finally:
        store.dispose()


def test_the_old_warning_history_moves_into_the_store_with_its_first_dates(
    tmp_path: Path, db_url: str
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    pd.DataFrame(
        {
            "warning_id": ["R01-P0000000001", "R05-P0000000002"],
            "first_seen": pd.to_datetime(["2026-10-01", "2026-11-20"]),
            "last_seen": pd.to_datetime(["2026-11-29", "2026-11-29"]),
        }
    ).to_parquet(state / HISTORY_FILE)
    store = StateStore(state, None if db_url.startswith("sqlite") else db_url).cases()
    try:
        cases = store.frame().set_index("warning_id")
        assert cases.loc["R01-P0000000001", "first_seen"] == date(2026, 10, 1)
        assert cases.loc["R05-P0000000002", "rule"] == "R05"
        assert cases.loc["R05-P0000000002", "person_id"] == "P0000000002"
        assert set(cases["status"]) == {"sent"} and cases.loc["R01-P0000000001", "sent_on"] == date(
            2026, 10, 1
        )
        assert not (state / HISTORY_FILE).exists() and (state / (HISTORY_FILE + ".migrated")).exists()
        assert set(store.table("audit")["by_file"]) == {HISTORY_FILE}
    finally:
        store.dispose()


def test_a_dry_runs_copy_has_every_case_and_changes_never_reach_the_original(
    tmp_path: Path, db_url: str
) -> None:
    real = StateStore(tmp_path / "state", None if db_url.startswith("sqlite") else db_url)
    try:
        with real.cases().begin() as conn:
            real.cases().save(
                conn, empty_frame(), as_frame([one_case(), one_case("R05-P2")]), Origin(run_date=D)
            )
        copy = real.copy_to(tmp_path / "dry" / "state")
        assert sorted(copy.cases().frame()["warning_id"]) == ["R03-P1", "R05-P2"]
        assert copy.cases().url.startswith("sqlite:///")  # always a throw-away file
        before = copy.cases().frame()
        after = before.assign(status="closed")
        with copy.cases().begin() as conn:
            copy.cases().save(conn, before, after, Origin(run_date=D))
        assert set(real.cases().frame()["status"]) == {"new"}
        copy.close()
    finally:
        real.close()
