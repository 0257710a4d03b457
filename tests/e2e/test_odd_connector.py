"""A connector that answers oddly: a send accepted with no activity id (Microsoft 365 Agents
Playground does that), gateways' HTML error pages, one person's conversation failing. Driven
through the real messenger and scheduler against the Teams twin."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from bot.domain import ActivationRequest, Person, RequestState, TextMessage
from bot.sandbox.teams.faults import ConnectorFaults, OddAnswer
from bot.sandbox.teams.person import actions_of
from bot.store import Job
from tests.e2e.conftest import Sandbox

APPROVAL_ASK = "activate Exchange Admin for 2h because INC-1234 mailbox restore"


def faults(s: Sandbox) -> ConnectorFaults:
    return s.running.twins.teams.connector.faults


def chat_of(s: Sandbox, handle: str) -> str:
    twins = s.running.twins
    return twins.teams.chats.for_user(twins.tenant.user(handle)).id


async def on_twins(s: Sandbox, change: Any) -> None:
    async def run() -> None:
        change()

    await s.running.twins.acall(run)


async def settle(s: Sandbox) -> None:
    while await s.run_jobs():
        pass


async def ask_for_approval(s: Sandbox) -> ActivationRequest:
    await s.client.install("adele")
    adele = s.person("adele")
    await adele.say(APPROVAL_ASK)
    await adele.press("Ask for approval")
    async with s.running.services.db.transaction() as tx:
        (request,) = await tx.requests.list_in_states([RequestState.PENDING_APPROVAL])
    return request


async def copies(s: Sandbox, handle: str, request_id: str) -> list[dict[str, Any]]:
    """The messages in `handle`'s chat that show a card of Adele's request (the only one; the
    demo tenant's access review card, which Megan gets at start-up, names her too)."""
    return [
        m
        for m in await s.person(handle).messages()
        if any(
            "Exchange Administrator" in str(c)
            and "Adele Vance" in str(c)
            and "Access review" not in str(c)
            for c in m["cards"]
        )
    ]


def buttons(message: dict[str, Any]) -> list[str]:
    return [str(a["title"]) for card in message["cards"] for a in actions_of(card)]


def puts_to(s: Sandbox, handle: str) -> list[Any]:
    chat = chat_of(s, handle)
    return [
        c
        for c in s.running.twins.teams.calls
        if c.method == "PUT" and chat in c.path.replace("%3A", ":")
    ]


async def pending_jobs(s: Sandbox, kind: str) -> list[Job]:
    async with s.running.services.db.transaction() as tx:
        return await tx.jobs.pending(kind)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and r.name.startswith("bot")]


async def test_a_card_accepted_without_an_id_gets_its_next_state_as_a_new_message_once(
    sandboxed: Sandbox,
) -> None:
    megan_chat = chat_of(sandboxed, "megan")
    await on_twins(
        sandboxed,
        lambda: faults(sandboxed).answer_oddly(
            OddAnswer.ACCEPTED_WITHOUT_ID, method="POST", conversation_id=megan_chat
        ),
    )
    request = await ask_for_approval(sandboxed)
    await settle(sandboxed)

    async with sandboxed.running.services.db.transaction() as tx:
        recorded = await tx.cards.for_request(request.id)
    assert recorded and all(s.activity_id for s in recorded)  # never an empty id
    assert megan_chat not in {s.conversation_id for s in recorded}

    await sandboxed.person("nestor").press("Approve", {"reason": "ok"}, where=request.id)
    await settle(sandboxed)

    first, second = await copies(sandboxed, "megan", request.id)  # the old one, and one new
    assert "Approve" in buttons(first)  # it could not be changed
    assert "Approve" not in buttons(second) and "Approved" in str(second["cards"])
    assert not [c for c in sandboxed.running.twins.teams.calls if c.path.endswith("/activities/")]
    async with sandboxed.running.services.db.transaction() as tx:
        assert await tx.requests.get(request.id) is not None
        actions = [e.action for e in await tx.audit.entries(request_id=request.id)]
    assert actions.count("card.sent_without_id") == 1
    assert actions.count("card.resent") == 1  # later states update the new message in place


async def megan_approves_while_nestors_updates_get(
    sandboxed: Sandbox, status: int, *, times: int
) -> ActivationRequest:
    """Adele's request waits for Megan and Nestor; the next `times` updates of cards in Nestor's
    chat are answered with a gateway's HTML page of `status`; Megan approves."""
    request = await ask_for_approval(sandboxed)
    await settle(sandboxed)
    nestor_chat = chat_of(sandboxed, "nestor")
    await on_twins(
        sandboxed,
        lambda: faults(sandboxed).answer_oddly(
            OddAnswer.HTML_PAGE, times, method="PUT", conversation_id=nestor_chat, status=status
        ),
    )
    await sandboxed.person("megan").press("Approve", {"reason": "ok"}, where=request.id)
    await settle(sandboxed)
    return request


