"""Imported files (a second import of the same file is a no-op), county routing, revisits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("township_code", sa.String(12)),
        sa.Column("imported_at", sa.DateTime, nullable=False),
        sa.Column("rows_applied", sa.Integer, nullable=False),
        sa.Column("rows_unchanged", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("by_user", sa.Text),
    )
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("routed_township_code", sa.String(12)))
        batch.add_column(sa.Column("sent_on", sa.Date))
        batch.add_column(sa.Column("revisit_answer", sa.Text))
        batch.add_column(sa.Column("revisit_date", sa.Date))
        batch.add_column(sa.Column("revisit_note", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("revisit_note")
        batch.drop_column("revisit_date")
        batch.drop_column("revisit_answer")
        batch.drop_column("sent_on")
        batch.drop_column("routed_township_code")
    op.drop_table("imports")
