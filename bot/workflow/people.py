"""What pimbot remembers about people from their Teams conversations."""

from __future__ import annotations

from collections.abc import Iterable

from bot.store import Tx


async def timezone_of(tx: Tx, person_id: str) -> str | None:
    """The IANA time zone their Teams client last sent, if any (cards then show local times)."""
    record = await tx.conversations.get(person_id)
    return record.timezone if record else None


async def teams_ids_of(tx: Tx, person_ids: Iterable[str]) -> list[str]:
    """Their Teams ids (29:…), for card refresh, in the order given; people pimbot never heard
    from are left out. One statement however many people."""
    ids, _ = await teams_ids_and_timezone(tx, person_ids, viewer=None)
    return ids


async def teams_ids_and_timezone(
    tx: Tx, person_ids: Iterable[str], *, viewer: str | None
) -> tuple[list[str], str | None]:
    """`teams_ids_of(person_ids)`, and the time zone of `viewer` (one of them, or None), read
    together in one statement."""
    wanted = list(person_ids)
    found = await tx.conversations.addressees([*wanted, *([viewer] if viewer else [])])
    ids = [found[p].teams_id for p in wanted if p in found and found[p].teams_id]
    viewed_by = found.get(viewer) if viewer else None
    return ids, viewed_by.timezone if viewed_by else None
