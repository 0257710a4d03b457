"""Teams clients without Universal Actions press a card's Action.Submit fallback: the web chat sends
it through the twin as a message with the card's inputs, and the bot updates the card in place."""

from __future__ import annotations

from playwright.async_api import expect

from tests.webchat.conftest import WebChat

FORGET_EXECUTE = "() => AdaptiveCards.GlobalRegistry.actions.unregister('Action.Execute')"


async def test_approval_through_action_submit(web_chat: WebChat) -> None:
    await web_chat.open_as("adele", "megan")
    # the renderer now knows no Action.Execute: it draws each button's Action.Submit fallback
    await web_chat.page.evaluate(FORGET_EXECUTE)
    submitted: list[dict[str, object]] = []
    web_chat.page.on(
        "request",
        lambda r: submitted.append(r.post_data_json) if r.url.endswith("/actions") else None,
    )

    await web_chat.say("adele", "activate Exchange Admin for 1h because mailbox restore")
    form = web_chat.card("adele", "Activate Exchange Administrator")
    await form.get_by_role("button", name="Ask for approval").click()
    ask = web_chat.card("megan", "Adele Vance asks to activate Exchange Administrator")
    await ask.get_by_label("Your reason").fill("fine by me")
    await ask.get_by_role("button", name="Approve").click()

    decided = web_chat.card("megan", "Approved: Exchange Administrator")
    await expect(decided).to_contain_text("Reason: fine by me")
    await expect(web_chat.pane("adele")).to_contain_text("Megan Bowen approved your request")
    assert [s["action"]["type"] for s in submitted] == ["Action.Submit", "Action.Submit"]
    assert submitted[1]["inputs"] == {"reason": "fine by me"}
    assert web_chat.problems == []
