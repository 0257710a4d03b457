"""ConversationStore: where each person's 1:1 chat with the bot is, for proactive messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.dialect import upsert_insert
from bot.store.schema import conversations


class ConversationRecord(BaseModel):
    person_id: str
    tenant_id: str
    conversation_id: str
    service_url: str
    teams_id: str = ""
    bot_id: str = ""
    display_name: str = ""
    timezone: str | None = None
    reference: dict[str, Any] = Field(default_factory=dict)  # serialized ConversationReference
    updated_at: datetime


class ConversationStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def upsert(self, record: ConversationRecord) -> None:
        values = record.model_dump()
        statement = upsert_insert(self._connection, conversations).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[conversations.c.person_id],
            set_={name: statement.excluded[name] for name in values if name != "person_id"},
        )
        await self._connection.execute(statement)

    async def get(self, person_id: str) -> ConversationRecord | None:
        row = (
            await self._connection.execute(
                select(conversations).where(conversations.c.person_id == person_id)
            )
        ).first()
        return ConversationRecord.model_validate(row._asdict()) if row else None

    async def any_service_url(self, tenant_id: str) -> str | None:
        """The most recently seen Bot Connector service URL of the tenant, to create a chat
        with someone who never wrote to the bot."""
        service_url: str | None = (
            await self._connection.execute(
                select(conversations.c.service_url)
                .where(conversations.c.tenant_id == tenant_id)
                .order_by(conversations.c.updated_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return service_url
