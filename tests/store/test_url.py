from pathlib import Path

import pytest

from bot.store.url import resolve_database_url


def test_plain_sqlite_url_uses_aiosqlite_and_keeps_the_absolute_path() -> None:
    location = resolve_database_url("sqlite:////var/lib/pimbot/pimbot.db")
    assert location.url.drivername == "sqlite+aiosqlite"
    assert location.sqlite_path == Path("/var/lib/pimbot/pimbot.db")


def test_aiosqlite_url_is_accepted_as_is() -> None:
    location = resolve_database_url("sqlite+aiosqlite:////tmp/x/pimbot.db")
    assert location.url.drivername == "sqlite+aiosqlite"
    assert location.sqlite_path == Path("/tmp/x/pimbot.db")


@pytest.mark.parametrize(
    "raw",
    [
        "postgresql://pimbot@db.example:5432/pimbot",
        "postgres://pimbot@db.example:5432/pimbot",
        "postgresql+asyncpg://pimbot@db.example:5432/pimbot",
    ],
)
def test_postgresql_urls_use_asyncpg(raw: str) -> None:
    location = resolve_database_url(raw)
    assert location.url.drivername == "postgresql+asyncpg"
    assert location.url.host == "db.example"
    assert location.url.port == 5432
    assert location.url.database == "pimbot"
    assert location.sqlite_path is None


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    location = resolve_database_url("postgresql://u@h/db?sslmode=require")
    assert dict(location.url.query) == {"ssl": "require"}


@pytest.mark.parametrize("raw", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="in-memory"):
        resolve_database_url(raw)


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        resolve_database_url("mysql://u@h/db")
