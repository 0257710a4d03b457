"""pimbot's own Bot Connector client for proactive sends and updates: the same requests
botbuilder's client made, one kept-alive session, and the connector's failures read by their
status and Retry-After."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from bot.channel.connector import addressed, model_json
from bot.channel.rendering import SignInCardSettings, card_activity, message_activity
from bot.domain import CardMessage, Person, TextMessage
from bot.workflow.ports import DeliveryDelayed, DeliveryRefused
from tests.channel.conftest import BotUnderTest
from tests.channel.fakes import TENANT_ID, USER_OID, only, teams_activity

ADA = Person(id=USER_OID, tenant_id=TENANT_ID, display_name="Ada Admin")
CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Grüße <b>", "wrap": True, "spacing": None}],
    "refresh": {"userIds": ["29:a", "29:b"]},
}
REFERENCE = ConversationReference(
    user=ChannelAccount(id="29:ada", name="Ada", aad_object_id=USER_OID),
    bot=ChannelAccount(id="28:pimbot", name="pimbot"),
    conversation=ConversationAccount(id="a:1", conversation_type="personal", tenant_id=TENANT_ID),
    channel_id="msteams",
    locale="en-GB",
    service_url="https://smba.example/teams/",
).serialize()


def botbuilders_body(activity: Activity) -> Any:
    """What botbuilder's connector client sends for `activity` proactively in the conversation of
    REFERENCE (apply the reference, no reply id, no id), serialized by msrest."""
    TurnContext.apply_conversation_reference(
        activity, ConversationReference().deserialize(REFERENCE)
    )
    activity.reply_to_id = None
    activity.id = None
    client = ConnectorClient(MicrosoftAppCredentials.empty(), "https://smba.example/teams/")
    return client._serialize.body(activity, "Activity")


@pytest.mark.parametrize(
    "make",
    [
        lambda: card_activity(CARD, "Ada asks for Exchange Administrator"),
        lambda: card_activity(CARD),
        lambda: message_activity(TextMessage(text="hello"), SignInCardSettings("app", "sso")),
    ],
)
def test_the_body_is_the_one_botbuilders_client_sent(make: Any) -> None:
    ours = addressed(model_json(make()), REFERENCE)

    assert json.dumps(ours, sort_keys=True) == json.dumps(botbuilders_body(make()), sort_keys=True)


async def introduce(bot: BotUnderTest) -> None:
    await bot.post(teams_activity(bot.cloud.service_url))
    bot.cloud.connector_calls.clear()


async def test_a_send_carries_the_bot_connector_token(bot: BotUnderTest) -> None:
    await introduce(bot)

    await bot.channel.messenger.send(ADA, CardMessage(card=CARD))

    assert only(bot.cloud.calls("POST")).authorization == "Bearer bf-token-1"


async def test_429_with_retry_after_asks_to_try_again_that_much_later(bot: BotUnderTest) -> None:
    await introduce(bot)
    bot.cloud.connector_status = 429
    bot.cloud.connector_retry_after = "7"

    with pytest.raises(DeliveryDelayed) as delayed:
        await bot.channel.messenger.send(ADA, TextMessage(text="hello"))

    assert (delayed.value.status, delayed.value.retry_after) == (429, 7.0)
    assert len(bot.cloud.calls("POST")) == 1  # the job is retried, not the call


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_page_asks_to_try_again(bot: BotUnderTest, status: int) -> None:
    await introduce(bot)
    bot.cloud.connector_status = status
    bot.cloud.connector_page = "<html><body>Bad gateway</body></html>"

    with pytest.raises(DeliveryDelayed) as delayed:
        await bot.channel.messenger.send(ADA, TextMessage(text="hello"))

    assert delayed.value.status == status


async def test_a_success_whose_answer_cannot_be_read_is_sent_once_without_an_id(
    bot: BotUnderTest,
) -> None:
    """The connector took the message (201) but its answer is not JSON: the message is out, so
    it is not sent again (that would show it twice); only its id is unknown."""
    await introduce(bot)
    bot.cloud.connector_status = 201
    bot.cloud.connector_page = "<html><body>Created</body></html>"

    sent = await bot.channel.messenger.send(ADA, CardMessage(card=CARD))

    assert sent is not None and sent.activity_id == ""
    assert len(bot.cloud.calls("POST")) == 1


async def test_a_bad_request_is_refused_for_good(bot: BotUnderTest) -> None:
    await introduce(bot)
    bot.cloud.connector_status = 400

    with pytest.raises(DeliveryRefused) as refused:
        await bot.channel.messenger.send(ADA, TextMessage(text="hello"))

    assert refused.value.status == 400


async def test_an_update_answered_429_asks_to_try_again(bot: BotUnderTest) -> None:
    await introduce(bot)
    sent = await bot.channel.messenger.send(ADA, CardMessage(card=CARD))
    assert sent is not None
    bot.cloud.connector_status = 429
    bot.cloud.connector_retry_after = "30"

    with pytest.raises(DeliveryDelayed) as delayed:
        await bot.channel.messenger.update(sent, CardMessage(card=CARD))

    assert delayed.value.retry_after == 30.0


async def test_an_update_puts_the_card_with_its_id_into_its_conversation(
    bot: BotUnderTest,
) -> None:
    await introduce(bot)
    sent = await bot.channel.messenger.send(ADA, CardMessage(card=CARD))
    assert sent is not None
    bot.cloud.connector_calls.clear()

    assert await bot.channel.messenger.update(sent, CardMessage(card=CARD, summary="Decided"))

    put = only(bot.cloud.calls("PUT"))
    assert put.body["id"] == sent.activity_id
    assert put.body["conversation"] == {"id": sent.conversation_id}
    assert put.body["from"]["id"].startswith("28:")  # from the bot
    assert put.body["attachments"][0]["content"] == CARD
    assert put.authorization == "Bearer bf-token-1"


async def test_a_reply_in_a_turn_is_the_one_botbuilders_client_sent(bot: BotUnderTest) -> None:
    incoming = teams_activity(bot.cloud.service_url)
    bot.workflow.outcome.replies.append(CardMessage(card=CARD, summary="Your roles"))

    await bot.post(incoming)

    reply = only(bot.cloud.calls("POST"))
    expected = card_activity(CARD, "Your roles")
    TurnContext.apply_conversation_reference(
        expected, TurnContext.get_conversation_reference(Activity().deserialize(incoming))
    )
    expected.input_hint = "acceptingInput"
    expected.id = None
    client = ConnectorClient(MicrosoftAppCredentials.empty(), bot.cloud.service_url)
    assert (
        reply.path
        == f"/v3/conversations/{incoming['conversation']['id']}/activities/{incoming['id']}"
    )
    assert json.dumps(reply.body, sort_keys=True) == json.dumps(
        client._serialize.body(expected, "Activity"), sort_keys=True
    )
