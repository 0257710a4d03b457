"""Where each person's 1:1 chat with the bot is: what the channel needs from the store.

Typed as protocols so that `bot.store.Database` fits as it is and tests can use a small fake.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
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


async def record_conversation(
    db: ConversationDatabase, activity: Activity, actor: Actor
) -> ConversationRecord:
    """Upsert the person's conversation; the record as stored. Activities without
    `localTimezone` or a sender name (conversationUpdate, invokes) keep what an earlier message
    told us."""
    record = conversation_record(activity, actor)
    async with db.transaction() as tx:
        if record.timezone is None or not record.display_name:
            known = await tx.conversations.get(record.person_id)
            if known is not None:
                record = _completed(record, known)
        await tx.conversations.upsert(record)
    return record


def _completed(record: ConversationRecord, known: ConversationRecord) -> ConversationRecord:
    """`record` with the timezone and name an earlier activity told, where it has none."""
    if record.timezone is not None and record.display_name:
        return record
    return record.model_copy(
        update={
            "timezone": record.timezone or known.timezone,
            "display_name": record.display_name or known.display_name,
        }
    )


def _same(a: ConversationRecord, b: ConversationRecord) -> bool:
    return a.model_dump(exclude={"updated_at"}) == b.model_dump(exclude={"updated_at"})


@dataclass(frozen=True)
class _Recorded:
    record: ConversationRecord
    until: float  # clock() after which it is written again even if unchanged


class ConversationRecorder:
    """Records each person's conversation as their activities show it, writing only what
    changed: every message carries the same conversation, and writing it on each one made every
    turn a database write (on SQLite, a wait for the one write lock).

    Remembers what this process wrote; an activity that says nothing new is not written again
    until `refresh_seconds` have passed (so `updated_at`, which picks the tenant's service URL
    for people who never wrote, stays roughly current). Other replicas write what they see; a
    person's 1:1 conversation does not change between them."""

    def __init__(
        self,
        db: ConversationDatabase,
        *,
        refresh_seconds: float = 600.0,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._refresh_seconds = refresh_seconds
        self._capacity = capacity
        self._clock = clock
        self._written: OrderedDict[str, _Recorded] = OrderedDict()

    async def record(self, activity: Activity, actor: Actor) -> ConversationRecord:
        """The person's conversation as stored after this activity."""
        seen = conversation_record(activity, actor)
        written = self._written.get(seen.person_id)
        if (
            written is not None
            and self._clock() < written.until
            and _same(_completed(seen, written.record), written.record)
        ):
            self._written.move_to_end(seen.person_id)
            return written.record
        stored = await record_conversation(self._db, activity, actor)
        self._written[stored.person_id] = _Recorded(stored, self._clock() + self._refresh_seconds)
        self._written.move_to_end(stored.person_id)
        while len(self._written) > self._capacity:
            self._written.popitem(last=False)
        return stored
