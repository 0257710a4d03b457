"""Teams activities → workflow calls, and the workflow's Outcome → replies, updates, invoke
responses."""

from __future__ import annotations

import base64
import json
from typing import Any

from bot.channel.handler import FAILURE_TEXT, FOREIGN_TENANT_TEXT
from bot.channel.rendering import ADAPTIVE_CARD, OAUTH_CARD
from bot.domain import (
    CardMessage,
    Outcome,
    SentMessage,
    SignInRequest,
    TextMessage,
    TokenExchangeOutcome,
)
from bot.workflow.ports import LATEST_SIGN_IN
from tests.channel.conftest import BotFactory, BotUnderTest
from tests.channel.fakes import APP_ID, TENANT_ID, USER_MRI, USER_OID, only, teams_activity

CARD: dict[str, object] = {"type": "AdaptiveCard", "version": "1.5", "body": []}
UPDATED_CARD: dict[str, object] = {"type": "AdaptiveCard", "version": "1.5", "body": [{"x": 1}]}


def execute(bot: BotUnderTest, data: dict[str, Any], **value: Any) -> dict[str, Any]:
    return teams_activity(
        bot.cloud.service_url,
        type="invoke",
        name="adaptiveCard/action",
        text=None,
        value={
            "action": {"type": "Action.Execute", "verb": "approve", "data": data},
            "trigger": "manual",
            **value,
        },
    )


# --- text ------------------------------------------------------------------------------------


async def test_mention_is_stripped_from_the_command_text(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url, text="<at>pimbot</at>  activate  Exchange")

    await bot.post(activity)

    assert only(bot.workflow.calls).args == ("activate Exchange",)


async def test_replies_are_sent_in_the_conversation_as_text_and_cards(bot: BotUnderTest) -> None:
    bot.workflow.outcome = Outcome(
        replies=[TextMessage(text="Hello"), CardMessage(card=CARD, summary="Your roles")]
    )

    await bot.post(teams_activity(bot.cloud.service_url))

    text, card = bot.cloud.calls("POST")
    assert text.path == "/v3/conversations/a:conv-ada/activities/1700000000001"
    assert text.body["text"] == "Hello"
    assert card.body["text"] == "Your roles"
    assert card.body["attachments"] == [{"contentType": ADAPTIVE_CARD, "content": CARD}]


async def test_sign_in_request_becomes_an_oauth_card_whose_button_the_token_service_made(
    bot: BotUnderTest,
) -> None:
    bot.workflow.outcome = Outcome(
        replies=[SignInRequest(exchange_id="xchg-1", text="Please confirm it is you")]
    )

    await bot.post(teams_activity(bot.cloud.service_url))

    attachment = only(only(bot.cloud.calls("POST")).body["attachments"])
    assert attachment["contentType"] == OAUTH_CARD
    content = attachment["content"]
    assert content["text"] == "Please confirm it is you"
    assert content["connectionName"] == "pimbot-sso"
    assert content["tokenExchangeResource"]["id"] == "xchg-1"
    assert content["tokenExchangeResource"]["uri"] == f"api://botid-{APP_ID}"
    assert content["tokenExchangeResource"]["providerId"]
    button = only(content["buttons"])
    assert button["type"] == "signin"
    assert button["value"] == f"{bot.cloud.base}/api/oauth/signin?signin=abc"
    assert "authorize" not in json.dumps(content)
    # The token service was asked with the bot's token, for this connection and conversation.
    asked = only(bot.cloud.token_service_calls)
    assert asked.path == "/api/botsignin/GetSignInResource"
    assert asked.authorization and asked.authorization.startswith("Bearer bf-token-")
    state = json.loads(base64.b64decode(asked.body["state"]))
    assert state["connectionName"] == "pimbot-sso"
    assert state["msAppId"] == APP_ID
    assert state["conversation"]["user"]["id"] == USER_MRI
    assert state["conversation"]["conversation"]["id"] == "a:conv-ada"


async def test_the_connection_name_is_a_setting(make_bot: BotFactory) -> None:
    bot = await make_bot(oauth_connection="contoso-sso")
    bot.workflow.outcome = Outcome(replies=[SignInRequest(exchange_id="x", text="Sign in")])

    await bot.post(teams_activity(bot.cloud.service_url))

    content = only(only(bot.cloud.calls("POST")).body["attachments"])["content"]
    assert content["connectionName"] == "contoso-sso"
    state = json.loads(base64.b64decode(only(bot.cloud.token_service_calls).body["state"]))
    assert state["connectionName"] == "contoso-sso"


