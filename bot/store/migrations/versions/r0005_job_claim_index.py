"""The scheduler's claim reads pending jobs in (due_at, id) order: index exactly that order.

`ix_jobs_status_due` (status, due_at) left the tie-break on `id` to a sort. Jobs queued in one
transaction share their due time (the approval cards of a 50-approver group, a backlog), and
with 50,000 pending jobs due at one instant PostgreSQL read and sorted all of them for every claim
of 5 (median 49 ms, the sort spilling to disk); with (status, due_at, id) it reads 5 index
entries (0.04 ms). Figures and plans: bench/RESULTS.md, "The claim at 100,000 jobs".
The same index serves the queue-lag query (`min(due_at)` of pending jobs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_status_due_id", "jobs", ["status", "due_at", "id"])
    op.drop_index("ix_jobs_status_due", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_status_due", "jobs", ["status", "due_at"])
    op.drop_index("ix_jobs_status_due_id", table_name="jobs")
