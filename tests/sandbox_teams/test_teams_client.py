"""The Teams client side of the twin, driven through SandboxClient against a tiny bot."""

from __future__ import annotations

import pytest

from bot.sandbox.teams.client import SandboxError
from tests.sandbox_teams.echo_bot import CARD

APPROVE, TOAST, FAIL, SUBMIT = CARD["actions"]


async def card_message(world, user: str = "adele") -> dict:
    await world.client.say(user, "card")
    return (await world.client.messages(user))[-1]


async def test_install_sends_installation_update_and_members_added(world):
    result = await world.client.install("adele")
    kinds = [(a["type"], a.get("action")) for a in world.bot.received]
    assert kinds == [("installationUpdate", "add"), ("conversationUpdate", None)]
    assert result["installationUpdate"] == result["conversationUpdate"] == 201
    assert (
        world.bot.received[1]["membersAdded"][0]["id"] == world.bot.received[1]["recipient"]["id"]
    )


async def test_install_tells_the_client_the_persons_zone_for_card_times(world):
    # A chat client shows times left to it ({{DATE()}}, {{TIME()}}) in the person's zone.
    zone = world.tenant.user("adele").timezone
    assert zone
    assert (await world.client.install("adele"))["timezone"] == zone
    assert (await world.client.install("adele"))["timezone"] == zone


async def test_installing_twice_sends_nothing_the_second_time(world):
    await world.client.install("adele")
    again = await world.client.install("adele")
    assert again["alreadyInstalled"] is True
    assert len(world.bot.received) == 2


async def test_say_returns_the_bots_status_and_the_reply_is_in_the_transcript(world):
    result = await world.client.say("adele", "hello")
    assert result["status"] == 201
    events = (await world.client.transcript("adele"))["events"]
    assert [(e["kind"], e["text"]) for e in events] == [
        ("user_message", "hello"),
        ("message", "echo: hello"),
    ]


async def test_transcript_long_poll_returns_when_a_message_arrives(world):
    last = (await world.client.transcript("adele"))["last"]
    await world.client.say("adele", "hello")
    page = await world.client.transcript("adele", after=last, wait=5)
    assert [e["kind"] for e in page["events"]] == ["user_message", "message"]


async def test_users_are_found_by_handle_upn_or_object_id(world):
    adele = world.tenant.user("adele")
    await world.client.say(adele.upn, "one")
    await world.client.say(adele.id, "two")
    texts = [m["text"] for m in await world.client.messages("adele")]
    assert texts == ["one", "echo: one", "two", "echo: two"]


async def test_unknown_user_is_404_with_a_clear_message(world):
    with pytest.raises(SandboxError) as raised:
        await world.client.say("nobody", "hi")
    assert raised.value.status == 404
    assert "nobody" in raised.value.message and "adele" in raised.value.message


async def test_execute_becomes_an_adaptive_card_invoke_with_inputs_merged(world):
    message = await card_message(world)
    result = await world.client.press("adele", message["id"], APPROVE, {"ticket": "INC-1"})
    invoke = world.bot.received[-1]
    assert invoke["type"] == "invoke" and invoke["name"] == "adaptiveCard/action"
    assert invoke["replyToId"] == message["id"]
    assert invoke["value"]["trigger"] == "manual"
    assert invoke["value"]["action"]["type"] == "Action.Execute"
    assert invoke["value"]["action"]["verb"] == "approve"
    assert invoke["value"]["action"]["data"] == {"rid": "r1", "reason": "ok", "ticket": "INC-1"}
    assert result["status"] == 200


async def test_card_response_replaces_the_card_for_that_user_only(world):
    message = await card_message(world)
    await world.client.press("adele", message["id"], APPROVE, {"ticket": "INC-1"})
    shown = (await world.client.messages("adele"))[-1]
    assert shown["cards"][0]["body"][0]["text"] == "Approved"
    events = (await world.client.transcript("adele"))["events"]
    assert events[-1]["kind"] == "card_view" and events[-1]["activityId"] == message["id"]


