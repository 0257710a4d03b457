"""What pimbot remembers about people from their Teams conversations."""

from __future__ import annotations

from collections.abc import Iterable

from bot.store import Tx


async def timezone_of(tx: Tx, person_id: str) -> str | None:
    """The IANA time zone their Teams client last sent, if any (cards then show local times)."""
    record = await tx.conversations.get(person_id)
    return record.timezone if record else None


async def teams_ids_of(tx: Tx, person_ids: Iterable[str]) -> list[str]:
    """Their Teams ids (29:…), for card refresh; people pimbot never heard from are left out."""
    ids = []
    for person_id in person_ids:
        record = await tx.conversations.get(person_id)
        if record and record.teams_id:
            ids.append(record.teams_id)
    return ids
