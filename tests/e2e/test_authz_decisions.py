"""Who may decide a request is read from the request as stored (approvers captured at submit time,
re-checked against the current policy), never from what a card sends back. Every refused tap is
audited and the person is told why; the request is untouched and nothing is activated."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.channel.handler import FOREIGN_TENANT_TEXT
from bot.domain import RequestState
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import actions_of
from bot.sandbox.tenant import ApprovalSpec, EligibilitySpec, load_tenant
from bot.store import AuditEntry
from tests.e2e.conftest import Sandbox
from tests.support.clock import FakeClock
from tests.trust.door import OTHER_TENANT, BotDoor
from tests.trust.journeys import pending_exchange_request, request_state, requests_of

ACTIVATE = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"


@pytest.fixture
async def door(sandboxed: Sandbox) -> AsyncIterator[BotDoor]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield BotDoor(sandboxed.running, http)


def activations(sb: Sandbox) -> int:
    return sum(
        1
        for c in sb.graph_calls
        if c.method == "POST"
        and c.path == ACTIVATE
        and (c.json or {}).get("action") == "adminAssign"
    )


async def refusals(sb: Sandbox, request_id: str | None = None) -> list[AuditEntry]:
    async with sb.running.services.db.transaction() as tx:
        entries = await tx.audit.entries()
    return [
        e
        for e in entries
        if e.outcome == "refused" and (request_id is None or e.request_id == request_id)
    ]


async def approval_card(sb: Sandbox, handle: str) -> tuple[str, dict[str, Any]]:
    """The message id and Approve action of the newest approval card `handle` sees."""
    for message in reversed(await sb.person(handle).messages()):
        for card in message["cards"]:
            for action in actions_of(card):
                if action["title"] == "Approve":
                    return message["id"], action
    raise AssertionError(f"{handle} has no approval card")


def edited(action: dict[str, Any], **data: str) -> dict[str, Any]:
    """The action with its data edited, as a tampering client could send it."""
    forged = copy.deepcopy(action)
    forged["data"].update(data)
    if "verb" in data:
        forged["verb"] = data["verb"]
    return forged


async def test_a_non_approver_is_refused_and_told_why(sandboxed: Sandbox, door: BotDoor) -> None:
    request_id = await pending_exchange_request(sandboxed)
    await sandboxed.client.install("alex")

    answer = await door.post(
        door.execute("alex", {"verb": "request.approve", "request_id": request_id, "reason": "x"})
    )

    assert answer.status == 200
    assert await request_state(sandboxed, request_id) is RequestState.PENDING_APPROVAL
    # told once: under the card (Teams shows the invoke's message), not in the chat as well
    assert "not an approver" in answer.body["value"]
    assert "not an approver" not in await sandboxed.person("alex").chat_text()
    (refusal,) = await refusals(sandboxed, request_id)
    assert refusal.actor_id == door.user_id("alex")
    assert refusal.action == "request.approve_refused"
    assert refusal.reason == "You are not an approver for this request."


async def test_the_requester_cannot_approve_their_own_request(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    request_id = await pending_exchange_request(sandboxed)
    assert "Approve" not in await sandboxed.person("adele").buttons()

    answer = await door.post(
        door.execute("adele", {"verb": "request.approve", "request_id": request_id, "reason": "x"})
    )

    assert await request_state(sandboxed, request_id) is RequestState.PENDING_APPROVAL
    assert "can't approve or deny your own request" in answer.body["value"]
    (refusal,) = await refusals(sandboxed, request_id)
    assert refusal.actor_id == door.user_id("adele")
    await sandboxed.run_jobs()
    assert activations(sandboxed) == 0


@pytest.fixture
async def megan_requests(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """A tenant where Megan is eligible for Exchange Administrator, whose approvers are the PIM
    Approvers group, of which Megan is a member."""
    tenant = load_tenant()
    tenant.eligibilities.append(EligibilitySpec(user="megan", role="Exchange Administrator"))
    tenant.policy("Exchange Administrator").approval = ApprovalSpec(groups=["PIM Approvers"])
    clock = FakeClock()
    async with (
        sandbox(
            tenant=tenant,
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def test_an_approver_group_member_cannot_approve_their_own_request(
    megan_requests: Sandbox,
) -> None:
    sb = megan_requests
    request_id = await pending_exchange_request(sb, requester="megan")
    (request,) = await requests_of(sb, "megan")
    megan_id = sb.running.twins.tenant.user("megan").id
    assert megan_id not in request.approver_ids  # the snapshot leaves the requester out
    assert "Approve" in await sb.person("nestor").buttons()
    assert "Approve" not in await sb.person("megan").buttons()
    # Megan copies Nestor's button onto her own card and presses it.
    _, nestors_approve = await approval_card(sb, "nestor")
    (own_card,) = [m for m in await sb.person("megan").messages() if m["cards"]][-1:]

    await sb.client.press("megan", own_card["id"], nestors_approve, {"reason": "fine by me"})

    assert await request_state(sb, request_id) is RequestState.PENDING_APPROVAL
    assert "can't approve or deny your own request" in await sb.person("megan").told()
    (refusal,) = await refusals(sb, request_id)
    assert refusal.actor_id == megan_id


async def test_a_card_edited_to_point_at_another_request_is_refused(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    mine = await pending_exchange_request(sandboxed)  # Megan approves this one
    # Lidia alone approves Security Administrator; Adele asks for it with MFA.
    adele = sandboxed.person("adele")
    await adele.say("activate security admin for 1h because INC-9 alert triage")
    await adele.press("Ask for approval")
    await sandboxed.client.sign_in("adele", mfa=True)
    await sandboxed.run_jobs()
    (other,) = [r.id for r in await requests_of(sandboxed, "adele") if r.id != mine]
    assert "Approve" in await sandboxed.person("lidia").buttons()
    message_id, approve = await approval_card(sandboxed, "megan")

    await sandboxed.client.press(
        "megan", message_id, edited(approve, request_id=other), {"reason": "ok"}
    )

    assert await request_state(sandboxed, other) is RequestState.PENDING_APPROVAL
    assert await request_state(sandboxed, mine) is RequestState.PENDING_APPROVAL
    assert "not an approver" in await sandboxed.person("megan").told()
    assert [r.actor_id for r in await refusals(sandboxed, other)] == [door.user_id("megan")]


async def test_a_card_edited_to_point_at_no_request_is_refused_and_audited(
    sandboxed: Sandbox,
) -> None:
    await pending_exchange_request(sandboxed)
    message_id, approve = await approval_card(sandboxed, "megan")

    await sandboxed.client.press(
        "megan", message_id, edited(approve, request_id="no-such-request"), {"reason": "ok"}
    )

    assert "can't find that request" in await sandboxed.person("megan").told()
    (refusal,) = await refusals(sandboxed)
    assert refusal.action == "request.approve_refused"
    assert refusal.details.get("request_id") == "no-such-request"


@pytest.mark.parametrize(
    ("verb", "told"),
    [
        ("request.cancel", "only cancel your own requests"),
        ("request.retry", "Only the person who asked can retry"),
    ],
)
async def test_a_card_edited_to_another_verb_is_refused(
    sandboxed: Sandbox, verb: str, told: str
) -> None:
    request_id = await pending_exchange_request(sandboxed)
    message_id, approve = await approval_card(sandboxed, "megan")

    await sandboxed.client.press("megan", message_id, edited(approve, verb=verb), {"reason": "x"})

    assert await request_state(sandboxed, request_id) is RequestState.PENDING_APPROVAL
    assert told in await sandboxed.person("megan").told()
    (refusal,) = await refusals(sandboxed, request_id)
    assert refusal.action == f"{verb}_refused"


async def test_an_old_card_replayed_after_the_decision_changes_nothing(
    sandboxed: Sandbox,
) -> None:
    request_id = await pending_exchange_request(sandboxed)
    megan_card, megan_approve = await approval_card(sandboxed, "megan")
    nestor_card, nestor_approve = await approval_card(sandboxed, "nestor")
    await sandboxed.person("megan").press("Approve", {"reason": "restore is urgent"})
    await sandboxed.run_jobs()
    assert await request_state(sandboxed, request_id) is RequestState.ACTIVE
    assert activations(sandboxed) == 1

    # The buttons as they were before the decision, sent again (a stale client, a replay).
    replays = [
        ("megan", megan_card, megan_approve),
        ("nestor", nestor_card, nestor_approve),
        ("nestor", nestor_card, edited(nestor_approve, verb="request.deny")),
    ]
    for handle, message_id, action in replays:
        answer = await sandboxed.client.press(handle, message_id, action, {"reason": "again"})
        assert answer["status"] == 200
    await sandboxed.run_jobs()

    assert await request_state(sandboxed, request_id) is RequestState.ACTIVE
    assert activations(sandboxed) == 1
    for handle in ("megan", "nestor"):  # each replayed card now shows who decided
        text = await sandboxed.person(handle).chat_text()
        assert "Approved" in text and "Megan Bowen" in text
        assert "Approve" not in await sandboxed.person(handle).buttons()
    replayed = await refusals(sandboxed, request_id)
    assert [(e.actor_id, e.action) for e in replayed] == [
        (sandboxed.running.twins.tenant.user("megan").id, "request.approve_refused"),
        (sandboxed.running.twins.tenant.user("nestor").id, "request.approve_refused"),
        (sandboxed.running.twins.tenant.user("nestor").id, "request.deny_refused"),
    ]
    assert all("already approved" in e.reason for e in replayed)


async def test_an_approver_from_another_tenant_is_refused_audited_and_told(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    """Megan's object id, but signed in to another tenant: Teams tells us so in channelData."""
    request_id = await pending_exchange_request(sandboxed)
    approve = {"verb": "request.approve", "request_id": request_id, "reason": "ok"}

    answer = await door.post(door.execute("megan", approve, tenant_id=OTHER_TENANT))

    assert answer.status == 200
    assert answer.body["value"] == FOREIGN_TENANT_TEXT
    assert await request_state(sandboxed, request_id) is RequestState.PENDING_APPROVAL
    (refusal,) = await refusals(sandboxed)
    assert refusal.actor_id == door.user_id("megan")
    assert refusal.action == "tenant.refused"
    assert refusal.details["tenant_id"] == OTHER_TENANT
    await sandboxed.run_jobs()
    assert activations(sandboxed) == 0


async def test_a_message_whose_chat_the_channel_does_not_know_is_no_server_error(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    """A message from another tenant is refused in words; the reply goes to a chat the Teams
    channel does not know (404 ConversationNotFound). That is the channel refusing a delivery,
    not pimbot failing: no 5xx (which would make the channel retry in vain), audited anyway."""
    answer = await door.post(door.activity("megan", text="my roles", tenant_id=OTHER_TENANT))

    assert answer.status == 200, answer.text
    (refusal,) = await refusals(sandboxed)
    assert refusal.action == "tenant.refused"
