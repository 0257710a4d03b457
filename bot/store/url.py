"""Turn the database URL an operator writes into the async-driver URL SQLAlchemy needs."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"
_POSTGRES_ALIASES = ("postgresql", "postgres", "postgresql+asyncpg")
_SQLITE_ALIASES = ("sqlite", "sqlite+aiosqlite")


@dataclass(frozen=True)
class DatabaseLocation:
    url: URL
    sqlite_path: Path | None  # the database file, for SQLite
    connect_args: dict[str, Any] = field(default_factory=dict)  # for the driver (asyncpg)

    @property
    def is_sqlite(self) -> bool:
        return self.sqlite_path is not None


def resolve_database_url(raw: str) -> DatabaseLocation:
    """Accept `sqlite:///PATH`, `sqlite+aiosqlite:///PATH`, `postgresql://...`, `postgres://...`
    and `postgresql+asyncpg://...`.

    SQLite needs a file (an in-memory database would be a different database per pooled
    connection). libpq's `sslmode=` becomes asyncpg's `ssl=`, as Azure connection strings carry it.
    `sslmode=verify-full` (and `verify-ca`) check the server's certificate against
    `sslrootcert=FILE` or, without it, the system's CA store (Debian's, in the image, holds the
    roots Azure Database for PostgreSQL uses); asyncpg alone would insist on
    `~/.postgresql/root.crt`.
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
        connect_args: dict[str, Any] = {}
        root = query.pop("sslrootcert", None)
        mode = query.pop("sslmode", None)
        if mode in ("verify-full", "verify-ca"):
            connect_args["ssl"] = _verifying_context(
                str(root) if root else None, check_hostname=mode == "verify-full"
            )
        elif mode is not None:
            query["ssl"] = mode
        return DatabaseLocation(
            url.set(drivername=POSTGRES_DRIVER, query=query), None, connect_args
        )
    raise ValueError(
        f"unsupported database URL scheme {url.drivername!r}: use sqlite or postgresql"
    )


def _verifying_context(cafile: str | None, *, check_hostname: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    return context
