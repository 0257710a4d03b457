"""ConversationStore: where each person's 1:1 chat with the bot is, for proactive messages."""

from __future__ import annotations

from collections.abc import Iterable
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


class Addressee(BaseModel):
    """What a card needs to know about a person from their conversation: their Teams id (29:…,
    for Teams' `refresh`) and the time zone their client last sent."""

    person_id: str
    teams_id: str
    timezone: str | None = None


# People per statement in `addressees` (bound parameters stay well below every driver's limit).
ADDRESSEES_PER_STATEMENT = 500


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

    async def addressees(self, person_ids: Iterable[str]) -> dict[str, Addressee]:
        """The Teams id and time zone of each of these people pimbot has a conversation with,
        in one statement (per `ADDRESSEES_PER_STATEMENT` people), without their references."""
        wanted = list(dict.fromkeys(person_ids))
        found: dict[str, Addressee] = {}
        for start in range(0, len(wanted), ADDRESSEES_PER_STATEMENT):
            rows = await self._connection.execute(
                select(
                    conversations.c.person_id, conversations.c.teams_id, conversations.c.timezone
                ).where(
                    conversations.c.person_id.in_(wanted[start : start + ADDRESSEES_PER_STATEMENT])
                )
            )
            for row in rows:
                found[row.person_id] = Addressee(
                    person_id=row.person_id, teams_id=row.teams_id, timezone=row.timezone
                )
        return found

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