async def test_without_an_answer_from_the_token_service_the_card_has_no_bare_authorize_url(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot(token_service_url="http://127.0.0.1:9")
    bot.workflow.outcome = Outcome(replies=[SignInRequest(exchange_id="x", text="Sign in")])

    await bot.post(teams_activity(bot.cloud.service_url))

    content = only(only(bot.cloud.calls("POST")).body["attachments"])["content"]
    assert content["buttons"] == []
    assert content["tokenExchangeResource"]["uri"] == f"api://botid-{APP_ID}"


def verify_state(bot: BotUnderTest, code: str) -> dict[str, Any]:
    return teams_activity(
        bot.cloud.service_url,
        type="invoke",
        name="signin/verifyState",
        text=None,
        value={"state": code},
    )


async def test_verify_state_fetches_the_token_with_the_magic_code_for_the_newest_sign_in(
    bot: BotUnderTest,
) -> None:
    bot.cloud.user_tokens["123456"] = "sso-token-from-the-connection"
    bot.workflow.exchange = TokenExchangeOutcome(
        accepted=True, outcome=Outcome(replies=[TextMessage(text="Activated.")])
    )

    reply = await bot.post(verify_state(bot, "123456"))

    assert reply.status == 200
    call = only(bot.workflow.calls)
    assert call.entry == "on_token_exchange"
    assert call.args == (LATEST_SIGN_IN, "sso-token-from-the-connection")
    asked = only(bot.cloud.token_service_calls)
    assert asked.path == "/api/usertoken/GetToken"
    assert asked.body["userId"] == USER_MRI
    assert asked.body["connectionName"] == "pimbot-sso"
    assert asked.body["channelId"] == "msteams"
    assert asked.body["code"] == "123456"
    assert only(bot.cloud.calls("POST")).body["text"] == "Activated."


async def test_verify_state_without_a_token_answers_404_and_says_to_sign_in_again(
    bot: BotUnderTest,
) -> None:
    reply = await bot.post(verify_state(bot, "000000"))

    assert reply.status == 404
    assert bot.workflow.calls == []
    assert "Sign in again" in only(bot.cloud.calls("POST")).body["text"]


async def test_verify_state_whose_token_the_workflow_refuses_answers_412(
    bot: BotUnderTest,
) -> None:
    bot.cloud.user_tokens["654321"] = "token"
    bot.workflow.exchange = TokenExchangeOutcome(accepted=False, failure_detail="no MFA")

    reply = await bot.post(verify_state(bot, "654321"))

    assert reply.status == 412
    assert reply.body == {"connectionName": "pimbot-sso", "failureDetail": "no MFA"}


# --- Action.Execute --------------------------------------------------------------------------


async def test_action_execute_passes_data_verb_and_trigger_to_the_workflow(
    bot: BotUnderTest,
) -> None:
    await bot.post(execute(bot, {"requestId": "r1", "reason": "ok"}))

    call = only(bot.workflow.calls)
    assert call.entry == "on_action"
    assert call.args == (
        {"requestId": "r1", "reason": "ok", "verb": "approve", "trigger": "manual"},
    )
    assert call.actor.person.id == USER_OID


async def test_action_execute_card_update_is_the_invoke_response_card(bot: BotUnderTest) -> None:
    bot.workflow.outcome = Outcome(card_update=UPDATED_CARD)

    reply = await bot.post(execute(bot, {"requestId": "r1"}))

    assert reply.status == 200
    assert reply.body == {"statusCode": 200, "type": ADAPTIVE_CARD, "value": UPDATED_CARD}
    assert bot.cloud.calls() == []


async def test_action_execute_toast_is_an_activity_message_invoke_response(
    bot: BotUnderTest,
) -> None:
    bot.workflow.outcome = Outcome(toast="Already decided by Bea")

    reply = await bot.post(execute(bot, {"requestId": "r1"}))

    assert reply.status == 200
    assert reply.body == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Already decided by Bea",
    }


async def test_action_execute_without_toast_shows_the_first_reply_under_the_card(
    bot: BotUnderTest,
) -> None:
    bot.workflow.outcome = Outcome(
        replies=[TextMessage(text="You are **not** an approver for this request.")]
    )

    reply = await bot.post(execute(bot, {"requestId": "r1"}))

    assert reply.body["value"] == "You are not an approver for this request."
    assert bot.cloud.calls() == []  # said once, under the card, not in the chat as well


async def test_action_execute_says_a_refusal_once_not_in_the_chat_and_under_the_card(
    bot: BotUnderTest,
) -> None:
    too_early = (
        "Entra doesn't allow ending a role in the first 5 minutes after it was activated, so "
        "**User Administrator** stays active for now. Try again after 12:45 (UTC)."
    )
    bot.workflow.outcome = Outcome(replies=[TextMessage(text=too_early)])

    reply = await bot.post(execute(bot, {"verb": "role.deactivate"}))

    assert reply.body["value"] == too_early.replace("**", "")
    assert bot.cloud.calls() == []


