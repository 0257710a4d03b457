"""AdminChangeStore: changes admins asked for; every state change is conditional (first wins).

A change is stored whole as a JSON document, with the columns queries need beside it. A
transition is one UPDATE that names the version it read and the states it may leave, so of two
racing deciders (replicas, double taps) exactly one wins and the other gets None.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.governance.domain import CHANGE_TRANSITIONS, AdminChange, ChangeState
from bot.store.dialect import upsert_insert
from bot.store.schema import admin_changes
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
        return moved if row is not None else None
