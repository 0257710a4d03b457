"""Exactly one decision and at most one Graph activation per request, however many taps arrive at
once, in one pimbot process or across two sharing a database."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.domain import ActivationRequest, RequestState
from bot.sandbox.cluster import Cluster, cluster, crowd_tenant

REQUESTERS = 12  # each asks for two roles: 24 requests decided by concurrent pairs of taps


async def ask(c: Cluster, handle: str, role: str) -> None:
    person = c.person(handle)
    await person.say(f"activate {role} for 1h because INC-7 {handle}")
    await person.press("Ask for approval")


async def both_cards_out(c: Cluster, request: ActivationRequest) -> bool:
    return all(
        [await c.approval_cards(approver, request.id) == 1 for approver in ("megan", "nestor")]
    )


async def tap_pair(c: Cluster, n: int, request: ActivationRequest) -> list[Any]:
    """Megan approves; Nestor approves or denies at the same moment; every third request also
    gets a double tap (the same invoke twice, as Teams retries it)."""
    nestor_verb = "Approve" if n % 2 else "Deny"
    taps = [("megan", "Approve"), ("nestor", nestor_verb)] + (
        [("megan", "Approve")] if n % 3 == 0 else []
    )
    buttons = [await c.button(who, request.id, verb) for who, verb in taps]
    return list(
        await asyncio.gather(
            *(
                c.client.press(who, message_id, action, {"reason": f"{who} decides"})
                for (who, _), (message_id, action) in zip(taps, buttons, strict=True)
            )
        )
    )


@pytest.mark.parametrize("replicas", [1, 2])
async def test_concurrent_taps_make_one_decision_and_at_most_one_activation(
    tmp_path: Path, database_url: str, replicas: int
) -> None:
    requesters = [f"req{n:02d}" for n in range(1, REQUESTERS + 1)]
    async with cluster(
        tmp_path,
        database_url=database_url,
        replicas=replicas,
        tenant=crowd_tenant(REQUESTERS),
        installed=requesters,
    ) as c:
        c.route("megan", 0)
        c.route("nestor", replicas - 1)  # the other process when there are two
        for handle in requesters:
            await ask(c, handle, "exchange administrator")
            await ask(c, handle, "sharepoint administrator")
        pending = await c.requests(RequestState.PENDING_APPROVAL)
        assert len(pending) == 2 * REQUESTERS
        for request in pending:
            await c.until(partial(both_cards_out, c, request), f"cards for {request.id}")

        answers = await asyncio.gather(*(tap_pair(c, n, r) for n, r in enumerate(pending)))
        assert all(a["status"] == 200 for taps in answers for a in taps), answers
        await c.settled()

        decided = {r.id: r for r in await c.requests()}
        approved = [r for r in decided.values() if r.state is not RequestState.DENIED]
        for request in pending:
            now = decided[request.id]
            assert now.state in (RequestState.ACTIVE, RequestState.DENIED), now
            assert now.decided_by is not None
            decisions = [
                a
                for a in await c.audit_actions(request.id)
                if a in ("request.approved", "request.denied")
            ]
            assert len(decisions) == 1, (request.id, decisions)
            verdict = "approved" if now.state is RequestState.ACTIVE else "denied"
            assert decisions == [f"request.{verdict}"]
            requester = next(h for h in requesters if c.user_id(h) == now.requester.id)
            told = await c.count(requester, f"{verdict} your request for **{now.role.display_name}")
            assert told == 1, (requester, verdict)

        # Graph saw exactly one adminAssign per approved request, and none for a denied one
        granted = c.activations()
        assert len(granted) == len(approved)
        assert {(g.json["principalId"], g.json["roleDefinitionId"]) for g in granted} == {
            (r.requester.id, r.role.id) for r in approved
        }
        if replicas == 2:  # the taps really were split between the processes
            assert {index for _, index in c.router.forwarded} == {0, 1}
