"""The portal's accesses in the audit trail (logins, downloads, uploads, imports), and the indexes
its per-township and per-county pages query by.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot drop NOT NULL in place; Alembic copies the table (once, at upgrade).
    with op.batch_alter_table("audit") as batch:
        batch.alter_column("warning_id", existing_type=sa.String(64), nullable=True)
        batch.alter_column("field", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("event", sa.String(16), nullable=False, server_default="change"))
        batch.add_column(sa.Column("township_code", sa.String(12)))
        batch.add_column(sa.Column("result", sa.Text))
    op.create_index("ix_audit_by_user", "audit", ["by_user"])
    op.create_index("ix_audit_event", "audit", ["event"])
    op.create_index("ix_cases_county_code", "cases", ["county_code"])
    op.create_index("ix_cases_routed_township_code", "cases", ["routed_township_code"])


def downgrade() -> None:
    op.drop_index("ix_cases_routed_township_code", "cases")
    op.drop_index("ix_cases_county_code", "cases")
    op.drop_index("ix_audit_event", "audit")
    op.drop_index("ix_audit_by_user", "audit")
    op.execute("DELETE FROM audit WHERE event <> 'change'")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("result")
        batch.drop_column("township_code")
        batch.drop_column("event")
        batch.alter_column("field", existing_type=sa.String(32), nullable=False)
        batch.alter_column("warning_id", existing_type=sa.String(64), nullable=False)
