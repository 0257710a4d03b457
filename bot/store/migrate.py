"""Run the alembic migrations programmatically, on a connection we already hold."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any constant unique to pimbot: the PostgreSQL advisory lock that serializes migrations.
_MIGRATION_LOCK_KEY = 0x70696D626F74  # "pimbot"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_to_head(connection: AsyncConnection) -> None:
    """Upgrade inside the caller's transaction.

    Two processes starting at once must not both create the tables: PostgreSQL takes a
    transaction-scoped advisory lock first; SQLite's `BEGIN IMMEDIATE` (see `db.py`) already
    holds the single write lock. DDL is transactional on both, so a failed upgrade leaves nothing.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
        )
    await connection.run_sync(_upgrade)
