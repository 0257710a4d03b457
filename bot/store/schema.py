"""The tables, as SQLAlchemy Core metadata for the stores' queries.

The DDL itself lives in the hand-written migrations under `migrations/versions/`; a test checks
that a migrated database matches this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.store.types import BigId, Duration, JsonDocument, UtcDateTime

metadata = MetaData()

requests = Table(
    "requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("requester_id", String(64), nullable=False),
    Column("requester_tenant_id", String(64), nullable=False),
    Column("requester_display_name", Text, nullable=False),
    Column("requester_upn", Text, nullable=False),
    Column("role_id", String(64), nullable=False),
    Column("role_display_name", Text, nullable=False),
    Column("role_description", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("duration", Duration, nullable=False),
    Column("justification", Text, nullable=False),
    Column("ticket_number", Text, nullable=True),
    Column("ticket_system", Text, nullable=True),
    Column("state", String(32), nullable=False),
    Column("require_mfa", Boolean, nullable=False),
    Column("mfa_verified_at", UtcDateTime, nullable=True),
    Column("decided_by_id", String(64), nullable=True),
    Column("decided_by_tenant_id", String(64), nullable=True),
    Column("decided_by_display_name", Text, nullable=True),
    Column("decided_by_upn", Text, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_reason", Text, nullable=False),
    Column("graph_request_id", String(64), nullable=True),
    Column("start_at", UtcDateTime, nullable=True),
    Column("end_at", UtcDateTime, nullable=True),
    Column("failure", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_requests_requester_state", "requester_id", "state"),
    Index("ix_requests_state", "state"),
)

request_approvers = Table(
    "request_approvers",
    metadata,
    Column(
        "request_id",
        String(64),
        ForeignKey("requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("approver_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # keeps approver_ids in their given order
    Index("ix_request_approvers_approver", "approver_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("person_id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("service_url", Text, nullable=False),
    Column("teams_id", Text, nullable=False),
    Column("bot_id", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("timezone", String(64), nullable=True),
    Column("reference", JsonDocument, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_conversations_tenant_updated", "tenant_id", "updated_at"),
)

sent_cards = Table(
    "sent_cards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(64),
        ForeignKey("requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("person_id", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("activity_id", Text, nullable=False),
    UniqueConstraint("request_id", "person_id", "purpose", name="uq_sent_cards_request_person"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("payload", JsonDocument, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("dedupe_key", String(255), nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed | cancelled
    Column("last_error", Text, nullable=False),
    Column("locked_by", String(255), nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    UniqueConstraint("dedupe_key", name="uq_jobs_dedupe_key"),
    # The claim's order (bot/store/jobs.py claim_due): pending jobs by due time, then id.
    Index("ix_jobs_status_due_id", "status", "due_at", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Assigned by AuditLog.append under the audit_head lock, so it is part of the hashed entry.
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("reason", Text, nullable=False),
    Column("ticket", Text, nullable=True),
    Column("graph_request_id", String(64), nullable=True),
    Column("details", Text, nullable=False),  # canonical JSON, exactly as hashed
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_request", "request_id"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("last_id", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

sign_in_waits = Table(
    "sign_in_waits",
    metadata,
    Column("exchange_id", String(128), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("target", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("claims", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("busy_until", UtcDateTime, nullable=True),
    Index("ix_sign_in_waits_expires", "expires_at"),
)

admin_changes = Table(
    "admin_changes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("target_key", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("document", JsonDocument, nullable=False),  # the whole AdminChange
    Index("ix_admin_changes_target", "target_key"),
    Index("ix_admin_changes_state", "state"),
)

# Sent copies of the four-eyes cards (migration r0006), updated in place as the change moves on.
admin_change_cards = Table(
    "admin_change_cards",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "change_id",
        String(64),
        ForeignKey("admin_changes.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("person_id", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("conversation_id", Text, nullable=False),
    Column("activity_id", Text, nullable=False),
    UniqueConstraint(
        "change_id", "person_id", "purpose", name="uq_admin_change_cards_change_person"
    ),
)


# --- access reviews (migration r0005) ----------------------------------------------------------

review_runs = Table(
    "review_runs",
    metadata,
    Column("instance_key", String(160), primary_key=True),  # definition id / instance id
    Column("tenant_id", String(64), nullable=False),
    Column("finished", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("document", JsonDocument, nullable=False),  # the whole ReviewRun
)

review_decisions = Table(
    "review_decisions",
    metadata,
    Column("instance_key", String(160), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("principal_id", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("justification", Text, nullable=False),
    Column("reviewer_id", String(64), nullable=False),
    Column("reviewer_name", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("written_at", UtcDateTime, nullable=True),
)

review_cards = Table(
    "review_cards",
    metadata,
    Column("instance_key", String(160), primary_key=True),
    Column("person_id", String(64), primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("activity_id", Text, nullable=False),
    Column("page", Integer, nullable=False),
)
