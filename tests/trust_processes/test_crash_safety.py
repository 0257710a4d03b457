"""SIGKILL a pimbot process at precise moments of one request's journey, restart it, and check
that nothing was lost or done twice: one request, one activation in Graph, and every notice once
as the Teams twin shows it (one approval card per approver, one "active until", one expiry
warning, one end notice).

Moments are observable, not slept to: the bot answered an invoke, the Teams twin shows a card, or
the Graph twin holds a call open (`delay`) while the process dies, then lets Graph finish it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.domain import RequestState
from bot.sandbox.cluster import Cluster, cluster
from bot.sandbox.teams.ids import personal_conversation_id

# Longer than the scheduler's job lease (2 minutes): a dead worker's jobs are claimable again.
PAST_THE_LEASE = timedelta(minutes=2, seconds=10)
HOLD = 600.0  # a held Graph call waits for release(), never for this
APPROVERS = ("megan", "nestor")
ACTIVE = "Exchange Administrator is active until"
WARNING = "Exchange Administrator ends at"
ENDED = "Exchange Administrator has ended"
REQUESTS = "/roleAssignmentScheduleRequests"

KILL_POINTS = [
    "after_submit",  # the invoke answered: request stored, approval cards queued, none out
    "after_approval_cards",  # both cards out and recorded as sent
    "after_approve",  # the decision answered: activation queued
    "during_graph_activation",  # adminAssign held open in Graph; Graph completes it after
    "between_graph_and_notice",  # Graph granted; its answer held, so nothing recorded yet
    "after_active_notice",  # the requester was told
    "after_expiry_warning",  # the warning is out; the end is still ahead
    "after_end_notice",  # everything is done; a restart must not repeat any of it
]


@dataclass
class Crasher:
    c: Cluster
    kill_at: str
    crashes: int = 0

    async def point(self, name: str) -> None:
        if name == self.kill_at:
            await self.crash()

    async def crash(self) -> None:
        bot = self.c.bots[0]
        await bot.killed()
        self.crashes += 1
        await self.c.twins.acall(self._release)  # Graph finishes what it had received
        await self.c.twins.acall(self._drop_held_sends)  # Teams never had these
        self.c.clock.advance(PAST_THE_LEASE)
        await bot.start()

    async def _release(self) -> None:
        self.c.twins.graph.release()

    async def _drop_held_sends(self) -> None:
        self.c.twins.teams.connector.faults.release(carry_out=False)

    async def hold_first_approval_card(self) -> None:
        """At `after_submit`, kill while the first approval card waits to go out: the moment
        after the request was stored and its cards queued, before any reached Teams. (Killed
        during a send instead, the card would go out again after the restart: the Bot Connector
        has no idempotency key; see the residual window in bench/RESULTS.md.)"""
        if self.kill_at != "after_submit":
            return
        conversation = personal_conversation_id(
            self.c.twins.tenant.tenant_id,
            self.c.twins.tenant.pimbot_app.client_id,
            self.c.user_id(APPROVERS[0]),
        )

        async def hold() -> None:
            self.c.twins.teams.connector.faults.hold(1, method="POST", conversation_id=conversation)

        await self.c.twins.acall(hold)

    async def first_approval_card_held(self) -> None:
        if self.kill_at == "after_submit":
            faults = self.c.twins.teams.connector.faults
            await self.c.until(lambda: _true(faults.held == 1), "the first card held")

    async def crash_while_graph_holds(self, name: str) -> None:
        if name != self.kill_at:
            return
        await self.c.until(partial(self._holding), "Graph to hold the call")
        await self.crash()

    async def _holding(self) -> bool:
        return self.c.twins.graph.held > 0


async def _true(value: bool) -> bool:
    return value


async def count_is(c: Cluster, handle: str, needle: str, n: int) -> bool:
    return await c.count(handle, needle) >= n


async def cards_recorded(c: Cluster, request_id: str) -> bool:
    """Both approval cards sent and their sends committed. (Killing between the connector's
    answer and that commit sends the card again after the restart: the Bot Connector has no
    idempotency key. That window of a few milliseconds is the one place a notice can repeat.)"""
    async with c.db.transaction() as tx:
        return len(await tx.cards.for_request(request_id, "approval")) == len(APPROVERS)


@pytest.mark.parametrize("kill_at", KILL_POINTS)
async def test_a_killed_process_resumes_the_journey_exactly_once(
    tmp_path: Path, database_url: str, kill_at: str
) -> None:
    async with cluster(tmp_path, database_url=database_url, installed=["adele"]) as c:
        crasher = Crasher(c, kill_at)
        adele = c.person("adele")
        await adele.say("activate exchange administrator for 1h because INC-9 mailbox restore")
        await crasher.hold_first_approval_card()
        await adele.press("Ask for approval")
        await crasher.first_approval_card_held()
        await crasher.point("after_submit")

        request = await c.request_of("adele")
        await c.until(partial(cards_recorded, c, request.id), "both approval cards recorded")
        await crasher.point("after_approval_cards")

        graph = c.twins.graph
        if kill_at == "during_graph_activation":
            graph.delay(HOLD, 1, method="POST", path=REQUESTS)
        if kill_at == "between_graph_and_notice":
            graph.delay(HOLD, 1, method="POST", path=REQUESTS, answer_late=True)
        answer = await c.press_on("megan", request.id, "Approve", {"reason": "go ahead"})
        assert answer["status"] == 200
        await crasher.point("after_approve")
        await crasher.crash_while_graph_holds("during_graph_activation")
        await crasher.crash_while_graph_holds("between_graph_and_notice")

        await c.until(partial(count_is, c, "adele", ACTIVE, 1), "the activation notice")
        await c.settled()  # the send is recorded too (see the residual window in bench/RESULTS.md)
        await crasher.point("after_active_notice")

        c.advance(minutes=46)  # 14 minutes left: inside the 15-minute warning
        await c.until(partial(count_is, c, "adele", WARNING, 1), "the expiry warning")
        await c.settled()  # the send is recorded too (see the residual window in bench/RESULTS.md)
        await crasher.point("after_expiry_warning")

        c.advance(minutes=15)
        await c.until(partial(count_is, c, "adele", ENDED, 1), "the end notice")
        await c.settled()  # the send is recorded too (see the residual window in bench/RESULTS.md)
        await crasher.point("after_end_notice")
        await c.settled()

        assert crasher.crashes == 1
        (stored,) = await c.requests()
        assert stored.id == request.id and stored.state is RequestState.ENDED
        assert len(c.activations(status=201)) == 1  # Graph granted it once
        for approver in APPROVERS:
            assert await c.approval_cards(approver, request.id) == 1, approver
        for notice in (ACTIVE, WARNING, ENDED):
            assert await c.count("adele", notice) == 1, notice
        assert c.active_schedules("adele") == []  # and PIM took it away at the end
