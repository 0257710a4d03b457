"""Initial schema: requests and approvers, conversations, sent cards, jobs, audit log.

Hand-written and portable: the same operations run on SQLite and PostgreSQL. Column types come
from `bot.store.types`, which pick a per-dialect storage for datetimes, JSON and big ids.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.types import BigId, Duration, JsonDocument, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("requester_id", sa.String(64), nullable=False),
        sa.Column("requester_tenant_id", sa.String(64), nullable=False),
        sa.Column("requester_display_name", sa.Text, nullable=False),
        sa.Column("requester_upn", sa.Text, nullable=False),
        sa.Column("role_id", sa.String(64), nullable=False),
        sa.Column("role_display_name", sa.Text, nullable=False),
        sa.Column("role_description", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("duration", Duration, nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("ticket_number", sa.Text, nullable=True),
        sa.Column("ticket_system", sa.Text, nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("require_mfa", sa.Boolean, nullable=False),
        sa.Column("mfa_verified_at", UtcDateTime, nullable=True),
        sa.Column("decided_by_id", sa.String(64), nullable=True),
        sa.Column("decided_by_tenant_id", sa.String(64), nullable=True),
        sa.Column("decided_by_display_name", sa.Text, nullable=True),
        sa.Column("decided_by_upn", sa.Text, nullable=True),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.Column("decision_reason", sa.Text, nullable=False),
        sa.Column("graph_request_id", sa.String(64), nullable=True),
        sa.Column("start_at", UtcDateTime, nullable=True),
        sa.Column("end_at", UtcDateTime, nullable=True),
        sa.Column("failure", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_requests_requester_state", "requests", ["requester_id", "state"])
    op.create_index("ix_requests_state", "requests", ["state"])

    op.create_table(
        "request_approvers",
        sa.Column(
            "request_id",
            sa.String(64),
            sa.ForeignKey("requests.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("approver_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_request_approvers_approver", "request_approvers", ["approver_id"])

    op.create_table(
        "conversations",
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("service_url", sa.Text, nullable=False),
        sa.Column("teams_id", sa.Text, nullable=False),
        sa.Column("bot_id", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("reference", JsonDocument, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_conversations_tenant_updated", "conversations", ["tenant_id", "updated_at"])

    op.create_table(
        "sent_cards",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "request_id",
            sa.String(64),
            sa.ForeignKey("requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("activity_id", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "request_id", "person_id", "purpose", name="uq_sent_cards_request_person"
        ),
    )

    op.create_table(
        "jobs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("payload", JsonDocument, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("locked_by", sa.String(255), nullable=True),
        sa.Column("locked_until", UtcDateTime, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_jobs_dedupe_key"),
    )
    op.create_index("ix_jobs_status_due", "jobs", ["status", "due_at"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("ticket", sa.Text, nullable=True),
        sa.Column("graph_request_id", sa.String(64), nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_request", "audit_log", ["request_id"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(audit_head, [{"id": 1, "last_id": 0, "last_hash": GENESIS_HASH}])


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_log",
        "jobs",
        "sent_cards",
        "conversations",
        "request_approvers",
        "requests",
    ):
        op.drop_table(table)
