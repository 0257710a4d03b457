"""Approve, deny, retry: decisions checked against the request as stored, never against the card.

The first decision wins by a conditional update (`… WHERE state = 'pending_approval'`); a second
tap sees the outcome instead of an error.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Literal, Protocol

import cards
from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    Actor,
    CardSubject,
    GraphError,
    Outcome,
    RequestState,
    TextMessage,
)
from bot.store import Tx
from bot.timefmt import format_when
from bot.workflow import live_cards
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from cards.text import plain

MAX_REASON = 500
# Each of the two Graph checks of a decision waits at most this long (their reads are cached, so
# usually not at all): the tap is answered within 1 s whatever Graph does.
CURRENT_POLICY_BUDGET_SECONDS = 0.4

log = logging.getLogger(__name__)


async def still_an_approver(
    deps: Deps, person_id: str, request: ActivationRequest, *, fresh: bool = False
) -> bool:
    """Whether the role's current policy still names this person (directly or through a group)
    as an approver. `fresh`: the people behind the approvers read now, not from the cache."""
    policy = await deps.directory.activation_policy(request.role.id)
    current = await deps.directory.resolve_approvers(policy.approvers, fresh=fresh)
    return person_id in {p.id for p in current}


class Decisions(Protocol):
    """Where the engines differ in deciding: called once the shared checks have passed (the
    bot engine's conditional write, or PIM deciding with the approver's token)."""

    async def decide(
        self,
        actor: Actor,
        request: ActivationRequest,
        verdict: Literal["approve", "deny"],
        reason: str,
    ) -> Outcome: ...


class Deciding:
    """The checks every decision passes before the engine makes it, and the card's refresh."""

    def __init__(self, deps: Deps, decisions: Decisions) -> None:
        self.deps = deps
        self.decisions = decisions

    async def decide(
        self, actor: Actor, request_id: str, verdict: Literal["approve", "deny"], reason: str
    ) -> Outcome:
        deps, now = self.deps, self.deps.now()
        reason = reason.strip()
        async with deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
        if request is None:
            refusal = "I can't find that request. It may have been removed."
            async with deps.db.transaction() as tx:
                await audit_refusal(tx, now, actor, verdict, None, refusal, request_id)
            return _refused(refusal)
        refusal = await self._refusal(actor, request)
        if refusal:
            async with deps.db.transaction() as tx:
                await audit_refusal(tx, now, actor, verdict, request, refusal)
            return _refused(refusal)
        if request.state is not RequestState.PENDING_APPROVAL:
            async with deps.db.transaction() as tx:
                await audit_refusal(tx, now, actor, verdict, request, too_late(request))
            return already_decided(actor, request)
        if verdict == "deny" and not reason:
            return _refused("Please type a reason in the card when you deny a request.")
        if verdict == "approve" and not reason:
            policy = await self._policy_within_budget(request)
            if policy is not None and policy.approver_justification_required:
                return _refused(
                    f"The policy for {plain(request.role.display_name)} "
                    "asks approvers for a reason. "
                    "Please type one in the card and approve again."
                )
        if len(reason) > MAX_REASON:
            return _refused(f"Keep the reason under {MAX_REASON} characters.")
        return await self.decisions.decide(actor, request, verdict, reason)

    async def refresh(self, actor: Actor, request_id: str) -> Outcome:
        """Action.Execute refresh (or Review): the card as this person should see it now."""
        async with self.deps.db.transaction() as tx:
            request = await tx.requests.get(request_id)
        if request is None:
            return Outcome()
        drawn = await live_cards.card_for(self.deps, actor.person.id, request, tz=actor.timezone)
        if drawn is None:
            return Outcome()
        card, view = drawn
        return Outcome(
            card_update=card,
            card_subject=CardSubject(request_id=view.id, version=view.version),
        )

    async def _refusal(self, actor: Actor, request: ActivationRequest) -> str:
        """Why this person may not decide this request, or "" if they may."""
        person = actor.person
        if person.tenant_id != request.tenant_id:
            return "This request belongs to another organization."
        if person.id == request.requester.id:
            return "You can't approve or deny your own request. Another approver has to decide."
        if person.id not in request.approver_ids:
            return "You are not an approver for this request."
        # The approver list was captured at submit time; it must still hold under the current
        # policy. Teams wants a card action answered within seconds, so this check gets a small
        # budget; when Graph is slower, the activation job repeats it before it acts.
        try:
            still = await asyncio.wait_for(
                self._still_an_approver(person.id, request), CURRENT_POLICY_BUDGET_SECONDS
            )
        except (TimeoutError, GraphError) as exc:
            log.info("approver re-check deferred to the activation job: %s", type(exc).__name__)
            return ""
        if not still:
            return "You are no longer an approver for this role."
        return ""

    async def _policy_within_budget(self, request: ActivationRequest) -> ActivationPolicy | None:
        """The role's policy (usually cached), or None when Graph is too slow to wait for."""
        try:
            return await asyncio.wait_for(
                self.deps.directory.activation_policy(request.role.id),
                CURRENT_POLICY_BUDGET_SECONDS,
            )
        except (TimeoutError, GraphError):
            return None

    async def _still_an_approver(self, person_id: str, request: ActivationRequest) -> bool:
        return await still_an_approver(self.deps, person_id, request)


def _refused(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])


def too_late(request: ActivationRequest) -> str:
    """Why a decision on this request comes too late (a replay, a stale card, a lost race)."""
    if request.decided_by is not None:
        verb = "denied" if request.state is RequestState.DENIED else "approved"
        return (
            f"already {verb} by {plain(request.decided_by.display_name or request.decided_by.id)}"
        )
    return f"already {request.state.value.replace('_', ' ')}"


async def audit_refusal(
    tx: Tx,
    now: datetime,
    actor: Actor,
    verdict: Literal["approve", "deny"],
    request: ActivationRequest | None,
    reason: str,
    request_id: str = "",
) -> None:
    """A refused decision; `request_id` names what the card asked for when no request has it."""
    await audit(
        tx,
        now,
        actor.person.id,
        f"request.{verdict}_refused",
        request,
        outcome="refused",
        reason=reason,
        details={"request_id": request_id} if request is None else None,
    )


def already_decided(actor: Actor, request: ActivationRequest) -> Outcome:
    """The answer to a decision that comes too late: the outcome, and who decided when."""
    if request.decided_by is not None and request.decided_at is not None:
        who = plain(request.decided_by.display_name or "another approver")
        verb = {RequestState.DENIED: "denied"}.get(request.state, "approved")
        when = format_when(request.decided_at, actor.timezone)
        toast = f"Already {verb} by {who} at {when}."
    else:
        toast = f"This request is already {request.state.value.replace('_', ' ')}."
    return Outcome(card_update=cards.approval_decided(request, tz=actor.timezone), toast=toast)
