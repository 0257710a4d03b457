"""The admin side exactly once across replicas: pimbot processes sharing one database, taps
split between them. Two admins approving the same Global Administrator conversion at once (one of
them twice, as Teams retries an invoke) make one decision, one eligibility and one removal in
Graph; two admins pressing Convert for the same person at once make one conversion."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.governance.domain import ChangeState
from bot.sandbox.cluster import Cluster, cluster, crowd_tenant
from bot.sandbox.teams.person import actions_of

GLOBAL = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
ELIGIBILITY_REQUESTS = "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests"
ASSIGNMENT_REQUESTS = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"


async def convert_button(c: Cluster, admin: str, handle: str, role_id: str) -> tuple[str, Any]:
    for message in reversed(await c.messages(admin)):
        for card in message["cards"]:
            for action in actions_of(card):
                data = action.get("data", {})
                if data.get("principal_id") == c.user_id(handle) and data.get("role_id") == role_id:
                    return message["id"], action
    raise AssertionError(f"{admin} sees no Convert for {handle}")


async def decision_button(c: Cluster, admin: str, title: str) -> tuple[str, Any]:
    for message in reversed(await c.messages(admin)):
        for card in message["cards"]:
            if "Miriam Graham" not in json.dumps(card):
                continue
            for action in actions_of(card):
                if action["title"] == title:
                    return message["id"], action
    raise AssertionError(f"{admin} sees no {title!r}")


def graph_writes(c: Cluster, path: str, principal: str, action: str) -> list[Any]:
    return [
        call
        for call in c.twins.graph.calls
        if call.method == "POST"
        and call.path == path
        and call.status == 201
        and isinstance(call.json, dict)
        and call.json.get("principalId") == principal
        and call.json.get("action") == action
    ]


MIRIAM_GA = "Miriam Graham's standing Global Administrator to eligible"


async def cards_sent(c: Cluster, handle: str, needle: str) -> int:
    """How many cards containing `needle` the bot sent to `handle` (updates are not sends)."""
    page = await c.client.transcript(handle)
    return sum(
        1 for e in page["events"] if e["kind"] == "message" and needle in json.dumps(e["cards"])
    )


async def change_state(c: Cluster, handle: str, role_id: str) -> ChangeState | None:
    async with c.db.transaction() as tx:
        changes = await tx.admin_changes.for_target(
            f"standing.convert:{c.user_id(handle).lower()}:{role_id}"
        )
    return changes[-1].state if changes else None


async def is_state(c: Cluster, handle: str, role_id: str, state: ChangeState) -> bool:
    return await change_state(c, handle, role_id) is state


async def cards_out(c: Cluster, admins: tuple[str, ...]) -> bool:
    return all([await c.count(a, "admin.approve") >= 1 for a in admins])


@pytest.mark.parametrize("replicas", [1, 2])
async def test_two_admins_deciding_a_global_admin_conversion_at_once_decide_it_once(
    tmp_path: Path, database_url: str, replicas: int
) -> None:
    admins = ("megan", "alex", "nestor")
    async with cluster(
        tmp_path,
        database_url=database_url,
        replicas=replicas,
        tenant=crowd_tenant(0),
        installed=admins,
    ) as c:
        c.route("megan", 0)
        c.route("alex", 0)
        c.route("nestor", replicas - 1)
        await c.person("megan").say("standing")
        message_id, action = await convert_button(c, "megan", "miriam", GLOBAL)
        await c.client.press("megan", message_id, action)
        await c.until(partial(cards_out, c, ("alex", "nestor")), "the second admins' cards")

        taps = [("alex", "Approve"), ("nestor", "Approve"), ("alex", "Approve")]
        buttons = [await decision_button(c, who, title) for who, title in taps]
        answers = await asyncio.gather(
            *(
                c.client.press(who, mid, act, {"reason": f"{who} agrees"})
                for (who, _), (mid, act) in zip(taps, buttons, strict=True)
            )
        )
        assert all(a["status"] == 200 for a in answers), answers
        await c.until(partial(is_state, c, "miriam", GLOBAL, ChangeState.DONE), "the conversion")
        await c.settled()

        async with c.db.transaction() as tx:
            actions = [e.action for e in await tx.audit.entries()]
        assert actions.count("standing.convert.approved") == 1
        assert actions.count("standing.convert.done") == 1
        miriam = c.user_id("miriam")
        assert len(graph_writes(c, ELIGIBILITY_REQUESTS, miriam, "adminAssign")) == 1
        assert len(graph_writes(c, ASSIGNMENT_REQUESTS, miriam, "adminRemove")) == 1
        assert await c.count("megan", "Done: Convert Miriam Graham") == 1
        # Every copy of the card shows the outcome and who decided, updated in place: each admin
        # (the asker, the winner, the admin whose tap lost) was sent one card, and it says so.
        async with c.db.transaction() as tx:
            (change,) = await tx.admin_changes.for_target(
                f"standing.convert:{c.user_id('miriam').lower()}:{GLOBAL}"
            )
        assert change.decided_by is not None
        for admin in admins:
            assert await cards_sent(c, admin, MIRIAM_GA) == 1, admin
            (card,) = [m for m in await c.messages(admin) if MIRIAM_GA in json.dumps(m["cards"])]
            shows = json.dumps(card["cards"])
            assert '"Done"' in shows and change.decided_by.display_name in shows, (admin, shows)
            assert "admin.approve" not in shows
        if replicas == 2:
            assert {index for _, index in c.router.forwarded} == {0, 1}


async def test_two_admins_converting_the_same_person_at_once_convert_once(
    tmp_path: Path, database_url: str
) -> None:
    async with cluster(
        tmp_path,
        database_url=database_url,
        replicas=2,
        tenant=crowd_tenant(0),
        installed=("megan", "nestor"),
    ) as c:
        c.route("megan", 0)
        c.route("nestor", 1)
        for admin in ("megan", "nestor"):
            await c.person(admin).say("standing")
        presses = [await convert_button(c, a, "grady", EXCHANGE) for a in ("megan", "nestor")]
        answers = await asyncio.gather(
            *(
                c.client.press(admin, mid, act)
                for admin, (mid, act) in zip(("megan", "nestor"), presses, strict=True)
            )
        )
        assert all(a["status"] == 200 for a in answers), answers
        await c.until(partial(is_state, c, "grady", EXCHANGE, ChangeState.DONE), "the conversion")
        await c.settled()
        grady = c.user_id("grady")
        assert len(graph_writes(c, ELIGIBILITY_REQUESTS, grady, "adminAssign")) == 1
        assert len(graph_writes(c, ASSIGNMENT_REQUESTS, grady, "adminRemove")) == 1
        assert await c.count("grady", "activate Exchange Administrator") == 1