async def test_action_execute_toast_repeated_as_a_reply_is_said_once(bot: BotUnderTest) -> None:
    bot.workflow.outcome = Outcome(
        toast="Request cancelled.", replies=[TextMessage(text="Request cancelled.")]
    )

    reply = await bot.post(execute(bot, {"requestId": "r1"}))

    assert reply.body["value"] == "Request cancelled."
    assert bot.cloud.calls() == []


async def test_action_execute_a_long_answer_goes_whole_to_the_chat_once(bot: BotUnderTest) -> None:
    long_answer = "word " * 100
    bot.workflow.outcome = Outcome(replies=[TextMessage(text=long_answer)])

    reply = await bot.post(execute(bot, {"requestId": "r1"}))

    assert reply.body["value"] == "My answer is in the chat."
    (sent,) = bot.cloud.calls("POST")
    assert "word word" in json.dumps(sent.body)


async def test_non_execute_card_action_is_a_bad_request_error_body(bot: BotUnderTest) -> None:
    activity = execute(bot, {})
    activity["value"]["action"]["type"] = "Action.Submit"

    reply = await bot.post(activity)

    assert reply.status == 200
    assert reply.body["statusCode"] == 400
    assert reply.body["type"] == "application/vnd.microsoft.error"
    assert bot.workflow.calls == []


# --- Action.Submit ---------------------------------------------------------------------------


async def test_action_submit_card_update_puts_the_card_message_it_came_from(
    bot: BotUnderTest,
) -> None:
    bot.workflow.outcome = Outcome(card_update=UPDATED_CARD)
    activity = teams_activity(
        bot.cloud.service_url, text=None, value={"verb": "deny"}, replyToId="card-msg-7"
    )

    reply = await bot.post(activity)

    assert reply.status == 200
    assert only(bot.workflow.calls).args == ({"verb": "deny"},)
    put = only(bot.cloud.calls("PUT"))
    assert put.path == "/v3/conversations/a:conv-ada/activities/card-msg-7"
    assert put.body["attachments"] == [{"contentType": ADAPTIVE_CARD, "content": UPDATED_CARD}]


# --- SSO token exchange ----------------------------------------------------------------------


def token_exchange(bot: BotUnderTest) -> dict[str, Any]:
    return teams_activity(
        bot.cloud.service_url,
        type="invoke",
        name="signin/tokenExchange",
        text=None,
        value={"id": "xchg-1", "connectionName": "pimbot-sso", "token": "sso.jwt.here"},
    )


async def test_accepted_token_exchange_is_answered_200(bot: BotUnderTest) -> None:
    reply = await bot.post(token_exchange(bot))

    assert reply.status == 200
    call = only(bot.workflow.calls)
    assert (call.entry, call.args) == ("on_token_exchange", ("xchg-1", "sso.jwt.here"))


async def test_refused_token_exchange_is_412_so_that_teams_shows_the_sign_in_card(
    bot: BotUnderTest,
) -> None:
    bot.workflow.exchange = TokenExchangeOutcome(accepted=False, failure_detail="no mfa claim")

    reply = await bot.post(token_exchange(bot))

    assert reply.status == 412
    assert reply.body == {
        "id": "xchg-1",
        "connectionName": "pimbot-sso",
        "failureDetail": "no mfa claim",
    }


async def test_token_exchange_without_token_is_412_and_skips_the_workflow(
    bot: BotUnderTest,
) -> None:
    activity = token_exchange(bot)
    del activity["value"]["token"]

    reply = await bot.post(activity)

    assert reply.status == 412
    assert bot.workflow.calls == []


# --- tenants, people, conversations ----------------------------------------------------------


async def test_other_tenant_is_refused_politely_and_nothing_is_recorded(
    bot: BotUnderTest,
) -> None:
    activity = teams_activity(
        bot.cloud.service_url,
        channelData={"tenant": {"id": "ffffffff-0000-0000-0000-000000000000"}},
    )

    reply = await bot.post(activity)

    assert reply.status == 200
    assert bot.workflow.calls == []
    assert bot.db.records == {}
    assert only(bot.cloud.calls("POST")).body["text"] == FOREIGN_TENANT_TEXT
    (actor, tenant_id, kind) = only(bot.workflow.foreign_tenants)  # for the audit log
    assert (actor.person.id, tenant_id, kind) == (
        USER_OID,
        "ffffffff-0000-0000-0000-000000000000",
        "message",
    )


