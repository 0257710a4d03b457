"""The admin side's front door: a `TurnHandler` in front of the activation workflow.

Admin commands (`standing`, ...) and admin buttons (verbs an admin journey registered) go to
governance, each through the admin gate first; everything else goes to the workflow unchanged.
An admin journey plugs in with

    front.add_command("standing", standing.on_command)        # (actor, text) -> Outcome
    front.add_actions(("standing.convert",), standing.on_action)  # (actor, data) -> Outcome

`add_command` takes the names `bot.commands` reads as `NotAvailable(command)` (admin commands).
The gate has already admitted the actor when a handler is called.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from bot import commands
from bot.domain import (
    Actor,
    CardMessage,
    GraphError,
    Message,
    Outcome,
    SentMessage,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.governance.gate import AdminGate
from bot.workflow.errors import graph_trouble
from bot.workflow.ports import LATEST_SIGN_IN, TurnHandler
from cards.governance.help import with_admin_help

log = logging.getLogger(__name__)

CommandHandler = Callable[[Actor, str], Awaitable[Outcome]]
SignInHandler = Callable[[Actor, str, str], Awaitable[TokenExchangeOutcome]]
# Since when, and the exchange id of, the newest sign-in waiting for a person (None: none).
NewestSignIn = Callable[[Actor], Awaitable[tuple[datetime, str] | None]]


class WorkflowTurns(TurnHandler, Protocol):
    """The workflow as the admin front needs it: its turns, and its newest waiting sign-in (a
    sign-in finished with the card's button arrives without saying which one it was)."""

    async def newest_sign_in(self, actor: Actor) -> tuple[datetime, str] | None: ...


ActionHandler = Callable[[Actor, Mapping[str, Any]], Awaitable[Outcome]]
# Ids a button may carry that are worth naming in the audit log of a refusal.
_AUDITED_KEYS = ("change_id", "principal_id", "role_id", "page")


class AdminFront:
    def __init__(self, workflow: WorkflowTurns, gate: AdminGate) -> None:
        self._workflow = workflow
        self.gate = gate
        self._commands: dict[str, CommandHandler] = {}
        self._actions: dict[str, ActionHandler] = {}
        self._sign_ins: dict[str, tuple[SignInHandler, NewestSignIn]] = {}

    def add_command(self, name: str, handler: CommandHandler) -> None:
        self._commands[name] = handler

    def add_actions(self, verbs: Iterable[str], handler: ActionHandler) -> None:
        for verb in verbs:
            self._actions[verb] = handler

    def add_sign_in(self, prefix: str, handler: SignInHandler, newest: NewestSignIn) -> None:
        """Token exchanges whose id starts with `prefix` are the admin side's sign-ins; `newest`
        names the newest one waiting for a person, for a sign-in that does not say which."""
        self._sign_ins[prefix] = (handler, newest)

    @property
    def commands(self) -> tuple[str, ...]:
        return tuple(self._commands)

    # --- TurnHandler ------------------------------------------------------------------------

    async def on_text(self, actor: Actor, text: str) -> Outcome:
        command = commands.parse_command(text) if len(text) <= commands.MAX_TEXT_LENGTH else None
        if isinstance(command, commands.NotAvailable) and command.command in self._commands:
            refused = await self.gate.admit(actor, command.command)
            if refused is not None:
                return refused.outcome()
            return await self._guarded(
                command.command, self._commands[command.command](actor, text)
            )
        outcome = await self._workflow.on_text(actor, text)
        if isinstance(command, commands.Help):
            return outcome.model_copy(
                update={"replies": [self._admin_help(m) for m in outcome.replies]}
            )
        return outcome

    async def on_action(
        self, actor: Actor, data: Mapping[str, Any], card: SentMessage | None = None
    ) -> Outcome:
        verb = data.get("verb") if isinstance(data, Mapping) else None
        handler = self._actions.get(verb) if isinstance(verb, str) else None
        if handler is None or not isinstance(verb, str):
            return await self._workflow.on_action(actor, data, card)
        details = {key: str(data[key]) for key in _AUDITED_KEYS if key in data}
        refused = await self.gate.admit(actor, verb, details=details)
        if refused is not None:
            return refused.outcome()
        return await self._guarded(verb, handler(actor, data))

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        if exchange_id == LATEST_SIGN_IN:
            exchange_id = await self._newest_sign_in(actor)
        for prefix, (handler, _) in self._sign_ins.items():
            if exchange_id.startswith(prefix):
                try:
                    return await handler(actor, exchange_id, token)
                except GraphError as exc:
                    words = graph_trouble(exc, "sign you in to Graph")
                    return TokenExchangeOutcome(
                        accepted=True, outcome=Outcome(replies=[TextMessage(text=words)])
                    )
        return await self._workflow.on_token_exchange(actor, exchange_id, token)

    async def on_installed(self, actor: Actor) -> Outcome:
        return await self._workflow.on_installed(actor)

    async def on_foreign_tenant(self, actor: Actor | None, tenant_id: str, activity: str) -> None:
        await self._workflow.on_foreign_tenant(actor, tenant_id, activity)

    # --- helpers ----------------------------------------------------------------------------

    async def _newest_sign_in(self, actor: Actor) -> str:
        """The exchange id of the newest sign-in waiting for `actor`, the admin side's or the
        workflow's; `LATEST_SIGN_IN` (the workflow resolves it) when the workflow's is newer."""
        workflow = await self._workflow.newest_sign_in(actor)
        best = (workflow[0], LATEST_SIGN_IN) if workflow is not None else None
        for _, newest in self._sign_ins.values():
            mine = await newest(actor)
            if mine is not None and (best is None or mine[0] > best[0]):
                best = mine
        return best[1] if best is not None else LATEST_SIGN_IN

    async def _guarded(self, what: str, call: Awaitable[Outcome]) -> Outcome:
        try:
            return await call
        except GraphError as exc:
            log.warning("Graph error on admin %s: %s", what, exc)
            words = graph_trouble(exc, "do that") + " Nothing was changed; try again shortly."
            return Outcome(replies=[TextMessage(text=words)])

    def _admin_help(self, message: Message) -> Message:
        """The help card, with the admin commands (or how to turn them on) added."""
        if not isinstance(message, CardMessage):
            return message
        card = with_admin_help(message.card, commands=self.commands, enabled=self.gate.enabled)
        return message.model_copy(update={"card": card})
