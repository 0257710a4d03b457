"""Changes admins asked for (the admin side): waiting for a second admin, being carried out, done.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import JsonDocument, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_changes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("target_key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("document", JsonDocument, nullable=False),
    )
    op.create_index("ix_admin_changes_target", "admin_changes", ["target_key"])
    op.create_index("ix_admin_changes_state", "admin_changes", ["state"])


def downgrade() -> None:
    op.drop_index("ix_admin_changes_state", table_name="admin_changes")
    op.drop_index("ix_admin_changes_target", table_name="admin_changes")
    op.drop_table("admin_changes")
