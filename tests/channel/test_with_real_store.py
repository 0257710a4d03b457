"""The channel against the real store (SQLite): recording and proactive sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain import Person, TextMessage
from bot.store import Database
from tests.channel.conftest import BotFactory
from tests.channel.fakes import TENANT_ID, USER_OID, only, teams_activity


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.connect(f"sqlite:///{tmp_path / 'pimbot.db'}")
    await db.migrate()
    yield db
    await db.close()


async def test_conversation_recorded_in_the_store_is_used_for_proactive_messages(
    make_bot: BotFactory, database: Database
) -> None:
    bot = await make_bot(db=database)
    await bot.post(teams_activity(bot.cloud.service_url))
    bot.cloud.connector_calls.clear()

    async with database.transaction() as tx:
        record = await tx.conversations.get(USER_OID)
        service_url = await tx.conversations.any_service_url(TENANT_ID)
    sent = await bot.channel.messenger.send(
        Person(id=USER_OID, tenant_id=TENANT_ID), TextMessage(text="ends in 15 minutes")
    )

    assert record is not None
    assert record.timezone == "Europe/Berlin"
    assert service_url == bot.cloud.service_url
    assert sent is not None
    assert only(bot.cloud.calls()).path == "/v3/conversations/a:conv-ada/activities"
