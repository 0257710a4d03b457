-- The least-privileged database role pimbot runs as: it may connect to its own database and
-- create and use tables in its schema (pimbot migrates its own schema at start), nothing else:
-- no superuser, no CREATEDB, no CREATEROLE, no other database, not the server administrator.
--
-- On Azure Database for PostgreSQL, connected as the Microsoft Entra administrator to the
-- `postgres` database, first create the role for the container's managed identity (its name is
-- the identity's name; the role has no password, it signs in with Entra tokens):
--
--   SELECT * FROM pgaadauth_create_principal('pimbot-identity', false, false);
--
-- then, connected to pimbot's database:
--
--   psql "host=<server>.postgres.database.azure.com dbname=pimbot user=<admin> sslmode=verify-full" \
--        -v role=pimbot-identity -v database=pimbot -f infra/postgres/grants.sql
--
-- tests/credentials/test_database.py runs this file against a local PostgreSQL and then runs
-- pimbot's migrations and a transaction as the role.

REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"role";

ALTER ROLE :"role" NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
