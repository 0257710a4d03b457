"""The database handle: one `AsyncEngine`, migrations, and transactions that bind every store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.store.admin_changes import AdminChangeStore
from bot.store.audit import AuditLog
from bot.store.cards import CardStore
from bot.store.conversations import ConversationStore
from bot.store.jobs import JobQueue
from bot.store.migrate import current_revision, upgrade_to_head
from bot.store.requests import RequestStore
from bot.store.reviews import ReviewStore
from bot.store.sign_ins import SignInStore
from bot.store.url import resolve_database_url

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Execution option: this connection only reads, so SQLite need not take the write lock.
_READ_ONLY = "pimbot_read_only"


class Tx:
    """Every store, bound to one connection and its open transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.requests = RequestStore(connection)
        self.conversations = ConversationStore(connection)
        self.cards = CardStore(connection)
        self.jobs = JobQueue(connection)
        self.audit = AuditLog(connection)
        self.sign_ins = SignInStore(connection)
        self.admin_changes = AdminChangeStore(connection)
        self.reviews = ReviewStore(connection)
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (never after a rollback); a
        callback asked for twice is called once."""
        if callback not in self._after_commit:
            self._after_commit.append(callback)

    def committed(self) -> None:
        for callback in self._after_commit:
            callback()


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def connect(
        cls, url: str, *, password: Callable[[], Awaitable[str]] | None = None
    ) -> Database:
        """Open (lazily) the database at `url`; see `resolve_database_url` for accepted forms.

        `password`, for PostgreSQL, is asked for each new connection: a Microsoft Entra token
        (valid about an hour) serves as the password, and pooled connections stay open after it
        expires, since PostgreSQL checks it only when a connection is made."""
        location = resolve_database_url(url)
        if location.sqlite_path is None:
            connect_args = dict(location.connect_args)
            if password is not None:
                connect_args["password"] = password  # asyncpg awaits a callable password
            engine = create_async_engine(
                location.url, pool_pre_ping=True, connect_args=connect_args
            )
        else:
            await asyncio.to_thread(location.sqlite_path.parent.mkdir, parents=True, exist_ok=True)
            engine = create_async_engine(
                location.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
            _configure_sqlite(engine)
            await _enable_wal(engine)
        return cls(engine)

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine, for instrumentation (counting statements, tracing)."""
        return self._engine

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    async def migrate(self) -> None:
        """Upgrade the schema to the newest revision. Idempotent; concurrent callers serialize."""
        async with self._engine.begin() as connection:
            await upgrade_to_head(connection)

    async def schema_revision(self) -> str | None:
        """The migration the database is at (None before the first); compare `head_revision()`."""
        async with self._engine.connect() as connection:
            await connection.execution_options(**{_READ_ONLY: True})
            return await connection.run_sync(current_revision)

    async def ping(self) -> None:
        """Raise if the database cannot be reached. Does not wait for SQLite's write lock."""
        async with self._engine.connect() as connection:
            await connection.execution_options(**{_READ_ONLY: True})
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self._engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One database transaction: committed when the block ends, rolled back on an exception.

        Do not open a second transaction while holding one: on SQLite it would wait for the
        write lock the first one holds.
        """
        async with self._engine.begin() as connection:
            tx = Tx(connection)
            yield tx
        tx.committed()


async def _enable_wal(engine: AsyncEngine) -> None:
    """WAL (persistent in the file) lets readers work while one transaction writes.

    Switching a new file to WAL needs a moment of exclusive access, and SQLite refuses it at once,
    without waiting out its busy timeout, while another process opens the same file; so retry
    for a while, without blocking the event loop.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SQLITE_BUSY_TIMEOUT_SECONDS
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        while True:
            try:
                await driver.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.05)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Foreign keys and a busy timeout on every connection, and `BEGIN IMMEDIATE`.

    The sqlite3 driver's own transaction handling (deferred, and no BEGIN before SELECT) would
    let a transaction that read first fail to upgrade to a writer under concurrency. Taking the
    write lock at BEGIN makes each transaction serializable, and waits instead of failing.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
