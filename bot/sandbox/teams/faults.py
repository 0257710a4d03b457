"""What the Bot Connector twin can be told to do instead of answering plainly, to drive a bot
through what real connectors and their stand-ins do now and then: hold a call (a slow connector,
or a moment to stop the bot at), run something just before answering, answer a send 202 with no
activity id (Microsoft 365 Agents Playground does), or answer with a gateway's HTML error page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from aiohttp import web


class OddAnswer(StrEnum):
    ACCEPTED_WITHOUT_ID = "accepted_without_id"  # 202, empty body; the message is posted
    HTML_PAGE = "html_page"  # a gateway's error page with its status; the call does nothing


@dataclass
class _Rule:
    remaining: int
    method: str | None
    conversation_id: str | None
    hold: bool = False
    answer: OddAnswer | None = None
    before_answer: Callable[[], None] | None = None
    skip: int = 0  # matching calls to let through first
    status: int = 502
    retry_after: int | None = None

    def applies_to(self, method: str, conversation_id: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method == method)
            and (self.conversation_id is None or self.conversation_id == conversation_id)
        )


@dataclass
class Plan:
    """What to do with one call: the rules it used up, in the order they were given."""

    hold: bool = False
    answer: _Rule | None = None
    before_answer: list[Callable[[], None]] | None = None


@dataclass
class _Gate:
    """What the calls held now wait for, and whether they are carried out when it opens."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    carry_out: bool = True


class ConnectorFaults:
    """Rules for the next calls to `/v3/conversations/{id}/activities…`; each applies to the
    next `count` calls with that method (POST: send, PUT: update) and conversation, if given.
    Use them on the twins' loop."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._gate = _Gate()
        self.held = 0  # calls waiting in a hold right now

    def hold(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        after: int = 0,
        conversation_id: str | None = None,
    ) -> None:
        """After `after` calls, the next `count` wait, unanswered and not yet carried out, until
        `release()`."""
        self._rules.append(_Rule(count, _upper(method), conversation_id, hold=True, skip=after))

    def before_answer(
        self,
        callback: Callable[[], None],
        count: int = 1,
        *,
        method: str | None = None,
        after: int = 0,
    ) -> None:
        """After `after` calls, run `callback` once each of the next `count` calls was carried
        out, just before its answer leaves (the moment between a message posted and the bot
        told of it)."""
        self._rules.append(_Rule(count, _upper(method), None, before_answer=callback, skip=after))

    def answer_oddly(
        self,
        answer: OddAnswer,
        count: int = 1,
        *,
        method: str | None = None,
        conversation_id: str | None = None,
        status: int = 502,
        retry_after: int | None = None,
    ) -> None:
        """The next `count` calls get `answer` (an HTML page: with `status` and
        `Retry-After`)."""
        self._rules.append(
            _Rule(
                count,
                _upper(method),
                conversation_id,
                answer=answer,
                status=status,
                retry_after=retry_after,
            )
        )

    def calm(self) -> None:
        """Drop every rule and end the holds."""
        self._rules.clear()
        self.release()

    def release(self, *, carry_out: bool = True) -> None:
        """End every hold now. With `carry_out=False` the held calls are dropped, not carried
        out: the connector never had them (the bot died before its request reached Teams)."""
        gate, self._gate = self._gate, _Gate()
        gate.carry_out = carry_out
        gate.opened.set()

    def plan(self, method: str, conversation_id: str) -> Plan:
        plan = Plan()
        for rule in self._rules:
            if not rule.applies_to(method, conversation_id):
                continue
            if rule.skip > 0:
                rule.skip -= 1
                continue
            rule.remaining -= 1
            if rule.hold:
                plan.hold = True
            if rule.answer is not None and plan.answer is None:
                plan.answer = rule
            if rule.before_answer is not None:
                plan.before_answer = [*(plan.before_answer or []), rule.before_answer]
        self._rules = [rule for rule in self._rules if rule.remaining > 0]
        return plan

    async def wait(self) -> bool:
        """Until the hold ends; False when the call is dropped rather than carried out."""
        gate = self._gate
        self.held += 1
        try:
            await gate.opened.wait()
        finally:
            self.held -= 1
        return gate.carry_out


def html_page(status: int, retry_after: int | None = None) -> web.Response:
    """A gateway's error page, as an HTML body with its status."""
    reason = {404: "Not Found", 429: "Too Many Requests", 502: "Bad Gateway"}.get(status, "Error")
    title = f"<title>{status} {reason}</title>"
    body = f"<html><head>{title}</head><body><h1>{reason}</h1></body></html>"
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


def _upper(method: str | None) -> str | None:
    return method.upper() if method else None
