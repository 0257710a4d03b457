"""Where each person's 1:1 chat with the bot is: what the channel needs from the store.

Typed as protocols so that `bot.store.Database` fits as it is and tests can use a small fake.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.domain import Actor
from bot.store.conversations import ConversationRecord


class ConversationRepository(Protocol):
    async def upsert(self, record: ConversationRecord) -> None: ...

    async def get(self, person_id: str) -> ConversationRecord | None: ...

    async def any_service_url(self, tenant_id: str) -> str | None: ...


class ConversationTransaction(Protocol):
    @property
    def conversations(self) -> ConversationRepository: ...


class ConversationDatabase(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[ConversationTransaction]: ...


def reference_of(activity: Activity) -> dict[str, Any]:
    """The serialized conversation reference to continue this conversation later. Without the
    activity id: proactive messages are new messages, not replies."""
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    serialized: dict[str, Any] = reference.serialize()
    return serialized


def conversation_record(activity: Activity, actor: Actor) -> ConversationRecord:
    return ConversationRecord(
        person_id=actor.person.id,
        tenant_id=actor.person.tenant_id,
        conversation_id=activity.conversation.id,
        service_url=activity.service_url,
        teams_id=actor.teams_id,
        bot_id=getattr(activity.recipient, "id", None) or "",
        display_name=actor.person.display_name,
        timezone=actor.timezone,
        reference=reference_of(activity),
        updated_at=datetime.now(UTC),
    )


async def record_conversation(db: ConversationDatabase, activity: Activity, actor: Actor) -> None:
    """Upsert the person's conversation. Activities without `localTimezone` or a sender name
    (conversationUpdate, invokes) keep what an earlier message told us."""
    record = conversation_record(activity, actor)
    async with db.transaction() as tx:
        if record.timezone is None or not record.display_name:
            known = await tx.conversations.get(record.person_id)
            if known is not None:
                record = record.model_copy(
                    update={
                        "timezone": record.timezone or known.timezone,
                        "display_name": record.display_name or known.display_name,
                    }
                )
        await tx.conversations.upsert(record)
