"""Database access: requests, conversations, sent cards, jobs (outbox and scheduler queue), the
hash-chained audit log and actions waiting on a sign-in, on SQLite or PostgreSQL through one
SQLAlchemy Core code path."""

from bot.store.audit import AuditEntry, AuditHead, AuditLog, AuditVerification
from bot.store.cards import CardStore
from bot.store.conversations import ConversationRecord, ConversationStore
from bot.store.db import Database, Tx
from bot.store.errors import RequestNotFound, StoreError
from bot.store.jobs import Job, JobQueue, JobStatus
from bot.store.requests import RequestStore
from bot.store.sign_ins import SignInStore, SignInWait, WaitKind

__all__ = [
    "AuditEntry",
    "AuditHead",
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
    "SignInStore",
    "SignInWait",
    "StoreError",
    "Tx",
    "WaitKind",
]
