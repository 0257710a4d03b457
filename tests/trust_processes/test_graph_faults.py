"""Graph faults seen from a real pimbot process: persistent failure ends as `failed` with plain
words to everyone and a Retry that works; a slow Graph does not hold up Teams' invoke."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from bot.domain import RequestState
from bot.sandbox.cluster import Cluster, cluster

ACTIVE = "Exchange Administrator is active until"
HOLD = 600.0  # only release() ends these waits


async def count_is(c: Cluster, handle: str, needle: str, n: int) -> bool:
    return await c.count(handle, needle) >= n


async def in_state(c: Cluster, state: RequestState) -> bool:
    return [r.state for r in await c.requests()] == [state]


async def ask_and_get_cards(c: Cluster) -> str:
    adele = c.person("adele")
    await adele.say("activate exchange administrator for 1h because INC-3 restore")
    await adele.press("Ask for approval")
    request = await c.request_of("adele")
    await c.until(partial(c.until_cards, request.id), "both approval cards")
    return request.id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_persistent_throttling_fails_in_plain_words_and_retry_activates(
    tmp_path: Path, database_url: str
) -> None:
    async with cluster(tmp_path, database_url=database_url, installed=["adele"]) as c:
        request_id = await ask_and_get_cards(c)
        c.twins.graph.throttle(10_000, retry_after=1, method="POST")  # every adminAssign: 429
        await c.press_on("megan", request_id, "Approve", {"reason": "go"})
        await c.until(partial(count_is, c, "adele", "Your request is safe", 1), "a delay notice")

        c.advance(minutes=31)  # past the activation retry budget
        await c.until(partial(in_state, c, RequestState.FAILED), "the request to fail")
        await c.settled()
        for person in ("adele", "megan", "nestor"):  # requester and every approver are told
            assert await c.count(person, "⚠️") == 1, person
        assert c.activations(status=201) == []

        await c.twins.acall(partial(_calm, c))
        await c.person("adele").press("Retry")
        await c.until(partial(count_is, c, "adele", ACTIVE, 1), "the activation after Retry")
        assert len(c.activations(status=201)) == 1


async def _calm(c: Cluster) -> None:
    c.twins.graph.calm()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_approval_is_answered_while_graph_still_holds_the_slow_call(
    tmp_path: Path, database_url: str
) -> None:
    async with cluster(tmp_path, database_url=database_url, installed=["adele"]) as c:
        request_id = await ask_and_get_cards(c)
        graph = c.twins.graph
        graph.delay(HOLD, 10_000)  # from now on every Graph call hangs until released
        calls_before = len(graph.calls)

        answer = await c.press_on("megan", request_id, "Approve", {"reason": "go"})

        # Answered while the twin let no Graph call through, and the decision was taken: the
        # approver re-check came from the cache (or gave up within its budget); the activation
        # job then waits on Graph.
        decided_when_answered = await c.request_of("adele")
        passed_when_answered = len(graph.calls)

        async def activation_waits_on_graph() -> bool:
            return graph.held >= 1

        await c.until(activation_waits_on_graph, "the activation to wait on Graph")
        await c.twins.acall(partial(_calm, c))
        assert answer["status"] == 200
        assert decided_when_answered.state is not RequestState.PENDING_APPROVAL
        assert passed_when_answered == calls_before  # no Graph call answered meanwhile
        await c.until(partial(count_is, c, "adele", ACTIVE, 1), "the activation")