async def test_a_broken_conversation_does_not_hold_up_anyone_elses_card(
    sandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    request = await megan_approves_while_nestors_updates_get(sandboxed, 502, times=1000)

    (megan_copy,) = await copies(sandboxed, "megan", request.id)
    assert "Approve" not in buttons(megan_copy)
    assert "Cancel request" not in str(await copies(sandboxed, "adele", request.id))
    (nestor_copy,) = await copies(sandboxed, "nestor", request.id)
    assert "Approve" in buttons(nestor_copy)  # still waiting for his conversation
    waiting = await pending_jobs(sandboxed, "update_card")
    assert waiting and all("502" in job.last_error for job in waiting)
    assert not tracebacks(caplog)

    await on_twins(sandboxed, lambda: faults(sandboxed).calm())
    sandboxed.clock.advance(minutes=30)
    await settle(sandboxed)

    (nestor_copy,) = await copies(sandboxed, "nestor", request.id)  # updated in place
    assert "Approve" not in buttons(nestor_copy)
    assert await pending_jobs(sandboxed, "update_card") == []


async def test_an_update_refused_with_an_html_404_is_sent_as_a_new_message_not_retried(
    sandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    request = await megan_approves_while_nestors_updates_get(sandboxed, 404, times=1)

    refused = [c for c in puts_to(sandboxed, "nestor") if c.status == 404]
    assert len(refused) == 1  # not tried again
    old, new = await copies(sandboxed, "nestor", request.id)
    assert "Approve" in buttons(old) and "Approve" not in buttons(new)
    assert await pending_jobs(sandboxed, "update_card") == []
    assert not tracebacks(caplog)


async def test_a_notice_answered_429_with_retry_after_waits_that_long_without_a_traceback(
    sandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await sandboxed.client.install("adele")
    adele = sandboxed.person("adele")
    await adele.say("activate user admin for 1h")
    adele_chat = chat_of(sandboxed, "adele")
    await on_twins(
        sandboxed,
        lambda: faults(sandboxed).answer_oddly(
            OddAnswer.HTML_PAGE,
            1000,
            method="POST",
            conversation_id=adele_chat,
            status=429,
            retry_after=600,
        ),
    )
    await adele.press("Activate")
    await settle(sandboxed)

    (notice,) = await pending_jobs(sandboxed, "message")
    assert notice.due_at >= sandboxed.clock() + timedelta(seconds=600)  # as Teams asked
    assert "429" in notice.last_error
    assert not tracebacks(caplog)

    await on_twins(sandboxed, lambda: faults(sandboxed).calm())
    sandboxed.clock.advance(minutes=10)
    await settle(sandboxed)
    assert "User Administrator is active until" in await adele.chat_text()


async def test_a_notice_refused_with_an_html_400_is_given_up_without_a_traceback(
    sandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await sandboxed.client.install("adele")
    adele = sandboxed.person("adele")
    await adele.say("activate user admin for 1h")
    adele_chat = chat_of(sandboxed, "adele")
    await on_twins(
        sandboxed,
        lambda: faults(sandboxed).answer_oddly(
            OddAnswer.HTML_PAGE, 1, method="POST", conversation_id=adele_chat, status=400
        ),
    )
    await adele.press("Activate")
    await settle(sandboxed)

    assert await pending_jobs(sandboxed, "message") == []
    posts = [c for c in sandboxed.running.twins.teams.calls if c.status == 400]
    assert len(posts) == 1
    assert not tracebacks(caplog)


async def test_a_send_answered_with_an_html_403_means_the_person_cannot_be_reached(
    sandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await sandboxed.client.install("adele")
    await sandboxed.person("adele").say("hi")
    twins = sandboxed.running.twins
    adele = twins.tenant.user("adele")
    await on_twins(
        sandboxed,
        lambda: faults(sandboxed).answer_oddly(
            OddAnswer.HTML_PAGE,
            1,
            method="POST",
            conversation_id=chat_of(sandboxed, "adele"),
            status=403,
        ),
    )

    sent = await sandboxed.running.services.channel.messenger.send(
        Person(id=adele.id, tenant_id=twins.tenant.tenant_id), TextMessage(text="hello?")
    )

    assert sent is None
    assert not tracebacks(caplog)


async def test_a_turn_whose_reply_gets_an_html_404_answers_200_without_a_traceback(
    sandboxed: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await sandboxed.client.install("adele")
    await on_twins(
        sandboxed,
        lambda: faults(sandboxed).answer_oddly(
            OddAnswer.HTML_PAGE,
            1,
            method="POST",
            conversation_id=chat_of(sandboxed, "adele"),
            status=404,
        ),
    )

    result = await sandboxed.client.say("adele", "help")

    assert result["status"] == 200
    assert not tracebacks(caplog)
