"""The case store's tables (SQLAlchemy Core) and how a database is opened and brought up to date.

The schema is created and changed only by the Alembic migrations in ``migrations/versions`` (run at
open, so a new release upgrades the bureau's database on its first night). These table objects
describe the newest revision for the code that reads and writes them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

log = logging.getLogger(__name__)

SQLITE_NAME = "cases.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"

metadata = MetaData()

#: One row per warning id: the case's current state.
cases = Table(
    "cases",
    metadata,
    Column("warning_id", String(64), primary_key=True),
    Column("rule", String(8), nullable=False),
    Column("person_id", String(64), nullable=False, index=True),
    Column("id_number", String(32)),
    Column("name", String(64)),
    Column("county_code", String(12), index=True),
    Column("township_code", String(12), index=True),
    Column("routed_township_code", String(12), index=True),  # set by a county routing a 未确定乡镇 row
    Column("status", String(16), nullable=False, index=True),
    Column("first_seen", Date, nullable=False),
    Column("last_seen", Date, nullable=False),
    Column("first_published", Date),
    Column("sent_on", Date),  # published in the current round (reset when a case is sent again)
    Column("published_on", Date),  # the last night it was in a published workbook
    Column("key_facts", Text),  # JSON: the rule's fingerprint facts when last raised
    Column("facts_at_answer", Text),  # JSON: the same when the township answered
    Column("answer", Text),
    Column("answer_date", Date),
    Column("answer_note", Text),
    Column("answer_by", Text),
    Column("first_answered", Date),
    Column("suppressed_until", Date),
    Column("hold_person", Boolean, nullable=False, default=False),
    Column("verification", String(16)),
    Column("verified_on", Date),
    Column("closed_reason", String(16)),  # answer | vanished | person_held
    Column("closed_on", Date),
    Column("note", Text),  # why tonight: what changed, what vanished (shown in the workbook)
    Column("previous_answer", Text),
    Column("previous_answer_date", Date),
    Column("revisit_answer", Text),
    Column("revisit_date", Date),
    Column("revisit_note", Text),
)

#: Every change to a case (event ``change``: what, old -> new, when, by which run, imported file
#: and row, or user), and every access through the portal (event ``login``, ``login_failed``,
#: ``locked``, ``download``, ``upload``, ``import``, ``denied``, ``export``, ``unlock``: user,
#: time, township, file, result). One table, so "who touched this township's list" is one query.
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", String(64), index=True),
    Column("field", String(32)),
    Column("old", Text),
    Column("new", Text),
    Column("at", DateTime, nullable=False),
    Column("run_date", Date),
    Column("by_file", Text),
    Column("by_row", Integer),
    Column("by_user", Text, index=True),
    Column("event", String(16), nullable=False, server_default="change", index=True),
    Column("township_code", String(12)),
    Column("result", Text),
)

#: Every feedback row received, applied or not, with the outcome.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("warning_id", String(64), index=True),
    Column("kind", String(16), nullable=False),  # answer | revisit | route
    Column("answer", Text),
    Column("note", Text),
    Column("checker", Text),
    Column("checked_on", Date),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("sheet", Text),
    Column("row", Integer),
    Column("outcome", String(16), nullable=False),  # applied | unchanged | rejected
    Column("reason", Text),
    Column("imported_at", DateTime, nullable=False),
)

#: Every workbook imported (its content hash makes a second import of the same file a no-op).
imports = Table(
    "imports",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("file_name", Text, nullable=False),
    Column("township_code", String(12)),
    Column("imported_at", DateTime, nullable=False),
    Column("rows_applied", Integer, nullable=False),
    Column("rows_unchanged", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("by_user", Text),
)


def database_url(state: Path, url: str | None) -> str:
    """``url`` (DATABASE_URL) when given, else the SQLite file in the state folder."""
    return url or f"sqlite:///{Path(state) / SQLITE_NAME}"


def engine_for(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_connection.cursor()
            # WAL: a reader (the portal) never blocks the night's writer; a killed writer leaves
            # the file consistent (the last commit is kept, the rest rolled back).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` with the Alembic migrations (from empty or any older one)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
