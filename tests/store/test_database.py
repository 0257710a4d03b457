import asyncio
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.domain import SentMessage
from bot.store import Database
from bot.store.migrate import head_revision
from bot.store.schema import audit_head, metadata
from tests.store.factories import a_request

MIGRATE_SCRIPT = """
import asyncio, sys
from bot.store import Database

async def main() -> None:
    database = await Database.connect(sys.argv[1])
    await database.migrate()
    await database.close()

asyncio.run(main())
"""


async def _audit_head_rows(database: Database) -> int:
    async with database.transaction() as tx:
        rows = await tx.audit._connection.execute(select(audit_head))
        return len(rows.all())


async def test_a_new_database_has_no_schema_until_migrated(database_url: str) -> None:
    database = await Database.connect(database_url)
    try:
        assert await database.schema_revision() is None
        await database.migrate()
        assert await database.schema_revision() == head_revision()
    finally:
        await database.close()


async def test_migrating_twice_changes_nothing(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.audit.append(at=datetime.now(UTC), actor_id=None, action="boot", outcome="ok")

    await db.migrate()
    await db.migrate()

    assert await db.schema_revision() == head_revision()
    assert await _audit_head_rows(db) == 1
    async with db.transaction() as tx:
        assert len(await tx.audit.entries()) == 1
        assert (await tx.audit.verify()).ok


async def test_two_engines_migrating_at_once_both_succeed(database_url: str) -> None:
    first, second = await Database.connect(database_url), await Database.connect(database_url)
    try:
        await asyncio.gather(first.migrate(), second.migrate())
        assert await first.schema_revision() == head_revision()
        assert await _audit_head_rows(second) == 1
    finally:
        await first.close()
        await second.close()


async def test_two_processes_migrating_at_once_both_succeed(database_url: str) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE_SCRIPT, database_url, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))

    assert [process.returncode for process in processes] == [0, 0], outputs
    database = await Database.connect(database_url)
    try:
        assert await database.schema_revision() == head_revision()
        assert await _audit_head_rows(database) == 1
    finally:
        await database.close()


def _schema_differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_build_exactly_the_schema_the_queries_use(db: Database) -> None:
    async with db._engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert [d for d in differences if "alembic_version" not in str(d)] == []


async def test_sqlite_file_is_created_with_its_directory_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "does" / "not" / "exist" / "pimbot.db"
    database = await Database.connect(f"sqlite:///{path}")
    try:
        await database.migrate()
    finally:
        await database.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_foreign_keys_are_enforced(db: Database) -> None:
    sent = SentMessage(person_id="bob-id", conversation_id="a:1", activity_id="1")
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.cards.add("no-such-request", "approval", sent)


async def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    request = a_request()
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            await tx.requests.insert(request)
            await tx.jobs.enqueue("notify", {}, due_at=request.created_at, dedupe_key="k")
            raise RuntimeError("boom")

    async with db.transaction() as tx:
        assert await tx.requests.get(request.id) is None
        assert await tx.jobs.pending() == []


async def test_after_commit_runs_once_the_transaction_has_committed(db: Database) -> None:
    """What wakes the scheduler: only once the jobs the transaction queued are there to see."""
    request = a_request()
    called: list[str] = []

    def wake() -> None:
        called.append("woken")

    async with db.transaction() as tx:
        await tx.jobs.enqueue("notify", {}, due_at=request.created_at, dedupe_key="k")
        tx.after_commit(wake)
        tx.after_commit(wake)  # asked for twice, called once
        assert called == []
    assert called == ["woken"]
    async with db.transaction() as tx:
        assert len(await tx.jobs.pending()) == 1


async def test_after_commit_never_runs_after_a_rollback(db: Database) -> None:
    called: list[str] = []
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            tx.after_commit(lambda: called.append("woken"))
            raise RuntimeError("boom")
    assert called == []


async def test_ping_answers_when_the_database_is_up(db: Database) -> None:
    await db.ping()


async def test_ping_answers_while_a_writer_holds_the_database(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.jobs.enqueue("warn", {}, due_at=datetime.now(UTC), dedupe_key="k")
        await db.ping()
        assert await db.schema_revision() == head_revision()


async def test_ping_raises_when_postgresql_is_unreachable() -> None:
    database = await Database.connect("postgresql://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(OSError):
            await database.ping()
    finally:
        await database.close()
