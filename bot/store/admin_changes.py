"""AdminChangeStore: changes admins asked for; every state change is conditional (first wins).

A change is stored whole as a JSON document, with the columns queries need beside it. A
transition is one UPDATE that names the version it read and the states it may leave, so of two
racing deciders (replicas, double taps) exactly one wins and the other gets None. The winning
transition queues, in the same transaction, the job that redraws every sent copy of the change's
cards (`CHANGE_CARDS_JOB`, once per version), so no state change can leave a card behind.

The sent copies themselves (`admin_change_cards`) are recorded here too, one per person and
purpose.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import SentMessage
from bot.governance.domain import CHANGE_CARDS_JOB, CHANGE_TRANSITIONS, AdminChange, ChangeState
from bot.store.cards import sent_message_of
from bot.store.dialect import upsert_insert
from bot.store.jobs import JobQueue
from bot.store.schema import admin_change_cards, admin_changes
from bot.store.types import as_utc

_MANAGED_FIELDS = frozenset({"id", "state", "version", "updated_at"})


class AdminChangeStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def insert(self, change: AdminChange) -> bool:
        """False (nothing written) when a change with this id exists already."""
        statement = (
            upsert_insert(self._connection, admin_changes)
            .values(
                id=change.id,
                kind=change.kind,
                target_key=change.target_key,
                state=str(change.state.value),
                version=change.version,
                updated_at=as_utc(change.updated_at),
                document=change.model_dump(mode="json"),
            )
            .on_conflict_do_nothing(index_elements=[admin_changes.c.id])
            .returning(admin_changes.c.id)
        )
        return (await self._connection.execute(statement)).first() is not None

    async def get(self, change_id: str) -> AdminChange | None:
        row = (
            await self._connection.execute(
                select(admin_changes.c.document).where(admin_changes.c.id == change_id)
            )
        ).first()
        return AdminChange.model_validate(row.document) if row else None

    async def for_target(self, target_key: str) -> list[AdminChange]:
        """Every change ever asked for on this target, oldest first."""
        rows = await self._connection.execute(
            select(admin_changes.c.document).where(admin_changes.c.target_key == target_key)
        )
        found = [AdminChange.model_validate(row.document) for row in rows]
        return sorted(found, key=lambda change: change.created_at)

    async def in_states(self, states: Collection[ChangeState]) -> list[AdminChange]:
        rows = await self._connection.execute(
            select(admin_changes.c.document).where(
                admin_changes.c.state.in_([str(s.value) for s in states])
            )
        )
        return [AdminChange.model_validate(row.document) for row in rows]

    async def transition(
        self,
        change_id: str,
        *,
        from_states: Collection[ChangeState],
        to: ChangeState,
        now: datetime,
        **changes: Any,
    ) -> AdminChange | None:
        """Move the change to `to` if it is still in one of `from_states` (and unchanged since
        read), with `changes`; None when another decider or worker got there first."""
        for state in from_states:
            if to not in CHANGE_TRANSITIONS[state]:
                raise ValueError(f"an admin change cannot go from {state} to {to}")
        refused = _MANAGED_FIELDS.intersection(changes)
        if refused:
            raise ValueError(f"managed by the store: {sorted(refused)}")
        current = await self.get(change_id)
        if current is None or current.state not in from_states:
            return None
        moved = current.model_copy(
            update={**changes, "state": to, "updated_at": now, "version": current.version + 1}
        )
        moved = AdminChange.model_validate(moved.model_dump())  # validates the changes
        statement = (
            update(admin_changes)
            .where(
                admin_changes.c.id == change_id,
                admin_changes.c.version == current.version,
                admin_changes.c.state.in_([str(s.value) for s in from_states]),
            )
            .values(
                state=str(to.value),
                version=moved.version,
                updated_at=as_utc(now),
                document=moved.model_dump(mode="json"),
            )
            .returning(admin_changes.c.id)
        )
        row = (await self._connection.execute(statement)).first()
        if row is None:
            return None
        await JobQueue(self._connection).enqueue(
            CHANGE_CARDS_JOB,
            {"change_id": change_id},
            due_at=now,
            dedupe_key=f"{CHANGE_CARDS_JOB}:{change_id}:{moved.version}",
        )
        return moved

    # --- sent copies of the change's cards ----------------------------------------------------

    async def add_card(self, change_id: str, purpose: str, sent: SentMessage) -> None:
        """Record a sent card; a second record for the same person and purpose is ignored (the
        first copy stays the one to update)."""
        if not sent.activity_id:
            raise ValueError("a sent card without an activity id cannot be recorded")
        statement = (
            upsert_insert(self._connection, admin_change_cards)
            .values(
                change_id=change_id,
                purpose=purpose,
                person_id=sent.person_id,
                conversation_id=sent.conversation_id,
                activity_id=sent.activity_id,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    admin_change_cards.c.change_id,
                    admin_change_cards.c.person_id,
                    admin_change_cards.c.purpose,
                ]
            )
        )
        await self._connection.execute(statement)

    async def cards(self, change_id: str) -> list[tuple[str, SentMessage]]:
        """Every recorded copy of the change's cards, with its purpose, oldest first."""
        rows = await self._connection.execute(
            select(
                admin_change_cards.c.purpose,
                admin_change_cards.c.person_id,
                admin_change_cards.c.conversation_id,
                admin_change_cards.c.activity_id,
            )
            .where(admin_change_cards.c.change_id == change_id)
            .order_by(admin_change_cards.c.id)
        )
        return [
            (
                row.purpose,
                sent_message_of(row),
            )
            for row in rows
        ]

    async def replace_card(self, change_id: str, purpose: str, sent: SentMessage) -> None:
        """The person's copy is now `sent` (a new message standing in for one that could not be
        updated)."""
        await self._connection.execute(
            delete(admin_change_cards).where(
                admin_change_cards.c.change_id == change_id,
                admin_change_cards.c.person_id == sent.person_id,
                admin_change_cards.c.purpose == purpose,
            )
        )
        await self.add_card(change_id, purpose, sent)
