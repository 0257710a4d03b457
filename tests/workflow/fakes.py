"""In-memory stand-ins for Graph and Teams, for workflow tests that need no network.

They hold just enough state to answer as Graph would: eligibility, active roles with end times,
policies, approver groups. The end-to-end tests run the real Graph client against the Graph twin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    ActivationResult,
    ActiveRole,
    ApproverKind,
    ApproverRef,
    EligibleRole,
    GraphError,
    Message,
    Person,
    Role,
    RoleAssignmentDoesNotExist,
    RoleAssignmentExists,
    SentMessage,
)
from bot.sso import InvalidSsoToken, SsoClaims
from tests.support.clock import FakeClock

TENANT = "tenant-1"
EXCHANGE = Role(id="29232cdf-9323-42fd-ade2-1d097af3e4de", display_name="Exchange Administrator")
USER_ADMIN = Role(id="fe930be7-5e62-47db-91af-98c3a49a38b1", display_name="User Administrator")
SECURITY = Role(id="194ae4cb-b126-40b2-bd5b-6091b380977d", display_name="Security Administrator")
GLOBAL = Role(id="62e90394-69f5-4237-9190-012177145e10", display_name="Global Administrator")


def person(name: str) -> Person:
    return Person(id=f"id-{name}", tenant_id=TENANT, display_name=name.title(), upn=f"{name}@x")


ADELE, MEGAN, NESTOR, LIDIA, MALLORY = (
    person(n) for n in ("adele", "megan", "nestor", "lidia", "mallory")
)


@dataclass
class FakeDirectory:
    now: FakeClock
    roles: list[Role] = field(default_factory=lambda: [EXCHANGE, USER_ADMIN, SECURITY, GLOBAL])
    eligible: dict[str, list[Role]] = field(default_factory=dict)
    active: dict[tuple[str, str], tuple[datetime, datetime | None]] = field(default_factory=dict)
    policies: dict[str, ActivationPolicy] = field(default_factory=dict)
    groups: dict[str, list[Person]] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    fail_with: GraphError | None = None
    # Set to make resolve_approvers hang until released (a slow Graph).
    approvers_gate: asyncio.Event | None = None

    async def list_roles(self) -> list[Role]:
        return list(self.roles)

    async def eligible_roles(self, principal_id: str, *, fresh: bool = False) -> list[EligibleRole]:
        self._maybe_fail()
        return [EligibleRole(role=r) for r in self.eligible.get(principal_id, [])]

    async def held_roles(self, principal_id: str) -> tuple[list[EligibleRole], list[ActiveRole]]:
        return await self.eligible_roles(principal_id), await self.active_roles(principal_id)

    async def active_roles(self, principal_id: str) -> list[ActiveRole]:
        self._maybe_fail()
        now = self.now()
        out = []
        for (pid, role_id), (start, end) in self.active.items():
            if pid == principal_id and (end is None or end > now):
                role = next(r for r in self.roles if r.id == role_id)
                out.append(ActiveRole(role=role, start=start, end=end, assignment_type="Assigned"))
        return out

    async def activation_policy(self, role_id: str) -> ActivationPolicy:
        self._maybe_fail()
        return self.policies.get(role_id, ActivationPolicy(role_id=role_id))

    async def resolve_approvers(
        self, approvers: Sequence[ApproverRef], *, fresh: bool = False
    ) -> list[Person]:
        if self.approvers_gate is not None:
            await self.approvers_gate.wait()
        found: dict[str, Person] = {}
        for ref in approvers:
            members = (
                self.groups.get(ref.id, [])
                if ref.kind is ApproverKind.GROUP
                else [self.people[ref.id]]
            )
            for member in members:
                found.setdefault(member.id, member)
        return list(found.values())

    async def get_person(self, user_id: str) -> Person | None:
        return self.people.get(user_id)

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


@dataclass
class FakeEngine:
    directory: FakeDirectory
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    failures: list[GraphError] = field(default_factory=list)

    async def activate(self, request: ActivationRequest) -> ActivationResult:
        self.calls.append(("activate", request.requester.id, request.role.id))
        if self.failures:
            raise self.failures.pop(0)
        key = (request.requester.id, request.role.id)
        if key in self.directory.active:
            raise RoleAssignmentExists(400, "RoleAssignmentExists", "exists")
        now = self.directory.now()
        end = now + request.duration
        self.directory.active[key] = (now, end)
        return ActivationResult(
            graph_request_id=f"g-{len(self.calls)}", status="Provisioned", start=now, end=end
        )

    async def extend(self, request: ActivationRequest) -> ActivationResult:
        """As the bot engine extends: the duration is added to the current end."""
        self.calls.append(("extend", request.requester.id, request.role.id))
        key = (request.requester.id, request.role.id)
        if self.directory.active.get(key, (None, None))[1] is None:
            raise RoleAssignmentDoesNotExist(400, "RoleAssignmentDoesNotExist", "nothing to extend")
        now = self.directory.now()
        end = self.directory.active[key][1] + request.duration  # type: ignore[operator]
        self.directory.active[key] = (now, end)
        return ActivationResult(graph_request_id="g-ext", status="Provisioned", start=now, end=end)

    async def deactivate(self, principal_id: str, role_id: str) -> None:
        self.calls.append(("deactivate", principal_id, role_id))
        self.directory.active.pop((principal_id, role_id), None)

    def activations(self) -> int:
        return sum(1 for c in self.calls if c[0] == "activate")


@dataclass
class Delivered:
    person_id: str
    message: Message
    activity_id: str


@dataclass
class FakeMessenger:
    sent: list[Delivered] = field(default_factory=list)
    updates: list[tuple[SentMessage, Message]] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        if person.id in self.unreachable:
            return None
        activity_id = f"act-{len(self.sent) + 1}"
        self.sent.append(Delivered(person.id, message, activity_id))
        return SentMessage(
            person_id=person.id, conversation_id=f"conv-{person.id}", activity_id=activity_id
        )

    async def update(self, sent: SentMessage, message: Message) -> bool:
        self.updates.append((sent, message))
        return True

    def to(self, person_id: str) -> list[Message]:
        return [d.message for d in self.sent if d.person_id == person_id]


@dataclass
class FakeSso:
    """Tokens are strings like "oid:mfa" or "oid:pwd"; "bad" is rejected."""

    async def validate(self, token: str) -> SsoClaims:
        if token == "bad":
            raise InvalidSsoToken("token rejected: InvalidSignatureError")
        oid, _, method = token.partition(":")
        amr = ("pwd", "mfa") if method == "mfa" else ("pwd",)
        return SsoClaims(object_id=oid, tenant_id=TENANT, amr=amr)

    async def close(self) -> None:
        return None


HOUR = timedelta(hours=1)
