"""In-memory Entra group membership for the admin side's tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.domain import Person, Role
from bot.governance.domain import (
    STANDING_HORIZON,
    EligibilityLimit,
    StandingAssignment,
    StandingSnapshot,
)
from bot.graph.errors import GraphError, RoleAssignmentDoesNotExist, RoleAssignmentExists


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


@dataclass
class FakeStanding:
    """Standing access in memory: active assignments and eligibilities by (principal, role).
    `fail_on` makes a named call raise once per listed error; `crash_after` raises
    `SimulatedCrash` right after a named write succeeded."""

    assignments: dict[tuple[str, str], StandingAssignment] = field(default_factory=dict)
    eligible: dict[tuple[str, str], tuple[datetime, datetime]] = field(default_factory=dict)
    limits: dict[str, EligibilityLimit] = field(default_factory=dict)
    writes: list[tuple[str, str, str]] = field(default_factory=list)
    fail_on: dict[str, list[GraphError]] = field(default_factory=dict)
    crash_after: set[str] = field(default_factory=set)
    # Called right before a named write: another worker acting at the same moment.
    before: dict[str, Callable[[], None]] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()

    def hold(
        self,
        who: Person,
        role: Role,
        *,
        origin: Literal["pim", "direct"] = "pim",
        end: datetime | None = None,
        since: datetime | None = None,
        principal_type: Literal["user", "group", "servicePrincipal", "unknown"] = "user",
    ) -> StandingAssignment:
        assignment = StandingAssignment(
            principal=who,
            principal_type=principal_type,
            role=role,
            assignment_id=f"{role.id}_{who.id}",
            origin=origin,
            since=since,
            end=end,
        )
        self.assignments[(who.id, role.id)] = assignment
        return assignment

    def _maybe_fail(self, call: str) -> None:
        errors = self.fail_on.get(call)
        if errors:
            raise errors.pop(0)

    async def standing_assignments(self, now: datetime) -> StandingSnapshot:
        self._maybe_fail("standing_assignments")
        return StandingSnapshot(
            assignments=tuple(
                a
                for a in self.assignments.values()
                if a.end is None or a.end > now + STANDING_HORIZON
            ),
            unknown=self.unknown,
        )

    async def active_assignment(self, principal_id: str, role_id: str) -> StandingAssignment | None:
        self._maybe_fail("active_assignment")
        return self.assignments.get((principal_id, role_id))

    async def active_principals(self, role_id: str) -> list[str]:
        return sorted(p for p, r in self.assignments if r == role_id)

    async def is_eligible(self, principal_id: str, role_id: str) -> bool:
        return (principal_id, role_id) in self.eligible

    async def eligibility_limit(self, role_id: str) -> EligibilityLimit:
        return self.limits.get(role_id, EligibilityLimit(maximum=timedelta(days=365)))

    async def make_eligible(
        self, principal_id: str, role_id: str, start: datetime, end: datetime, justification: str
    ) -> str:
        self._maybe_fail("make_eligible")
        if "make_eligible" in self.before:
            self.before.pop("make_eligible")()
        if (principal_id, role_id) in self.eligible:
            raise RoleAssignmentExists(400, "RoleAssignmentExists", "The Role assignment exists.")
        self.eligible[(principal_id, role_id)] = (start, end)
        self.writes.append(("make_eligible", principal_id, role_id))
        if "make_eligible" in self.crash_after:
            self.crash_after.discard("make_eligible")
            raise SimulatedCrash("after make_eligible")
        return f"elig-{len(self.writes)}"

    async def remove_assignment(self, principal_id: str, role_id: str, justification: str) -> str:
        self._maybe_fail("remove_assignment")
        if "remove_assignment" in self.before:
            self.before.pop("remove_assignment")()
        if (principal_id, role_id) not in self.assignments:
            raise RoleAssignmentDoesNotExist(
                400, "RoleAssignmentDoesNotExist", "The role assignment does not exist."
            )
        del self.assignments[(principal_id, role_id)]
        self.writes.append(("remove_assignment", principal_id, role_id))
        return f"remove-{len(self.writes)}"


class SimulatedCrash(BaseException):
    """The process dying between two steps (not an Exception: nothing catches it)."""
