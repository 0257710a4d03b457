"""PostgreSQL without a password: a managed identity's Entra token as the password, asked for at
each new connection; a least-privileged role (infra/postgres/grants.sql) that can run pimbot's
migrations and transactions and nothing more; and `sslmode=verify-full` that really verifies."""

from __future__ import annotations

import re
import ssl
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.client_credentials import POSTGRES_ENTRA_RESOURCE, database_password_from
from bot.settings import Settings
from bot.store import Database
from bot.store.url import resolve_database_url
from tests.credentials.test_against_entra import IDENTITY, Entra, entra  # noqa: F401
from tests.store.conftest import fresh_postgres_database, postgres_admin_url

GRANTS = Path(__file__).resolve().parents[2] / "infra" / "postgres" / "grants.sql"


def test_verify_full_checks_the_certificate_and_the_host_name() -> None:
    full = resolve_database_url("postgresql://pimbot@db.example:5432/pimbot?sslmode=verify-full")
    context = full.connect_args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # the system's roots, without a root.crt
    assert "ssl" not in full.url.query and "sslmode" not in full.url.query

    ca_only = resolve_database_url("postgresql://pimbot@db.example/pimbot?sslmode=verify-ca")
    assert not ca_only.connect_args["ssl"].check_hostname

    required = resolve_database_url("postgresql://pimbot@db.example/pimbot?sslmode=require")
    assert required.url.query["ssl"] == "require" and not required.connect_args


def test_a_root_certificate_file_that_does_not_exist_is_refused() -> None:
    with pytest.raises(FileNotFoundError):
        resolve_database_url(
            "postgresql://p@db.example/p?sslmode=verify-full&sslrootcert=/nonexistent/root.pem"
        )


async def test_the_database_password_is_the_identitys_entra_token_for_postgres(
    entra: Entra,  # noqa: F811
) -> None:
    settings = Settings.model_validate(
        {
            "PIMBOT_DATABASE_AUTH": "managed_identity",
            "PIMBOT_MANAGED_IDENTITY_CLIENT_ID": IDENTITY.client_id,
            "IDENTITY_ENDPOINT": entra.twin.identity_endpoint.url,
            "IDENTITY_HEADER": entra.twin.identity_endpoint.header,
        }
    )
    password = database_password_from(settings)
    assert password is not None
    claims = entra.twin.verify(await password(), POSTGRES_ENTRA_RESOURCE)
    assert claims["appid"] == IDENTITY.client_id and claims["oid"] == IDENTITY.principal_id
    assert database_password_from(Settings.model_validate({})) is None


def _psql_variables(sql: str, **values: str) -> str:
    """What psql does with `-v name=value` for `:"name"` (a quoted identifier)."""
    return re.sub(r':"(\w+)"', lambda m: '"' + values[m.group(1)].replace('"', '""') + '"', sql)


@pytest.fixture
async def least_privileged_url() -> AsyncIterator[str]:
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PIMBOT_TEST_POSTGRES_URL is empty")
    role = f"pimbot_identity_{uuid.uuid4().hex[:8]}"
    try:
        async with fresh_postgres_database(admin_url) as url:
            database = make_url(url).database
            assert database
            admin = await asyncpg.connect(url)
            try:
                await admin.execute(f'CREATE ROLE "{role}" LOGIN')
                grants = GRANTS.read_text(encoding="utf-8")
                sql = "\n".join(line for line in grants.splitlines() if not line.startswith("--"))
                await admin.execute(_psql_variables(sql, role=role, database=database))
            finally:
                await admin.close()
            yield make_url(url).set(username=role, password=None).render_as_string()
    finally:
        cleanup = await asyncpg.connect(admin_url)
        try:
            await cleanup.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await cleanup.close()


@pytest.mark.postgres
async def test_the_least_privileged_role_runs_pimbot_and_nothing_more(
    least_privileged_url: str,
) -> None:
    asked: list[int] = []

    async def token() -> str:
        asked.append(1)
        return f"entra-token-{len(asked)}"  # trust authentication locally: any value works

    db = await Database.connect(least_privileged_url, password=token)
    try:
        await db.migrate()
        async with db.transaction() as tx:
            await tx.audit.append(
                at=datetime.now(UTC), actor_id="tester", action="check", outcome="ok"
            )
        assert await db.schema_revision() is not None
    finally:
        await db.close()
    assert asked, "the password callable was never asked"

    connection = await asyncpg.connect(least_privileged_url)
    try:
        role = await connection.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        assert role is not None and not any(role.values())
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE DATABASE pimbot_not_allowed")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE ROLE pimbot_not_allowed")
    finally:
        await connection.close()
