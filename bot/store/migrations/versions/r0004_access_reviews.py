"""Access reviews: what pimbot did per review instance, the decisions taken in Teams (recorded
once, written to Graph once), and where each reviewer's card is.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import JsonDocument, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("instance_key", sa.String(160), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("finished", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("document", JsonDocument, nullable=False),
    )
    op.create_table(
        "review_decisions",
        sa.Column("instance_key", sa.String(160), primary_key=True),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("principal_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("reviewer_id", sa.String(64), nullable=False),
        sa.Column("reviewer_name", sa.Text, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("written_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "review_cards",
        sa.Column("instance_key", sa.String(160), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("activity_id", sa.Text, nullable=False),
        sa.Column("page", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_cards")
    op.drop_table("review_decisions")
    op.drop_table("review_runs")
