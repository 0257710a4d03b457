"""pim engine: an action that waits for a person's sign-in survives a restart and is finished by
whichever replica the token exchange reaches. The database holds the waiting action, never the
token."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from functools import partial
from pathlib import Path

from sqlalchemy import text

from bot.domain import RequestState
from bot.sandbox.cluster import Cluster, cluster
from tests.e2e.test_pim_engine_journey import zero_trust_tenant

APPROVALS = "/beta/roleManagement/directory/roleAssignmentApprovals"
TOKEN_EXCHANGE = "signin/tokenExchange"
PIM_ENGINE = {"PIMBOT_ENGINE": "pim"}
PEOPLE = ("adele", "megan", "nestor")
NOWHERE = "http://127.0.0.1:9"  # a replica that is down: nothing listens there


async def waiting_for_megan(c: Cluster, *, exchange_on: int) -> str:
    """Adele asks for Exchange Administrator (PIM needs approval); Megan taps Approve, and pimbot
    answers with a sign-in card: her decision waits for her token, whose exchange the balancer
    sends to replica `exchange_on`. Returns the request id."""
    for handle in PEOPLE:
        c.route(handle, 0)
    adele = c.person("adele")
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await adele.press("Ask for approval")
    await c.client.wait_for("adele", "signed_in")
    (request,) = await c.requests(RequestState.PENDING_APPROVAL)
    await c.until(partial(c.until_cards, request.id), "the approval cards")
    c.router.by_invoke[TOKEN_EXCHANGE] = exchange_on
    await c.press_on("megan", request.id, "Approve", {"reason": "restore window approved"})
    return request.id


def decisions(c: Cluster) -> list[int]:
    return [
        call.status
        for call in c.twins.graph.calls
        if call.method == "PATCH" and call.path.startswith(APPROVALS)
    ]


def pim_cluster(
    tmp_path: Path, database_url: str, replicas: int = 1
) -> AbstractAsyncContextManager[Cluster]:
    """pimbot replicas on the pim engine, the app holding read permissions only."""
    return cluster(
        tmp_path,
        database_url=database_url,
        replicas=replicas,
        clocked=False,
        tenant=zero_trust_tenant(),
        installed=PEOPLE,
        env=PIM_ENGINE,
    )


async def active(c: Cluster, request_id: str) -> bool:
    return any(r.id == request_id for r in await c.requests(RequestState.ACTIVE))


async def test_the_sign_in_finishes_on_the_other_replica(tmp_path: Path, database_url: str) -> None:
    async with pim_cluster(tmp_path, database_url, replicas=2) as c:
        request_id = await waiting_for_megan(c, exchange_on=1)
        await c.client.wait_for("megan", "signed_in")

        await c.until(partial(active, c, request_id), "the role active")
        assert decisions(c) == [204]
        assert "request.approved" in await c.audit_actions(request_id)
        assert {index for _, index in c.router.forwarded} == {0, 1}


async def test_the_sign_in_finishes_after_a_restart(tmp_path: Path, database_url: str) -> None:
    async with pim_cluster(tmp_path, database_url) as c:
        # Megan's sign-in does not get through before pimbot is redeployed.
        c.router.backends.append(NOWHERE)
        request_id = await waiting_for_megan(c, exchange_on=1)
        await c.client.wait_for("megan", "signin_required")
        await c.bots[0].restart()
        del c.router.by_invoke[TOKEN_EXCHANGE]

        signed = await c.client.sign_in("megan")
        assert signed["status"] == 200, signed
        await c.until(partial(active, c, request_id), "the role active")
        assert decisions(c) == [204]


async def test_no_token_is_kept_in_the_database(tmp_path: Path, database_url: str) -> None:
    async with pim_cluster(tmp_path, database_url) as c:
        c.router.backends.append(NOWHERE)
        await waiting_for_megan(c, exchange_on=1)
        await c.client.wait_for("megan", "signin_required")
        async with c.db.transaction() as tx:
            rows = (
                await tx.sign_ins._connection.execute(text("SELECT * FROM sign_in_waits"))
            ).all()
        megan = c.user_id("megan")
        (wait,) = [r for r in rows if r.person_id == megan]
        assert (wait.kind, wait.verdict, wait.reason) == (
            "decide",
            "approve",
            "restore window approved",
        )
        assert "eyJ" not in repr(rows)  # no JWT of any kind
