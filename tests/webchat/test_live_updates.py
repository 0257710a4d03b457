"""Cards change while a person looks at them (the bot updates every copy, a refresh or an answer
replaces theirs): the page redraws them live and keeps what the person was typing."""

from __future__ import annotations

import copy
from typing import Any

from playwright.async_api import expect

from tests.webchat.conftest import WebChat

ASKS = "Adele Vance asks to activate Exchange Administrator"


async def show_megan_another_view(web_chat: WebChat, change: str) -> None:
    """What an invoke response does to Megan's copy (a refresh, say): her view of the approval
    card is replaced, here by the same card with one more line of text."""
    chats = web_chat.running.twins.teams.chats
    chat = chats.for_user(chats.user("megan"))

    async def replace_view() -> None:
        message = next(m for m in reversed(chat.messages.values()) if ASKS in str(m.cards))
        card: dict[str, Any] = copy.deepcopy(chat.card_shown(message.id) or {})
        card["body"].insert(1, {"type": "TextBlock", "text": change, "wrap": True})
        chat.card_views[message.id] = card
        await chat.transcript.add("card_view", activityId=message.id, card=card)

    await web_chat.running.twins.acall(replace_view)


async def test_a_card_redrawn_while_typing_keeps_the_typed_reason(web_chat: WebChat) -> None:
    # Teams' automatic refresh would replace Megan's view too, at a moment of its own: held back
    # here, so that the one change is the test's
    await web_chat.page.route(
        "**/_sandbox/users/megan/refresh",
        lambda route: route.fulfill(json={"refreshed": False, "status": None, "response": None}),
    )
    await web_chat.open_as("adele", "megan")
    await web_chat.say("adele", "activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await (
        web_chat.card("adele", "Activate Exchange Administrator")
        .get_by_role("button", name="Ask for approval")
        .click()
    )
    ask = web_chat.card("megan", ASKS)
    await expect(ask.get_by_role("button", name="Approve")).to_be_visible()
    await ask.get_by_label("Your reason").fill("restore window approved in CAB")

    await show_megan_another_view(web_chat, "Seen again just now")

    redrawn = web_chat.card("megan", ASKS)
    await expect(redrawn).to_contain_text("Seen again just now")
    reason = redrawn.get_by_label("Your reason")
    await expect(reason).to_have_value("restore window approved in CAB")
    await redrawn.get_by_role("button", name="Approve").click()
    await expect(web_chat.card("megan", "Approved: Exchange Administrator")).to_contain_text(
        "Reason: restore window approved in CAB"
    )
    assert web_chat.problems == []
