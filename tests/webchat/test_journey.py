"""The README's sandbox journey, through the web chat in Chromium: what a newcomer sees and
presses on the Teams twin's page."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import expect

from tests.webchat.conftest import WebChat

# `make webchat-picture` sets this to docs/webchat.png: the README's picture of the web chat.
PICTURE = os.environ.get("PIMBOT_WEBCHAT_PICTURE", "")


async def test_approval_journey_through_the_page(web_chat: WebChat) -> None:
    await web_chat.open_as("adele", "megan", "nestor")
    adele, nestor = web_chat.pane("adele"), web_chat.pane("nestor")

    # Adele asks; the form is the bot's real card, drawn by the Adaptive Cards renderer
    await web_chat.say("adele", "activate Exchange Admin for 2h")
    form = web_chat.card("adele", "Activate Exchange Administrator")
    await expect(form.locator(".ac-adaptiveCard")).to_be_visible()
    await form.get_by_label("Why do you need it?").fill("INC-1234 mailbox restore")
    await form.get_by_role("button", name="Ask for approval").click()
    # the form she sent is now her request's one live card, with Cancel while it waits
    sent = web_chat.card("adele", "Waiting for approval: Exchange Administrator")
    await expect(sent.get_by_role("button", name="Cancel request")).to_be_visible()
    await expect(adele.get_by_role("button", name="Cancel request")).to_have_count(1)

    # both approvers get the card live, without reloading the page
    ask = web_chat.card("megan", "Adele Vance asks to activate Exchange Administrator")
    await expect(ask).to_contain_text("INC-1234 mailbox restore")
    await expect(
        web_chat.card("nestor", "Adele Vance asks to activate Exchange Administrator")
    ).to_be_visible()
    await expect(adele.get_by_role("button", name="Approve")).to_have_count(0)

    # Megan approves with a reason
    await ask.get_by_label("Your reason").fill("restore window approved in CAB")
    await ask.get_by_role("button", name="Approve").click()
    decided = web_chat.card("megan", "Approved: Exchange Administrator")
    await expect(decided).to_contain_text("By Megan Bowen")
    await expect(decided).to_contain_text("restore window approved in CAB")

    # Nestor's copy shows the decision, without buttons
    nestors = web_chat.card("nestor", "Approved: Exchange Administrator")
    await expect(nestors).to_contain_text("By Megan Bowen")
    await expect(nestor.get_by_role("button", name="Approve")).to_have_count(0)
    await expect(nestor.get_by_role("button", name="Deny")).to_have_count(0)

    # Adele hears of it and sees the role active until…
    await expect(adele).to_contain_text(
        "Megan Bowen approved your request for Exchange Administrator"
    )
    active = web_chat.card("adele", "Exchange Administrator is active")
    await expect(active).to_contain_text("You have it until")
    await expect(adele.locator(".message").filter(has_text="is active until").last).to_be_visible()
    if PICTURE:
        await web_chat.page.screenshot(path=str(Path(PICTURE)), animations="disabled")

    # a refused tap is answered in words (a toast under the card, or a message); the card stays
    await active.get_by_role("button", name="Deactivate now").click()
    await expect(adele).to_contain_text("first 5 minutes")
    await expect(active.get_by_role("button", name="Deactivate now")).to_be_visible()

    assert web_chat.problems == []
