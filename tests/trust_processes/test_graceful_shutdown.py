"""SIGTERM a pimbot process at every point of sending one request's cards (one to each of five
approvers; the requester's live status card is the form she sent), restart it on the same
database, let an approver approve, and check that every card was sent once and updated: nothing
a SIGTERM interrupted is lost, repeated, or left waiting for a dead worker's lease.

The points are reached through the Teams twin, not slept to: the k-th send is held at the
connector while the process gets SIGTERM (then let through), or the connector sends SIGTERM
itself after posting the k-th card and just before answering (the bot has not recorded it yet).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.domain import RequestState
from bot.sandbox.cluster import Cluster, cluster
from bot.sandbox.teams.person import actions_of
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant

APPROVERS = ("megan", "nestor", "lidia", "lynne", "joni")
SENDS = len(APPROVERS)  # an approval card to each approver

# (how, k): "held": SIGTERM while the k-th card's send is held at the connector; "answering":
# SIGTERM the moment the k-th card is posted, before the connector answers; "idle": after
# every card is out and recorded.
POINTS = [
    *[("held", k) for k in range(1, SENDS + 1)],
    *[("answering", k) for k in range(1, SENDS + 1)],
    ("idle", 0),
]


def five_approver_tenant() -> DemoTenant:
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    for policy in data["policies"]:
        if policy["role"] == "Exchange Administrator":
            policy["approval"] = {"users": list(APPROVERS)}
    return DemoTenant.model_validate(data)


async def cards_recorded(c: Cluster, request_id: str) -> bool:
    """Every approval card recorded, and the form Adele pressed as her live status card (it
    is recorded with the request: no send of its own)."""
    async with c.db.transaction() as tx:
        approval = await tx.cards.for_request(request_id, "approval")
        status = await tx.cards.for_request(request_id, "requester")
    return len(approval) == SENDS and len(status) == 1


async def ready_status(c: Cluster) -> int:
    async with httpx.AsyncClient(timeout=5.0) as http:
        return (await http.get(f"{c.bots[0].url}/readyz")).status_code


def buttons_about(messages: list[dict[str, Any]], request_id: str) -> list[str]:
    return [
        a["title"]
        for m in messages
        for card in m["cards"]
        for a in actions_of(card)
        if request_id in str(a.get("data", ""))
    ]


async def every_card_decided(c: Cluster, request_id: str) -> bool:
    """No approver sees Approve or Deny any more, and the requester's card shows the outcome."""
    for approver in APPROVERS:
        if {"Approve", "Deny"} & set(buttons_about(await c.messages(approver), request_id)):
            return False
    return "Cancel request" not in buttons_about(await c.messages("adele"), request_id)


@pytest.mark.parametrize(("how", "k"), POINTS, ids=[f"{how}-{k}" for how, k in POINTS])
async def test_sigterm_while_cards_go_out_loses_and_repeats_nothing(
    tmp_path: Path, database_url: str, how: str, k: int
) -> None:
    async with cluster(
        tmp_path, database_url=database_url, tenant=five_approver_tenant(), installed=["adele"]
    ) as c:
        bot = c.bots[0]
        faults = c.twins.teams.connector.faults

        async def arm() -> None:
            if how == "held":
                faults.hold(1, method="POST", after=k - 1)
            elif how == "answering":
                faults.before_answer(bot.terminate, 1, method="POST", after=k - 1)

        adele = c.person("adele")
        await adele.say("activate exchange administrator for 1h because INC-9 mailbox restore")
        await c.twins.acall(arm)  # the press is answered in its invoke: every send is a card
        await adele.press("Ask for approval")
        request = await c.request_of("adele")

        if how == "held":
            await c.until(lambda: _true(faults.held == 1), f"send {k} held at the connector")
            bot.terminate()
            await c.until(partial(_draining, c), "/readyz to answer 503 while draining")

            async def release() -> None:
                faults.release()

            await c.twins.acall(release)
        elif how == "idle":
            await c.until(partial(cards_recorded, c, request.id), "every card recorded")
            bot.terminate()
        assert await bot.exited() == 0

        await bot.start()  # the same database; no clock moved past any lease
        await c.until(partial(cards_recorded, c, request.id), "every card recorded")
        answer = await c.press_on("megan", request.id, "Approve", {"reason": "go ahead"})
        assert answer["status"] == 200
        await c.until(partial(every_card_decided, c, request.id), "every card updated")
        await c.settled()

        for approver in APPROVERS:
            assert await c.approval_cards(approver, request.id) == 1, approver
        assert await c.count("adele", "Exchange Administrator is active until") == 1
        (stored,) = await c.requests()
        assert stored.state is RequestState.ACTIVE
        assert len(c.activations(status=201)) == 1


async def _true(value: bool) -> bool:
    return value


async def _draining(c: Cluster) -> bool:
    return await ready_status(c) == 503
