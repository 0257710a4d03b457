"""CardStore: which card went where, so that every copy can be updated in place later."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import SentMessage
from bot.store.dialect import upsert_insert
from bot.store.schema import sent_cards


class CardCopyRow(Protocol):
    """A row of any table of sent card copies."""

    @property
    def person_id(self) -> str: ...
    @property
    def conversation_id(self) -> str: ...
    @property
    def activity_id(self) -> str: ...


def sent_message_of(row: CardCopyRow) -> SentMessage:
    """The sent message a card-copy row names."""
    return SentMessage(
        person_id=row.person_id, conversation_id=row.conversation_id, activity_id=row.activity_id
    )


class CardStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, request_id: str, purpose: str, sent: SentMessage) -> None:
        """Record a sent card. A second record for the same request, person and purpose is
        ignored: the first card sent stays the one to update. A card the channel gave no id for
        cannot be updated in place and is not recorded here."""
        if not sent.activity_id:
            raise ValueError("a sent card without an activity id cannot be recorded")
        statement = (
            upsert_insert(self._connection, sent_cards)
            .values(
                request_id=request_id,
                purpose=purpose,
                person_id=sent.person_id,
                conversation_id=sent.conversation_id,
                activity_id=sent.activity_id,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    sent_cards.c.request_id,
                    sent_cards.c.person_id,
                    sent_cards.c.purpose,
                ]
            )
        )
        await self._connection.execute(statement)

    async def for_request(
        self, request_id: str, purpose: str | None = None, *, person_id: str | None = None
    ) -> list[SentMessage]:
        """The recorded cards of the request, oldest first: of one `purpose`, to one person."""
        statement = select(
            sent_cards.c.person_id, sent_cards.c.conversation_id, sent_cards.c.activity_id
        ).where(sent_cards.c.request_id == request_id)
        if purpose is not None:
            statement = statement.where(sent_cards.c.purpose == purpose)
        if person_id is not None:
            statement = statement.where(sent_cards.c.person_id == person_id)
        rows = await self._connection.execute(statement.order_by(sent_cards.c.id))
        return [sent_message_of(row) for row in rows]

    async def copies(self, request_id: str) -> list[tuple[str, SentMessage]]:
        """Every recorded card of the request, with its purpose, oldest first."""
        rows = await self._connection.execute(
            select(
                sent_cards.c.purpose,
                sent_cards.c.person_id,
                sent_cards.c.conversation_id,
                sent_cards.c.activity_id,
            )
            .where(sent_cards.c.request_id == request_id)
            .order_by(sent_cards.c.id)
        )
        return [
            (
                row.purpose,
                sent_message_of(row),
            )
            for row in rows
        ]

    async def replace(self, request_id: str, purpose: str, sent: SentMessage) -> None:
        """The person's copy is now `sent` (a new message standing in for one that could not be
        updated)."""
        await self.remove(request_id, sent.person_id, purpose)
        await self.add(request_id, purpose, sent)

    async def remove(self, request_id: str, person_id: str, purpose: str) -> None:
        await self._connection.execute(
            delete(sent_cards).where(
                sent_cards.c.request_id == request_id,
                sent_cards.c.person_id == person_id,
                sent_cards.c.purpose == purpose,
            )
        )
