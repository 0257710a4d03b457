"""Sent copies of the four-eyes cards, so that every copy is updated when a change moves on.

Each admin asked to decide, and the admin who asked, gets a card about the change; a decision,
and the change being carried out, done or failed, redraws each recorded copy in place (as
`sent_cards` does for the cards of an activation request).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_change_cards",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "change_id",
            sa.String(64),
            sa.ForeignKey("admin_changes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("activity_id", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "change_id", "person_id", "purpose", name="uq_admin_change_cards_change_person"
        ),
    )


def downgrade() -> None:
    op.drop_table("admin_change_cards")
