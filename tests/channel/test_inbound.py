"""POST /api/messages: request checks and authentication before any bot code runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channel.routes import MAX_BODY_BYTES
from bot.domain import Actor, Person
from tests.channel.conftest import BotFactory, BotUnderTest
from tests.channel.fakes import (
    TENANT_ID,
    USER_MRI,
    USER_OID,
    SigningKey,
    channel_token,
    only,
    teams_activity,
)


async def test_valid_channel_token_reaches_the_workflow_with_the_teams_actor(
    bot: BotUnderTest,
) -> None:
    reply = await bot.post(teams_activity(bot.cloud.service_url, text="my roles"))

    assert reply.status == 200
    call = only(bot.workflow.calls)
    assert call.entry == "on_text"
    assert call.args == ("my roles",)
    assert call.actor == Actor(
        person=Person(id=USER_OID, tenant_id=TENANT_ID, display_name="Ada Admin"),
        teams_id=USER_MRI,
        timezone="Europe/Berlin",
    )


def _forged(bot: BotUnderTest) -> str:
    return channel_token(SigningKey(bot.signing_key.kid), bot.cloud.service_url)


REJECTED: dict[str, Any] = {
    "forged signature": lambda bot: f"Bearer {_forged(bot)}",
    "unknown kid": lambda bot: (
        "Bearer " + channel_token(SigningKey("kid-unknown"), bot.cloud.service_url)
    ),
    "expired": lambda bot: f"Bearer {bot.token(lifetime=-600)}",
    "wrong audience": lambda bot: f"Bearer {bot.token(audience='someone-else')}",
    "wrong issuer": lambda bot: f"Bearer {bot.token(issuer='https://evil.example')}",
    "service url mismatch": lambda bot: (
        "Bearer " + channel_token(bot.signing_key, "https://smba.trafficmanager.net/emea/")
    ),
    "missing header": lambda bot: None,
    "basic scheme": lambda bot: "Basic dXNlcjpwYXNz",
    "bearer without token": lambda bot: "Bearer ",
    "not a jwt": lambda bot: "Bearer not.a.jwt",
}


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_every_authentication_failure_is_401_and_never_reaches_the_workflow(
    bot: BotUnderTest, case: str
) -> None:
    reply = await bot.post(teams_activity(bot.cloud.service_url), authorization=REJECTED[case](bot))

    assert reply.status == 401
    assert reply.body == {"error": "Unauthorized"}
    assert bot.workflow.calls == []
    assert bot.cloud.calls() == []


async def test_channel_not_endorsed_by_the_signing_key_is_401(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url, channelId="webchat")

    reply = await bot.post(activity)

    assert reply.status == 401
    assert bot.workflow.calls == []


async def test_without_app_id_the_bot_runs_anonymously_like_the_emulator_expects(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot(
        app_id="", app_password="", allow_anonymous=True, graph_url="http://127.0.0.1:9"
    )

    reply = await bot.post(teams_activity(bot.cloud.service_url), authorization=None)

    assert reply.status == 200
    assert only(bot.workflow.calls).entry == "on_text"


async def test_anonymous_replies_carry_no_authorization_header(make_bot: BotFactory) -> None:
    bot = await make_bot(
        app_id="", app_password="", allow_anonymous=True, graph_url="http://127.0.0.1:9"
    )
    bot.workflow.outcome.replies.append(_text("hello"))

    await bot.post(teams_activity(bot.cloud.service_url), authorization=None)

    assert only(bot.cloud.calls("POST")).authorization is None


async def test_non_json_content_type_is_415(bot: BotUnderTest) -> None:
    reply = await bot.post_raw(
        json.dumps(teams_activity(bot.cloud.service_url)),
        {"Content-Type": "text/plain", "Authorization": f"Bearer {bot.token()}"},
    )

    assert reply.status == 415
    assert bot.workflow.calls == []


async def test_body_above_the_limit_is_413(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url, text="x" * MAX_BODY_BYTES)

    reply = await bot.post(activity)

    assert reply.status == 413
    assert bot.workflow.calls == []


async def test_large_body_within_the_limit_is_read_whole(bot: BotUnderTest) -> None:
    activity = teams_activity(bot.cloud.service_url, text="x" * (MAX_BODY_BYTES - 4096))

    reply = await bot.post(activity)

    assert reply.status == 200
    assert len(only(bot.workflow.calls).args[0]) == MAX_BODY_BYTES - 4096


async def test_chunked_body_above_the_limit_is_413(bot: BotUnderTest) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"type": "message", "text": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    reply = await bot.post_raw(
        chunks(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {bot.token()}"},
    )

    assert reply.status == 413
    assert bot.workflow.calls == []


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", json.dumps({"text": "no type"}), json.dumps({"type": ""})],
    ids=["malformed", "not an object", "no type", "empty type"],
)
async def test_malformed_activity_is_400_without_details(bot: BotUnderTest, body: str) -> None:
    reply = await bot.post_raw(
        body, {"Content-Type": "application/json", "Authorization": f"Bearer {bot.token()}"}
    )

    assert reply.status == 400
    assert reply.body == {"error": "BadRequest"}
    assert bot.workflow.calls == []


async def test_failure_outside_the_workflow_is_500_without_details(bot: BotUnderTest) -> None:
    bot.cloud.connector_status = 502  # the refusal for a foreign tenant cannot be delivered
    activity = teams_activity(bot.cloud.service_url, channelData={"tenant": {"id": "other"}})

    reply = await bot.post(activity)

    assert reply.status == 500
    assert set(reply.body) == {"error", "ref"}
    assert reply.body["error"] == "InternalError"


def _text(text: str) -> Any:
    from bot.domain import TextMessage

    return TextMessage(text=text)
