"""SIGKILL pimbot in the middle of a conversion of standing access (eligibility first, removal
second), restart it, and check that it is finished, once: one eligibility and one removal in
Graph, the person told once, and never left with neither.

Moments are observable, not slept to: the Graph twin holds the write open (`delay`) while the
process dies, then lets Graph finish it, as Graph finishes what it received."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.governance.domain import ChangeState
from bot.governance.four_eyes import RESUME_AFTER
from bot.sandbox.cluster import Cluster, cluster, crowd_tenant
from tests.e2e.test_pim_engine_journey import activate_in_the_portal, zero_trust_tenant
from tests.trust_processes.test_admin_exactly_once import (
    ASSIGNMENT_REQUESTS,
    ELIGIBILITY_REQUESTS,
    EXCHANGE,
    convert_button,
    graph_writes,
    is_state,
)

PAST_THE_LEASE = timedelta(minutes=2, seconds=10)  # a dead worker's job is claimable again
HOLD = 600.0  # a held Graph call waits for release(), never for this
POINTS = {
    "during_eligibility": "/roleEligibilityScheduleRequests",
    "during_removal": "/roleAssignmentScheduleRequests",
}


async def holding(c: Cluster) -> bool:
    return c.twins.graph.held > 0


async def release(c: Cluster) -> None:
    c.twins.graph.release()


def schedules(c: Cluster, handle: str) -> set[str]:
    user = c.user_id(handle)
    now = c.clock()
    return {
        s.kind
        for s in c.twins.graph.state.schedules
        if s.principal_id == user and s.role_id == EXCHANGE and s.in_force(now)
    }


@pytest.mark.parametrize("kill_at", sorted(POINTS))
async def test_a_conversion_killed_half_way_is_finished_after_the_restart_once(
    tmp_path: Path, database_url: str, kill_at: str
) -> None:
    async with cluster(
        tmp_path, database_url=database_url, tenant=crowd_tenant(0), installed=["megan"]
    ) as c:
        await c.person("megan").say("standing")
        c.twins.graph.delay(HOLD, 1, method="POST", path=POINTS[kill_at])
        message_id, action = await convert_button(c, "megan", "grady", EXCHANGE)
        await c.client.press("megan", message_id, action)
        await c.until(partial(holding, c), "Graph to hold the write")

        bot = c.bots[0]
        await bot.killed()
        assert schedules(c, "grady") >= {"assignment"}  # never neither
        await c.twins.acall(partial(release, c))  # Graph finishes what it had received
        c.clock.advance(PAST_THE_LEASE)
        await bot.start()

        await c.until(partial(is_state, c, "grady", EXCHANGE, ChangeState.DONE), "the conversion")
        await c.settled()
        grady = c.user_id("grady")
        assert len(graph_writes(c, ELIGIBILITY_REQUESTS, grady, "adminAssign")) == 1
        assert len(graph_writes(c, ASSIGNMENT_REQUESTS, grady, "adminRemove")) == 1
        assert schedules(c, "grady") == {"eligibility"}
        assert await c.count("grady", "activate Exchange Administrator") == 1
        assert await c.count("megan", "Done: Convert Grady Archie") == 1


PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
# Past the moment pimbot takes a sign-in's carry-out for dead, and within the minute of clock skew
# pimbot allows a Teams SSO token (the twins mint them on the test's clock).
PAST_RESUME = RESUME_AFTER + timedelta(seconds=5)


async def audited(c: Cluster, action: str) -> int:
    async with c.db.transaction() as tx:
        return sum(1 for entry in await tx.audit.entries() if entry.action == action)


@pytest.mark.parametrize("kill_at", sorted(POINTS))
async def test_on_the_pim_engine_a_killed_conversion_asks_for_a_new_sign_in_and_finishes_once(
    tmp_path: Path, database_url: str, kill_at: str
) -> None:
    """pim engine: the writes are made with Megan's own token, which lives only in the process
    that dies. After the restart pimbot asks her to sign in again, and finishes the conversion
    with her new token: one eligibility and one removal, both by her, audited once."""
    async with cluster(
        tmp_path,
        database_url=database_url,
        tenant=zero_trust_tenant(),
        installed=["megan"],
        env={"PIMBOT_ENGINE": "pim"},
    ) as c:
        await activate_in_the_portal(c.twins, "megan", PRIVILEGED_ROLE_ADMINISTRATOR, "PT2H")
        await c.person("megan").say("standing")
        c.twins.graph.delay(HOLD, 1, method="POST", path=POINTS[kill_at])
        message_id, action = await convert_button(c, "megan", "grady", EXCHANGE)
        await c.client.press("megan", message_id, action)
        await c.until(partial(holding, c), "Graph to hold the write made with Megan's token")

        bot = c.bots[0]
        await bot.killed()
        assert schedules(c, "grady") >= {"assignment"}  # never neither
        await c.twins.acall(partial(release, c))  # Graph finishes what it had received
        seen = (await c.client.transcript("megan"))["last"]
        c.clock.advance(PAST_RESUME)
        await bot.start()

        await c.client.wait_for("megan", "signed_in", after=seen, within=60)
        await c.until(partial(is_state, c, "grady", EXCHANGE, ChangeState.DONE), "the conversion")
        c.clock.advance(PAST_THE_LEASE)  # the jobs the dead process had claimed run too
        await c.settled()
        grady, megan = c.user_id("grady"), c.user_id("megan")
        made = graph_writes(c, ELIGIBILITY_REQUESTS, grady, "adminAssign")
        removed = graph_writes(c, ASSIGNMENT_REQUESTS, grady, "adminRemove")
        assert (len(made), len(removed)) == (1, 1)
        assert [r.created_by_user.id for r in eligibility_requests(c, grady)] == [megan]
        assert schedules(c, "grady") == {"eligibility"}
        assert await audited(c, "admin_change.sign_in_asked") == 2
        assert await audited(c, "standing.convert.done") == 1
        assert await c.count("grady", "activate Exchange Administrator") == 1
        assert await c.count("megan", "Done as you: Convert Grady Archie") == 1


def eligibility_requests(c: Cluster, principal_id: str) -> list[Any]:
    return [r for r in c.twins.graph.state.eligibility_requests if r.principal_id == principal_id]