async def test_tenant_is_read_from_channel_data_not_conversation(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url)
    activity["conversation"]["tenantId"] = "ffffffff-0000-0000-0000-000000000000"

    await bot.post(activity)

    assert only(bot.workflow.calls).actor.person.tenant_id == TENANT_ID


async def test_conversation_update_records_the_conversation(bot: BotUnderTest) -> None:
    activity = teams_activity(
        bot.cloud.service_url,
        type="conversationUpdate",
        text=None,
        localTimezone=None,
        membersAdded=[{"id": f"28:{APP_ID}"}],
    )

    reply = await bot.post(activity)

    assert reply.status == 200
    assert bot.workflow.calls == []
    record = bot.db.records[USER_OID]
    assert record.tenant_id == TENANT_ID
    assert record.conversation_id == "a:conv-ada"
    assert record.service_url == bot.cloud.service_url
    assert record.teams_id == USER_MRI
    assert record.bot_id == f"28:{APP_ID}"
    assert record.reference["conversation"]["id"] == "a:conv-ada"
    assert record.reference["serviceUrl"] == bot.cloud.service_url


async def test_every_message_refreshes_the_record_and_keeps_a_known_time_zone(
    bot: BotUnderTest,
) -> None:
    await bot.post(teams_activity(bot.cloud.service_url, localTimezone="Asia/Tokyo"))
    await bot.post(execute(bot, {"requestId": "r1"}) | {"localTimezone": None})

    assert bot.db.records[USER_OID].timezone == "Asia/Tokyo"


async def test_group_chat_is_not_recorded_as_the_persons_chat(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url)
    activity["conversation"] = {"id": "19:group", "conversationType": "groupChat", "isGroup": True}

    await bot.post(activity)

    assert bot.db.records == {}
    assert only(bot.workflow.calls).entry == "on_text"


async def test_installation_calls_on_installed_and_sends_its_welcome(bot: BotUnderTest) -> None:
    bot.workflow.outcome = Outcome(replies=[TextMessage(text="Welcome")])
    activity = teams_activity(
        bot.cloud.service_url, type="installationUpdate", action="add", text=None
    )

    await bot.post(activity)

    assert only(bot.workflow.calls).entry == "on_installed"
    assert only(bot.cloud.calls("POST")).body["text"] == "Welcome"
    assert USER_OID in bot.db.records


async def test_sender_without_entra_object_id_is_told_and_not_served(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url, **{"from": {"id": USER_MRI}})

    await bot.post(activity)

    assert bot.workflow.calls == []
    assert "could not tell who you are" in only(bot.cloud.calls("POST")).body["text"]


# --- failures ---------------------------------------------------------------------------------


async def test_workflow_failure_is_a_friendly_reply_without_details(bot: BotUnderTest) -> None:
    bot.workflow.error = RuntimeError("secret internals")

    reply = await bot.post(teams_activity(bot.cloud.service_url))

    assert reply.status == 200
    text = only(bot.cloud.calls("POST")).body["text"]
    assert text.startswith(FAILURE_TEXT)
    assert "secret internals" not in text


async def test_workflow_failure_in_action_execute_is_an_error_invoke_response(
    bot: BotUnderTest,
) -> None:
    bot.workflow.error = RuntimeError("secret internals")

    reply = await bot.post(execute(bot, {"requestId": "r1"}))

    assert reply.status == 200
    assert reply.body["statusCode"] == 500
    assert reply.body["type"] == "application/vnd.microsoft.error"
    assert reply.body["value"]["message"].startswith(FAILURE_TEXT)
    assert "secret internals" not in str(reply.body)


# --- the card a button was on, and the presser's time zone ------------------------------------


async def test_a_card_action_names_the_message_that_carried_the_button(bot: BotUnderTest) -> None:
    activity = execute(bot, {"verb": "card.refresh", "request_id": "r1"})
    activity["replyToId"] = "card-activity-7"

    await bot.post(activity)

    call = only(bot.workflow.calls)
    assert call.card == SentMessage(
        person_id=USER_OID, conversation_id="a:conv-ada", activity_id="card-activity-7"
    )


async def test_an_invoke_without_a_time_zone_uses_the_one_teams_sent_last(
    bot: BotUnderTest,
) -> None:
    # Teams sends `localTimezone` on messages, not on invokes: a card pressed after a message
    # is answered in the same zone as that message.
    await bot.post(teams_activity(bot.cloud.service_url, localTimezone="Asia/Tokyo"))
    invoke = execute(bot, {"verb": "card.refresh", "request_id": "r1"})
    del invoke["localTimezone"]

    await bot.post(invoke)

    assert [c.actor.timezone for c in bot.workflow.calls] == ["Asia/Tokyo", "Asia/Tokyo"]
