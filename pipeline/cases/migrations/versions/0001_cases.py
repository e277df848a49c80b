"""Cases, their audit trail and the feedback rows received.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("warning_id", sa.String(64), primary_key=True),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("person_id", sa.String(64), nullable=False, index=True),
        sa.Column("id_number", sa.String(32)),
        sa.Column("name", sa.String(64)),
        sa.Column("county_code", sa.String(12)),
        sa.Column("township_code", sa.String(12), index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("first_seen", sa.Date, nullable=False),
        sa.Column("last_seen", sa.Date, nullable=False),
        sa.Column("first_published", sa.Date),
        sa.Column("published_on", sa.Date),
        sa.Column("key_facts", sa.Text),
        sa.Column("facts_at_answer", sa.Text),
        sa.Column("answer", sa.Text),
        sa.Column("answer_date", sa.Date),
        sa.Column("answer_note", sa.Text),
        sa.Column("answer_by", sa.Text),
        sa.Column("first_answered", sa.Date),
        sa.Column("suppressed_until", sa.Date),
        sa.Column("hold_person", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("verification", sa.String(16)),
        sa.Column("verified_on", sa.Date),
        sa.Column("closed_reason", sa.String(16)),
        sa.Column("closed_on", sa.Date),
        sa.Column("note", sa.Text),
        sa.Column("previous_answer", sa.Text),
        sa.Column("previous_answer_date", sa.Date),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("warning_id", sa.String(64), nullable=False, index=True),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old", sa.Text),
        sa.Column("new", sa.Text),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("run_date", sa.Date),
        sa.Column("by_file", sa.Text),
        sa.Column("by_row", sa.Integer),
        sa.Column("by_user", sa.Text),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("warning_id", sa.String(64), index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("checker", sa.Text),
        sa.Column("checked_on", sa.Date),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("sheet", sa.Text),
        sa.Column("row", sa.Integer),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("imported_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("audit")
    op.drop_table("cases")
