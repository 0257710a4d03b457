"""Can pimbot reach its database, and is the schema at the newest migration? The doctor only
reads: it never migrates (pimbot does that when it starts)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.client_credentials import database_password_from
from bot.doctor.report import Finding, fail, ok
from bot.settings import Settings
from bot.store import Database
from bot.store.migrate import head_revision

DATABASE = "Database"


async def database(settings: Settings) -> Finding:
    where = redacted_url(settings.database_url)
    try:
        db = await Database.connect(
            settings.database_url, password=database_password_from(settings)
        )
    except Exception as exc:
        return fail(
            DATABASE,
            f"PIMBOT_DATABASE_URL cannot be used ({where}): {type(exc).__name__}: {exc}",
            "Set PIMBOT_DATABASE_URL to postgresql://ROLE@HOST:5432/DB?sslmode=verify-full or "
            "sqlite:///ABSOLUTE/PATH (docs/deploy.md, 'Settings').",
        )
    try:
        try:
            await db.ping()
        except Exception as exc:
            return fail(
                DATABASE,
                f"the database at {where} is not reachable: {type(exc).__name__}: {exc}",
                "Check the server's host name and port, its firewall rules (the container "
                "app's outbound addresses or virtual network), the role and its password or "
                "PIMBOT_DATABASE_AUTH=managed_identity with the role of "
                "infra/postgres/grants.sql.",
            )
        current, newest = await db.schema_revision(), head_revision()
    finally:
        await db.close()
    if current != newest:
        return fail(
            DATABASE,
            f"the database at {where} is at migration {current or 'none (empty)'}, not {newest}",
            "Start pimbot once (`pimbot serve`): it migrates the schema to the newest revision "
            "before it serves; a schema newer than this pimbot means an older image is running.",
        )
    return ok(DATABASE, f"{where} answers and is at the newest migration ({newest})")


def redacted_url(url: str) -> str:
    """The database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"
