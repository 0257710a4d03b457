"""What governance needs from Graph, as protocols; `bot/graph/` implements them (wired in
`bot/app.py`), tests may substitute any of them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain import Message, Person, SentMessage
from bot.governance.domain import EligibilityLimit, StandingAssignment, StandingSnapshot
from bot.sso import SsoClaims


class AdminDirectory(Protocol):
    """Group membership as Entra has it now (never cached: every admin action is checked at the
    moment it is taken)."""

    async def is_transitive_member(self, person_id: str, group_id: str) -> bool:
        """Whether the user is a member of the group, directly or through nested groups."""
        ...

    async def transitive_members(self, group_id: str) -> list[Person]:
        """The group's enabled user members, directly or through nested groups."""
        ...


class StandingReads(Protocol):
    """Standing access as Graph has it now (read with the app's own read permissions)."""

    async def standing_assignments(self, now: datetime) -> StandingSnapshot:
        """Every tenant-wide active assignment that has no end, or ends beyond `now` plus
        `STANDING_HORIZON`, with whatever Graph can tell of it."""
        ...

    async def active_assignment(self, principal_id: str, role_id: str) -> StandingAssignment | None:
        """The principal's own tenant-wide active assignment of the role, standing or not."""
        ...

    async def active_principals(self, role_id: str) -> list[str]:
        """Object ids of every principal with an active assignment of the role now."""
        ...

    async def is_eligible(self, principal_id: str, role_id: str) -> bool: ...

    async def eligibility_limit(self, role_id: str) -> EligibilityLimit:
        """What the role's PIM policy allows for an eligibility an admin makes."""
        ...


class StandingWrites(Protocol):
    """The two writes of a conversion. Each returns Graph's schedule request id."""

    async def make_eligible(
        self, principal_id: str, role_id: str, start: datetime, end: datetime, justification: str
    ) -> str:
        """`roleEligibilityScheduleRequests`, `adminAssign`, from `start` until `end`."""
        ...

    async def remove_assignment(self, principal_id: str, role_id: str, justification: str) -> str:
        """`roleAssignmentScheduleRequests`, `adminRemove`."""
        ...


class AdminTokens(Protocol):
    """Delegated Graph tokens of admins (pim engine): PIM records the admin as the actor."""

    def cached(self, person_id: str) -> str | None: ...

    async def exchange(self, person_id: str, sso_token: str, claims: str | None = None) -> str: ...


class SignInChecker(Protocol):
    """Checks a Teams SSO token and says whose it is (`bot.sso.SsoVerifier`)."""

    async def validate(self, token: str) -> SsoClaims: ...


class SendMessages(Protocol):
    """Sends to a person outside a turn (`bot.workflow.ports.Messenger`)."""

    async def send(self, person: Person, message: Message) -> SentMessage | None: ...


class PostToChannel(Protocol):
    """Posts in a Teams channel outside a turn (`bot.channel.messenger.BotMessenger`); raises
    `DeliveryDelayed` when the channel asks to be tried again later."""

    async def post_to_channel(self, channel_id: str, message: Message) -> SentMessage | None:
        """None when the channel cannot be reached (no service URL known yet, or the
        Bot Connector refuses the bot there)."""
        ...


class AlertFixWrites(Protocol):
    """The writes of a fix of a computed alert (`bot/graph/alert_fixes.py`)."""

    async def remove_eligibility(self, principal_id: str, role_id: str, justification: str) -> str:
        """`roleEligibilityScheduleRequests`, `adminRemove`; Graph's request id."""
        ...

    async def remove_assignment(self, principal_id: str, role_id: str, justification: str) -> str:
        """`roleAssignmentScheduleRequests`, `adminRemove` (an app's stale assignment); Graph's
        request id."""
        ...

    async def require_mfa(self, role_id: str) -> bool:
        """Turn on MFA for activation in the role's policy; False when it is on already.
        Raises `bot.governance.policy_ports.PolicyWriteFailed` when Graph refuses."""
        ...
