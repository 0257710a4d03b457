"""Alembic environment: runs on the connection `bot.store.migrate` hands over.

There is no alembic.ini and no URL here on purpose; pimbot builds the alembic `Config` in code.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through bot.store.Database.migrate()")

context.configure(connection=connection, target_metadata=None, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
