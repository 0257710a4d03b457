"""Reviewers' buttons and sign-ins go to access reviews; everything else to the turn handler
behind (the admin front). Reviewers need not be admins: the journey checks that they are
reviewers of the review, from its store and Graph."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.domain import (
    Actor,
    GraphError,
    Outcome,
    SentMessage,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.governance.reviews.journey import SIGN_IN_PREFIX, VERBS, Reviews
from bot.workflow.errors import graph_trouble
from bot.workflow.ports import TurnHandler

log = logging.getLogger(__name__)


class ReviewFront:
    def __init__(self, inner: TurnHandler, reviews: Reviews) -> None:
        self._inner = inner
        self._reviews = reviews

    async def on_text(self, actor: Actor, text: str) -> Outcome:
        return await self._inner.on_text(actor, text)

    async def on_action(
        self, actor: Actor, data: Mapping[str, Any], card: SentMessage | None = None
    ) -> Outcome:
        verb = data.get("verb") if isinstance(data, Mapping) else None
        if isinstance(verb, str) and verb in VERBS:
            try:
                return await self._reviews.on_action(actor, data, card)
            except GraphError as exc:
                log.warning("Graph error on %s: %s", verb, exc)
                words = graph_trouble(exc, "do that") + " Nothing was recorded; try again shortly."
                return Outcome(replies=[TextMessage(text=words)])
        return await self._inner.on_action(actor, data, card)

    async def on_token_exchange(
        self, actor: Actor, exchange_id: str, token: str
    ) -> TokenExchangeOutcome:
        if exchange_id.startswith(SIGN_IN_PREFIX):
            return await self._reviews.on_sign_in(actor, exchange_id, token)
        return await self._inner.on_token_exchange(actor, exchange_id, token)

    async def on_installed(self, actor: Actor) -> Outcome:
        return await self._inner.on_installed(actor)

    async def on_foreign_tenant(self, actor: Actor | None, tenant_id: str, activity: str) -> None:
        await self._inner.on_foreign_tenant(actor, tenant_id, activity)
