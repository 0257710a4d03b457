"""Turn the database URL an operator writes into the async-driver URL SQLAlchemy needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
_POSTGRES_ALIASES = ("postgresql", "postgres", "postgresql+asyncpg")
_SQLITE_ALIASES = ("sqlite", "sqlite+aiosqlite")


@dataclass(frozen=True)
class DatabaseLocation:
    url: URL
    sqlite_path: Path | None  # the database file, for SQLite

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_path is not None


def resolve_database_url(raw: str) -> DatabaseLocation:
    """Accept `sqlite:///PATH`, `sqlite+aiosqlite:///PATH`, `postgresql://...`, `postgres://...`
    and `postgresql+asyncpg://...`.

    SQLite needs a file (an in-memory database would be a different database per pooled
    connection). libpq's `sslmode=` becomes asyncpg's `ssl=`, as Azure connection strings carry it.
    """
    url = make_url(raw.replace("postgres://", "postgresql://", 1))
    if url.drivername in _SQLITE_ALIASES:
        database = url.database or ""
        if database in ("", ":memory:") or "mode=memory" in raw:
            raise ValueError("pimbot needs a SQLite database file, not an in-memory database")
        path = Path(database).expanduser().resolve()
        return DatabaseLocation(url.set(drivername=SQLITE_DRIVER, database=str(path)), path)
    if url.drivername in _POSTGRES_ALIASES:
        query = dict(url.query)
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        return DatabaseLocation(url.set(drivername=POSTGRES_DRIVER, query=query), None)
    raise ValueError(
        f"unsupported database URL scheme {url.drivername!r}: use sqlite or postgresql"
    )
