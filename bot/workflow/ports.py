"""What the workflow needs from the outside world, as protocols.

`bot/graph/` implements `PimDirectory` and `Engine`; `bot/channel/` implements `Messenger`.
Tests may substitute any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    ActivationResult,
    ActiveRole,
    Actor,
    ApproverRef,
    EligibleRole,
    Message,
    Outcome,
    Person,
    Role,
    SentMessage,
    TokenExchangeOutcome,
)


class PimDirectory(Protocol):
    """Read side of Graph: roles, eligibility, active assignments, policies, people."""

    async def list_roles(self) -> list[Role]: ...

    async def eligible_roles(self, principal_id: str, *, fresh: bool = False) -> list[EligibleRole]:
        """`fresh`: everything read from Graph now, no cached group membership or group
        eligibility (the check right before pimbot itself activates)."""
        ...

    async def active_roles(self, principal_id: str) -> list[ActiveRole]: ...

    async def held_roles(self, principal_id: str) -> tuple[list[EligibleRole], list[ActiveRole]]:
        """`eligible_roles` and `active_roles` together, reading the person's groups once."""
        ...

    async def activation_policy(self, role_id: str) -> ActivationPolicy: ...

    async def resolve_approvers(
        self, approvers: Sequence[ApproverRef], *, fresh: bool = False
    ) -> list[Person]:
        """Users named in the policy plus the transitive user members of named groups,
        without duplicates. `fresh`: read from Graph now, not from a cache."""
        ...

    async def get_person(self, user_id: str) -> Person | None: ...


class RoleDeactivation(Protocol):
    """Ends a person's activation of a role in Entra (each engine in its own way)."""

    async def deactivate(self, principal_id: str, role_id: str) -> None: ...


class Engine(RoleDeactivation, Protocol):
    """The bot engine's writes, with pimbot's own app permissions: how an approved request
    becomes an active role in Entra."""

    async def activate(self, request: ActivationRequest) -> ActivationResult: ...

    async def extend(self, request: ActivationRequest) -> ActivationResult: ...


class DeliveryRefused(Exception):
    """The channel refused a send or update (a 4xx other than 408 and 429): trying the same
    call again will not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status


class DeliveryDelayed(Exception):
    """The channel is busy or failing (429, 408, 5xx, no answer): try again later, after
    `retry_after` seconds when it said so."""

    def __init__(self, status: int | None, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{status or 'no answer'}: {detail}")
        self.status = status
        self.retry_after = retry_after


class Messenger(Protocol):
    """Sends to people outside of a turn (proactive messages) and updates sent cards in place.
    Both raise `DeliveryDelayed` when the channel asks to be tried again later, and `send`
    raises `DeliveryRefused` when the channel refuses the message itself."""

    async def send(self, person: Person, message: Message) -> SentMessage | None:
        """Send to the person's 1:1 chat with the bot, creating it when needed. None when the
        person cannot be reached (no known conversation and none can be created). The sent
        message's `activity_id` is empty when the channel accepted it without naming it."""
        ...

    async def update(self, sent: SentMessage, message: Message) -> bool:
        """Replace a sent message. False when this copy cannot be updated in place (it has no
        id, its conversation is unknown, or the channel refused the update)."""
        ...


# The exchange id of a sign-in completed through the sign-in card's button (`signin/verifyState`).
LATEST_SIGN_IN = "*"


class TurnHandler(Protocol):
    """The workflow's entry points for inbound turns. The channel authenticates, records the
    person's conversation, turns the activity into one of these calls and the result back into
    activities and invoke responses."""

    async def on_text(self, actor: Actor, text: str) -> Outcome: ...

    async def on_action(
        self, actor: Actor, data: Mapping[str, Any], card: SentMessage | None = None
    ) -> Outcome:
        """A card action: Action.Execute's `action.data` or Action.Submit's `value`, with the
        card's input values merged in. `card`: the message that carried the button, when the
        channel knows it (so the card it turns into can be kept up to date)."""
        ...

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        """The person's SSO token for the sign-in `exchange_id` asked for; `LATEST_SIGN_IN`
        when the sign-in was completed through the card's Sign in button (Teams then names no
        exchange): the newest sign-in waiting for the person."""
        ...

    async def on_installed(self, actor: Actor) -> Outcome: ...

    async def on_foreign_tenant(self, actor: Actor | None, tenant_id: str, activity: str) -> None:
        """The channel refused an activity from another tenant (`activity` names its kind);
        the workflow records the refusal."""
        ...
