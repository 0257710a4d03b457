"""The workflow's front door: one method per kind of inbound turn, routing to the part that knows.

Implements `TurnHandler` (ports.py). Everything here speaks pimbot's own types; the channel has
already authenticated the person and recorded their conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import cards
from bot import commands
from bot.domain import (
    Actor,
    CardMessage,
    CardSubject,
    GraphError,
    Outcome,
    RequestKind,
    RequestState,
    SentMessage,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.workflow import live_cards, talk
from bot.workflow.audit import audit
from bot.workflow.context import Deps
from bot.workflow.deciding import Deciding
from bot.workflow.engines.protocol import WorkflowEngine
from bot.workflow.errors import graph_trouble
from bot.workflow.ports import LATEST_SIGN_IN
from bot.workflow.requesting import request_id_for
from cards import actions
from cards.actions import MAX_JUSTIFICATION_LENGTH
from cards.text import plain

log = logging.getLogger(__name__)


class Workflow:
    def __init__(self, deps: Deps, engine: WorkflowEngine) -> None:
        """`engine`: the bot engine (`BotFlow`) or the pim engine (`PimFlow`), chosen once."""
        self.deps = deps
        self.engine = engine
        self.requesting = engine.requesting
        self.roles = engine.roles
        self.deciding = Deciding(deps, engine)

    async def on_text(self, actor: Actor, text: str) -> Outcome:
        if len(text) > commands.MAX_TEXT_LENGTH:
            # Never read a cut command: a reason typed inline would reach the form cut short.
            return _text(
                f"Your message is {len(text):,} characters long; I read messages of up to "
                f"{commands.MAX_TEXT_LENGTH:,}. Nothing was done. Send the command again with a "
                f"shorter reason (a reason fits up to {MAX_JUSTIFICATION_LENGTH} characters), "
                "e.g. `activate Exchange Admin for 2h because INC-1234 mailbox restore`."
            )
        command = commands.parse_command(text)
        try:
            return await self._command(actor, command)
        except GraphError as exc:
            log.warning("Graph error on %s: %s", type(command).__name__, exc)
            return _text(graph_trouble(exc, "do that") + " Nothing was changed; try again shortly.")

    async def on_action(
        self, actor: Actor, data: Mapping[str, Any], card: SentMessage | None = None
    ) -> Outcome:
        try:
            action = actions.parse_action(data)
        except actions.InvalidAction as exc:
            return Outcome(replies=[TextMessage(text=exc.friendly_message)])
        try:
            outcome = await self._action(actor, action, card)
        except GraphError as exc:
            log.warning("Graph error on %s: %s", type(action).__name__, exc)
            words = graph_trouble(exc, "do that") + " Nothing was changed; try again shortly."
            return Outcome(replies=[TextMessage(text=words)])
        request_id = _request_of(actor, action)
        if outcome.card_update is not None and outcome.card_subject is None and request_id:
            # Drawn from some state of the request: drawn again once it is recorded.
            subject = CardSubject(request_id=request_id, version=live_cards.UNKNOWN_VERSION)
            outcome = outcome.model_copy(update={"card_subject": subject})
        if card is not None:
            outcome = await live_cards.keep_current(self.deps, actor, card, outcome)
        return outcome

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        if exchange_id == LATEST_SIGN_IN:
            newest = await self.newest_sign_in(actor)
            if newest is None:
                return TokenExchangeOutcome(
                    accepted=False,
                    failure_detail="nothing waits for a sign-in",
                    outcome=_text(NOTHING_WAITS_FOR_SIGN_IN),
                )
            exchange_id = newest[1]
        try:
            return await self.engine.on_token_exchange(actor, exchange_id, token)
        except GraphError as exc:
            return TokenExchangeOutcome(
                accepted=True, outcome=_text(graph_trouble(exc, "submit your request"))
            )

    async def newest_sign_in(self, actor: Actor) -> tuple[datetime, str] | None:
        """Since when, and the exchange id of, the newest sign-in waiting for `actor`: an action
        that waits (pim engine) or a draft request waiting for the requester's sign-in (its
        id). The admin side compares it with its own (`bot/governance/front.py`)."""
        now = self.deps.now()
        async with self.deps.db.transaction() as tx:
            waiting = await tx.sign_ins.newest_for(actor.person.id, now=now)
            drafts = [
                r
                for r in await tx.requests.open_for_requester(actor.person.id)
                if r.state is RequestState.DRAFT
            ]
        candidates: list[tuple[datetime, str]] = [(r.created_at, r.id) for r in drafts]
        if waiting is not None:
            wait, began = waiting
            candidates.append((began, wait.exchange_id))
        return max(candidates) if candidates else None

    async def on_installed(self, actor: Actor) -> Outcome:
        name = _first_name(actor)
        return Outcome(
            replies=[
                TextMessage(
                    text=f"Hi {plain(name)}! I'm pimbot. I activate "
                    "your Entra admin roles just in time, "
                    "with approval when the role needs it. Try `my roles`."
                ),
                CardMessage(card=cards.help_card(), summary="What I can do"),
            ]
        )

    async def on_foreign_tenant(self, actor: Actor | None, tenant_id: str, activity: str) -> None:
        async with self.deps.db.transaction() as tx:
            await audit(
                tx,
                self.deps.now(),
                actor.person.id if actor else None,
                "tenant.refused",
                None,
                outcome="refused",
                reason="the sender belongs to another tenant",
                details={"tenant_id": tenant_id[:100], "activity": activity[:100]},
            )

    async def _command(self, actor: Actor, command: commands.Command) -> Outcome:
        match command:
            case commands.Activate():
                return await self.requesting.start(
                    actor,
                    command.role_query,
                    duration=command.duration,
                    justification=command.justification or "",
                    ticket=command.ticket or "",
                    duration_text=command.duration_text,
                )
            case commands.Deactivate():
                return await self.engine.deactivate_by_name(actor, command.role_query)
            case commands.Extend():
                return await self.engine.extend_by_name(actor, command.role_query)
            case commands.MyRoles():
                return await self.roles.my_roles(actor)
            case commands.Pending():
                return await self.engine.pending(actor)
            case commands.Cancel():
                return await self.engine.cancel_named(actor, command.request_ref)
            case commands.Help():
                return Outcome(
                    replies=[CardMessage(card=cards.help_card(), summary="What I can do")]
                )
            case commands.Greeting():
                return _text(talk.greeting(_first_name(actor), command))
            case commands.NotAvailable():
                return _text(talk.not_available(command))
            case commands.Unknown():
                return _text(talk.not_understood(command))
        return _text(talk.CAPABILITIES)

    async def _action(
        self, actor: Actor, action: actions.CardAction, card: SentMessage | None
    ) -> Outcome:
        match action:
            case actions.SubmitRequest():
                return await self.requesting.submit(
                    actor,
                    form_id=action.form_id,
                    role_id=action.role_id,
                    kind=RequestKind(action.kind),
                    duration=action.duration,
                    justification=action.justification,
                    ticket_number=action.ticket_number,
                    ticket_system=action.ticket_system,
                    form=card,
                )
            case actions.Approve():
                return await self.deciding.decide(
                    actor, action.request_id, "approve", action.reason
                )
            case actions.Deny():
                return await self.deciding.decide(actor, action.request_id, "deny", action.reason)
            case actions.CancelRequest():
                return await self.engine.cancel(actor, action.request_id)
            case actions.RetryRequest():
                return await self.engine.retry(actor, action.request_id)
            case actions.PickRole():
                return await self.requesting.pick(
                    actor,
                    action.role_id,
                    duration=action.duration,
                    justification=action.justification,
                    ticket=action.ticket,
                )
            case actions.ExtendRole():
                outcome = await self.engine.extend(actor, action.role_id)
                return await self._with_current_card(actor, action.request_id, outcome)
            case actions.DeactivateRole():
                outcome = await self.engine.deactivate(actor, action.role_id)
                return await self._with_current_card(actor, action.request_id, outcome)
            case actions.Refresh():
                return await self.deciding.refresh(actor, action.request_id)
        return _text("I don't know that button. Type `help`.")

    async def _with_current_card(
        self, actor: Actor, request_id: str | None, outcome: Outcome
    ) -> Outcome:
        """A button on a request's card (Extend, Deactivate) is answered with that card as it
        is now, drawn from stored state: after a deactivation it says so, and a press on a
        stale card (the role ended, or was extended) shows the truth instead of old buttons."""
        if outcome.card_update is not None:
            return outcome
        current = await live_cards.current_card(self.deps, actor, request_id)
        if current is None:
            return outcome
        return outcome.model_copy(
            update={"card_update": current.card_update, "card_subject": current.card_subject}
        )


def _request_of(actor: Actor, action: actions.CardAction) -> str | None:
    """The request whose card carried the action, when the action names one."""
    match action:
        case actions.SubmitRequest():
            return request_id_for(actor.person.id, action.form_id)
        case (
            actions.Approve()
            | actions.Deny()
            | actions.CancelRequest()
            | actions.RetryRequest()
            | actions.Refresh()
            | actions.ExtendRole()
            | actions.DeactivateRole()
        ):
            return action.request_id
    return None


def _first_name(actor: Actor) -> str:
    return actor.person.display_name.split(" ")[0] if actor.person.display_name else "there"


NOTHING_WAITS_FOR_SIGN_IN = (
    "You're signed in. Nothing was waiting for a sign-in, so nothing changed."
)


def _text(text: str) -> Outcome:
    return Outcome(replies=[TextMessage(text=text)])
