"""BotMessenger: proactive messages and in-place updates through the Bot Connector."""

from __future__ import annotations

from bot.channel.rendering import ADAPTIVE_CARD
from bot.domain import CardMessage, Person, TextMessage
from tests.channel.conftest import BotUnderTest
from tests.channel.fakes import APP_ID, TENANT_ID, USER_OID, only, teams_activity

ADA = Person(id=USER_OID, tenant_id=TENANT_ID, display_name="Ada Admin")
BEA = Person(id="00000000-0000-0000-0000-0000000000b2", tenant_id=TENANT_ID, display_name="Bea")
CARD: dict[str, object] = {"type": "AdaptiveCard", "version": "1.5", "body": []}


async def introduce(bot: BotUnderTest) -> None:
    """Ada writes to the bot once, so that her 1:1 conversation is known."""
    await bot.post(teams_activity(bot.cloud.service_url))
    bot.cloud.connector_calls.clear()


async def test_send_posts_a_new_message_in_the_stored_conversation(bot: BotUnderTest) -> None:
    await introduce(bot)

    sent = await bot.channel.messenger.send(ADA, CardMessage(card=CARD, summary="Approve?"))

    post = only(bot.cloud.calls())
    assert (post.method, post.path) == ("POST", "/v3/conversations/a:conv-ada/activities")
    assert post.body["text"] == "Approve?"
    assert post.body["attachments"] == [{"contentType": ADAPTIVE_CARD, "content": CARD}]
    assert sent is not None
    assert sent.person_id == USER_OID
    assert sent.conversation_id == "a:conv-ada"
    assert sent.activity_id.startswith("act-")


async def test_send_creates_the_1on1_chat_for_someone_who_never_wrote(bot: BotUnderTest) -> None:
    await introduce(bot)  # gives the tenant a known service URL

    sent = await bot.channel.messenger.send(BEA, TextMessage(text="Please approve"))

    create, post = bot.cloud.calls()
    assert (create.method, create.path) == ("POST", "/v3/conversations")
    assert create.body["isGroup"] is False
    assert create.body["bot"]["id"] == f"28:{APP_ID}"
    assert create.body["members"] == [{"id": BEA.id}]
    assert create.body["channelData"] == {"tenant": {"id": TENANT_ID}}
    assert post.path == "/v3/conversations/a:new-1on1/activities"
    assert post.body["text"] == "Please approve"
    assert sent is not None
    assert (sent.person_id, sent.conversation_id) == (BEA.id, "a:new-1on1")
    assert bot.db.records[BEA.id].conversation_id == "a:new-1on1"
    assert bot.db.records[BEA.id].service_url == bot.cloud.service_url


async def test_created_chat_is_remembered_and_reused(bot: BotUnderTest) -> None:
    await introduce(bot)
    await bot.channel.messenger.send(BEA, TextMessage(text="one"))
    bot.cloud.connector_calls.clear()

    await bot.channel.messenger.send(BEA, TextMessage(text="two"))

    assert only(bot.cloud.calls()).path == "/v3/conversations/a:new-1on1/activities"


async def test_send_to_a_tenant_never_seen_returns_none(bot: BotUnderTest) -> None:
    sent = await bot.channel.messenger.send(BEA, TextMessage(text="hello?"))

    assert sent is None
    assert bot.cloud.calls() == []


async def test_send_to_someone_who_blocked_the_bot_returns_none(bot: BotUnderTest) -> None:
    await introduce(bot)
    bot.cloud.connector_status = 403

    assert await bot.channel.messenger.send(ADA, TextMessage(text="hello?")) is None


async def test_update_puts_the_sent_activity(bot: BotUnderTest) -> None:
    await introduce(bot)
    sent = await bot.channel.messenger.send(ADA, CardMessage(card=CARD))
    assert sent is not None
    bot.cloud.connector_calls.clear()
    decided: dict[str, object] = {"type": "AdaptiveCard", "version": "1.5", "body": [{"x": 1}]}

    await bot.channel.messenger.update(sent, CardMessage(card=decided, summary="Approved"))

    put = only(bot.cloud.calls())
    assert (put.method, put.path) == (
        "PUT",
        f"/v3/conversations/a:conv-ada/activities/{sent.activity_id}",
    )
    assert put.body["attachments"] == [{"contentType": ADAPTIVE_CARD, "content": decided}]


async def test_update_of_a_message_the_connector_no_longer_knows_is_logged_not_raised(
    bot: BotUnderTest,
) -> None:
    await introduce(bot)
    sent = await bot.channel.messenger.send(ADA, TextMessage(text="card"))
    assert sent is not None
    bot.cloud.connector_status = 404

    await bot.channel.messenger.update(sent, TextMessage(text="changed"))

    assert bot.cloud.calls("PUT")[-1].path.endswith(sent.activity_id)
