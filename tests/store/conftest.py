"""Store fixtures: every test runs once on SQLite and once on PostgreSQL, each on a fresh database.

Reuse them from another test package by importing them into its conftest.py:

    from tests.store.conftest import database_url, db  # noqa: F401

PostgreSQL comes from PIMBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
each test gets a database of its own, created from that one and dropped afterwards. Set the
variable to an empty string to skip the PostgreSQL runs on a machine without PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import Database

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str | None:
    """The PostgreSQL that tests may create databases in; None when switched off."""
    url = os.environ.get("PIMBOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return url or None


@asynccontextmanager
async def fresh_postgres_database(admin_url: str) -> AsyncIterator[str]:
    """Create a uniquely named database next to `admin_url`'s, yield its URL, drop it after."""
    admin = make_url(admin_url)
    name = f"pimbot_test_{uuid.uuid4().hex[:16]}"
    engine = create_async_engine(
        admin.set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            async with engine.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'pimbot.db'}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PIMBOT_TEST_POSTGRES_URL is empty")
    async with fresh_postgres_database(admin_url) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated Database on `database_url`, closed after the test."""
    database = await Database.connect(database_url)
    try:
        await database.migrate()
        yield database
    finally:
        await database.close()
