"""`pimbot audit verify` and `pimbot audit export`: which database they read, and what they say.

Without `--database` they read `PIMBOT_DATABASE_URL`; `--sandbox` reads the sandbox's database
(`var/sandbox/pimbot.db`, or under the state directory given). When nothing names a database and
only the sandbox's exists (after `make sandbox`), that is the one read, and stderr says so.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store import AuditVerification

DEFAULT_SANDBOX_STATE = Path("var/sandbox")
SANDBOX_DATABASE = "pimbot.db"


class NoDatabase(Exception):
    """The SQLite file named does not exist (verify must not create an empty one)."""


def add_database_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="the database to read (default: PIMBOT_DATABASE_URL)",
    )
    where.add_argument(
        "--sandbox",
        metavar="STATE",
        type=Path,
        nargs="?",
        const=DEFAULT_SANDBOX_STATE,
        default=None,
        help=f"read the sandbox's database (under {DEFAULT_SANDBOX_STATE}/ unless STATE is given)",
    )


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def choose_database(database: str | None, sandbox: Path | None) -> tuple[str, str]:
    """(URL, how it was chosen) for the audit commands; raises NoDatabase for a missing file."""
    from bot.settings import Settings, default_database_url
    from bot.store.url import resolve_database_url

    if database:
        url, why = database, "--database"
    elif sandbox is not None:
        url, why = _sqlite_url(sandbox / SANDBOX_DATABASE), "the sandbox's"
    else:
        url, why = Settings().database_url, "PIMBOT_DATABASE_URL"
        sandbox_file = DEFAULT_SANDBOX_STATE / SANDBOX_DATABASE
        unset = url == default_database_url()
        if unset and not _exists(url) and sandbox_file.exists():
            url, why = _sqlite_url(sandbox_file), "the sandbox's (no other database here)"
    location = resolve_database_url(url)
    if location.sqlite_path is not None and not location.sqlite_path.exists():
        raise NoDatabase(
            f"no database at {location.sqlite_path}: after `make sandbox` use --sandbox; "
            "for another database, --database URL or PIMBOT_DATABASE_URL"
        )
    return url, why


def _exists(url: str) -> bool:
    from bot.store.url import resolve_database_url

    path = resolve_database_url(url).sqlite_path
    return path is None or path.exists()


def _password(url: str) -> Callable[[], Awaitable[str]] | None:
    """PostgreSQL with `PIMBOT_DATABASE_AUTH=managed_identity`: the identity's token, as the bot
    connects; SQLite needs none."""
    from bot.client_credentials import database_password_from
    from bot.settings import Settings
    from bot.store.url import resolve_database_url

    if resolve_database_url(url).is_sqlite:
        return None
    return database_password_from(Settings())


def shown(url: str) -> str:
    """The URL without its password, for the operator's terminal."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def audit_command(args: argparse.Namespace) -> int:
    from bot.store import Database

    try:
        url, why = choose_database(args.database, args.sandbox)
    except (NoDatabase, ValueError) as error:
        print(f"pimbot audit: {error}", file=sys.stderr)
        return 1
    print(f"pimbot audit: reading {shown(url)} ({why})", file=sys.stderr)
    db = await Database.connect(url, password=_password(url))
    try:
        await db.migrate()
        async with db.transaction() as tx:
            if args.audit_command == "verify":
                result = await tx.audit.verify(anchor=args.anchor)
                print(verification_text(result, args.anchor))
                return 0 if result.ok else 1
            await tx.audit.export(args.format, sys.stdout, since=args.since)
            return 0
    finally:
        await db.close()


def verification_text(result: AuditVerification, anchor: str | None) -> str:
    if result.ok:
        text = f"OK: {result.checked} entries checked"
        if anchor and result.anchor_id is not None:
            text += (
                f"; the anchor is entry {result.anchor_id}: it and every entry before it are "
                "as they were when the anchor was published"
            )
        return text
    where = f"first bad entry {result.first_bad_id}: " if result.first_bad_id is not None else ""
    return f"BROKEN: {result.checked} entries checked; {where}{result.problem}"
