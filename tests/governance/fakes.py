"""In-memory Entra group membership for the admin side's tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain import Person
from bot.graph.errors import GraphError


@dataclass
class FakeAdminDirectory:
    """Groups as {group id: members}; records every call, so a test can tell what was read."""

    groups: dict[str, list[Person]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_with: GraphError | None = None

    async def is_transitive_member(self, person_id: str, group_id: str) -> bool:
        self.calls.append(("is_transitive_member", person_id))
        if self.fail_with is not None:
            raise self.fail_with
        return any(p.id == person_id for p in self.groups.get(group_id, []))

    async def transitive_members(self, group_id: str) -> list[Person]:
        self.calls.append(("transitive_members", group_id))
        if self.fail_with is not None:
            raise self.fail_with
        return list(self.groups.get(group_id, []))
