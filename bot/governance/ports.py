"""What governance needs from Graph, as protocols; `bot/graph/` implements them (wired in
`bot/app.py`), tests may substitute any of them."""

from __future__ import annotations

from typing import Protocol

from bot.domain import Person


class AdminDirectory(Protocol):
    """Group membership as Entra has it now (never cached: every admin action is checked at the
    moment it is taken)."""

    async def is_transitive_member(self, person_id: str, group_id: str) -> bool:
        """Whether the user is a member of the group, directly or through nested groups."""
        ...

    async def transitive_members(self, group_id: str) -> list[Person]:
        """The group's enabled user members, directly or through nested groups."""
        ...