async def test_message_response_is_a_toast_and_keeps_the_card(world):
    message = await card_message(world)
    await world.client.press("adele", message["id"], TOAST, {"ticket": "INC-1"})
    events = (await world.client.transcript("adele"))["events"]
    assert (events[-1]["kind"], events[-1]["text"]) == ("toast", "Done")
    assert (await world.client.messages("adele"))[-1]["cards"] == [CARD]


async def test_error_response_is_shown_as_an_error(world):
    message = await card_message(world)
    await world.client.press("adele", message["id"], FAIL, {"ticket": "INC-1"})
    event = (await world.client.transcript("adele"))["events"][-1]
    assert (event["kind"], event["message"], event["code"]) == ("error", "Not today", "BadRequest")


async def test_submit_becomes_a_message_with_value_and_reply_to_id(world):
    message = await card_message(world)
    result = await world.client.press("adele", message["id"], SUBMIT, {"ticket": "INC-2"})
    submitted = world.bot.received[-1]
    assert submitted["type"] == "message" and "text" not in submitted
    assert submitted["replyToId"] == message["id"]
    assert submitted["value"] == {"rid": "r1", "reason": "ok", "ticket": "INC-2"}
    assert result["status"] == 201


async def test_a_required_input_left_empty_is_not_sent(world):
    message = await card_message(world)
    received = len(world.bot.received)
    result = await world.client.press("adele", message["id"], APPROVE, {})
    assert result["status"] is None and "ticket" in result["inputErrors"]
    assert len(world.bot.received) == received


async def test_pressing_on_an_unknown_message_is_404(world):
    with pytest.raises(SandboxError) as raised:
        await world.client.press("adele", "404", APPROVE, {})
    assert raised.value.status == 404


async def test_sso_exchange_refused_without_mfa_then_completed_after_step_up(world):
    await world.client.say("adele", "signin")
    prompt = await world.client.wait_for("adele", "signin_required")
    exchange = world.bot.received[-1]
    assert exchange["name"] == "signin/tokenExchange"
    assert exchange["value"]["id"] == "exchange-1" and exchange["value"]["connectionName"] == "sso"
    assert prompt["status"] == 412 and prompt["failureDetail"] == "mfa needed"

    result = await world.client.sign_in("adele", mfa=True)

    assert result["exchanged"] is True and result["status"] == 200
    token = world.bot.received[-1]["value"]["token"]
    claims = world.entra.verify(token, world.tenant.pimbot_app.client_id)
    assert claims["amr"] == ["pwd", "mfa"] and claims["oid"] == world.tenant.user("adele").id
    assert (await world.client.transcript("adele"))["events"][-1]["kind"] == "signed_in"


async def test_sso_succeeds_silently_once_the_session_has_done_mfa(world):
    await world.client.sign_in("adele", mfa=True)
    last = (await world.client.transcript("adele"))["last"]
    await world.client.say("adele", "signin")
    event = await world.client.wait_for("adele", "signed_in", after=last)
    assert event["kind"] == "signed_in"


async def test_sign_in_without_a_pending_exchange_changes_only_the_session(world):
    result = await world.client.sign_in("adele", mfa=True, acrs=["c1"])
    assert result["exchanged"] is False
    assert world.entra.satisfied_auth_contexts("adele") == {"c1"}


async def test_refresh_sends_an_automatic_invoke_for_listed_users_only(world, bot_sends_card):
    adele_mri = await bot_sends_card("adele", user_ids_of=["adele"])
    message = (await world.client.messages("adele"))[-1]
    result = await world.client.refresh("adele", message["id"])
    invoke = world.bot.received[-1]
    assert result["refreshed"] is True and invoke["value"]["trigger"] == "automatic"
    assert invoke["value"]["action"]["verb"] == "approve"
    assert (await world.client.messages("adele"))[-1]["cards"][0]["body"][0]["text"] == "Approved"

    await bot_sends_card("megan", user_ids_of=["adele"])
    other = (await world.client.messages("megan"))[-1]
    assert (await world.client.refresh("megan", other["id"]))["refreshed"] is False
    assert adele_mri.startswith("29:")
