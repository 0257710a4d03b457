"""Two real `pimbot serve` processes on one database, behind a round-robin balancer: both run the
scheduler, and every notice still goes out once (jobs are leased, `FOR UPDATE SKIP LOCKED` on
PostgreSQL)."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from bot.domain import RequestState
from bot.sandbox.cluster import Cluster, cluster, crowd_tenant

REQUESTERS = 10
# The warning is due at once (the role lasts 1 h): every activation also sends a warning.
WARN_AT_ONCE = {"PIMBOT_EXPIRY_WARNING_MINUTES": "120"}


async def journeys(c: Cluster, handle: str) -> None:
    person = c.person(handle)
    await person.say("activate user administrator for 1h")
    await person.press("Activate")
    await person.say(f"activate exchange administrator for 1h because INC-5 {handle}")
    await person.press("Ask for approval")


async def all_active(c: Cluster, n: int) -> bool:
    return len(await c.requests(RequestState.ACTIVE)) == n


async def test_two_replicas_send_each_notice_once(tmp_path: Path, database_url: str) -> None:
    requesters = [f"req{n:02d}" for n in range(1, REQUESTERS + 1)]
    async with cluster(
        tmp_path,
        database_url=database_url,
        replicas=2,
        clocked=False,
        tenant=crowd_tenant(REQUESTERS),
        installed=requesters,
        env=WARN_AT_ONCE,
    ) as c:
        await asyncio.gather(*(journeys(c, h) for h in requesters))
        pending = await c.requests(RequestState.PENDING_APPROVAL)
        assert len(pending) == REQUESTERS
        for request in pending:
            await c.until(partial(c.until_cards, request.id), f"cards for {request.id}")
            answer = await c.press_on("megan", request.id, "Approve", {"reason": "ok"})
            assert answer["status"] == 200
        await c.until(partial(all_active, c, 2 * REQUESTERS), "every role active")
        await c.settled()

        assert {index for _, index in c.router.forwarded} == {0, 1}
        for request in pending:
            for approver in ("megan", "nestor"):
                assert await c.approval_cards(approver, request.id) == 1
        for handle in requesters:
            for role in ("User Administrator", "Exchange Administrator"):
                assert await c.count(handle, f"{role} is active until") == 1, (handle, role)
                assert await c.count(handle, f"{role} ends at") == 1, (handle, role)
            assert await c.count(handle, "approved your request") == 1, handle
        assert len(c.activations(status=201)) == 2 * REQUESTERS
