"""Actions that wait for a person's sign-in (pim engine), so they survive restarts and work on
any replica.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_waits",
        sa.Column("exchange_id", sa.String(128), primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("claims", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("busy_until", UtcDateTime, nullable=True),
    )
    op.create_index("ix_sign_in_waits_expires", "sign_in_waits", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_waits_expires", table_name="sign_in_waits")
    op.drop_table("sign_in_waits")
