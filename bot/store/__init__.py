"""Database access: requests, conversations, sent cards, jobs (outbox and scheduler queue) and
the hash-chained audit log, on SQLite or PostgreSQL through one SQLAlchemy Core code path."""

from bot.store.audit import AuditEntry, AuditLog, AuditVerification
from bot.store.cards import CardStore
from bot.store.conversations import ConversationRecord, ConversationStore
from bot.store.db import Database, Tx
from bot.store.errors import RequestNotFound, StoreError
from bot.store.jobs import Job, JobQueue, JobStatus
from bot.store.requests import RequestStore

__all__ = [
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "CardStore",
    "ConversationRecord",
    "ConversationStore",
    "Database",
    "Job",
    "JobQueue",
    "JobStatus",
    "RequestNotFound",
    "RequestStore",
    "StoreError",
    "Tx",
]
