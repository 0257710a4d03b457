"""Outbound Bot Connector tokens: from PIMBOT_LOGIN_URL via msal, fetched in worker threads."""

from __future__ import annotations

import asyncio

import pytest
from botframework.connector.auth import MicrosoftAppCredentials

from bot.channel import build_channel
from bot.channel.credentials import (
    BOT_CONNECTOR_SCOPE,
    BotConnectorTokenSource,
    OutboundTokenUnavailable,
    PimbotCredentialsFactory,
    refresh_delay,
)
from bot.domain import TextMessage
from tests.channel.conftest import BotFactory, BotUnderTest, make_settings
from tests.channel.fakes import (
    APP_ID,
    FakeCloud,
    FakeDatabase,
    FakeWorkflow,
    only,
    teams_activity,
)


async def test_replies_carry_the_token_from_the_login_endpoint(bot: BotUnderTest) -> None:
    bot.workflow.outcome.replies.append(TextMessage(text="hi"))

    await bot.post(teams_activity(bot.cloud.service_url))

    assert only(bot.cloud.calls("POST")).authorization == "Bearer bf-token-1"
    request = only(bot.cloud.token_requests)
    assert request.tenant == "botframework.com"  # MultiTenant
    assert request.form["grant_type"] == "client_credentials"
    assert request.form["client_id"] == APP_ID
    assert request.form["scope"] == BOT_CONNECTOR_SCOPE


async def test_single_tenant_bot_gets_its_token_from_its_own_tenant(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot(app_type="SingleTenant", app_tenant_id="bot-home-tenant")

    assert only(bot.cloud.token_requests).tenant == "bot-home-tenant"


async def test_turns_use_the_cached_token_and_fetch_nothing(bot: BotUnderTest) -> None:
    bot.workflow.outcome.replies.append(TextMessage(text="hi"))

    for _ in range(3):
        await bot.post(teams_activity(bot.cloud.service_url))

    assert len(bot.cloud.token_requests) == 1
    assert {call.authorization for call in bot.cloud.calls()} == {"Bearer bf-token-1"}


async def test_token_is_fetched_while_the_event_loop_keeps_running(cloud: FakeCloud) -> None:
    channel = build_channel(make_settings(cloud), FakeDatabase(), FakeWorkflow())
    cloud.release_token.clear()  # the login endpoint holds its answer until we release it
    starting = asyncio.create_task(channel.start())
    try:
        requested = await asyncio.to_thread(cloud.token_requested.wait, 10)

        # This code runs on the loop while the token request is still unanswered: the fetch
        # cannot be blocking the loop.
        assert requested
        assert cloud.tokens_answered == 0
        cloud.release_token.set()
        await starting
        assert channel.token_source is not None
        assert channel.token_source.current_token() == "bf-token-1"
    finally:
        cloud.release_token.set()
        await channel.stop()


async def test_renewal_replaces_the_token_used_by_later_calls(bot: BotUnderTest) -> None:
    assert bot.channel.token_source is not None
    bot.workflow.outcome.replies.append(TextMessage(text="hi"))

    await bot.channel.token_source.refresh()
    await bot.post(teams_activity(bot.cloud.service_url))

    assert len(bot.cloud.token_requests) == 2
    assert only(bot.cloud.calls("POST")).authorization == "Bearer bf-token-2"


def test_no_token_before_the_first_fetch_fails_instead_of_fetching() -> None:
    source = BotConnectorTokenSource(APP_ID, "pw", "http://127.0.0.1:9", "botframework.com")

    with pytest.raises(OutboundTokenUnavailable):
        source.current_token()


async def test_start_survives_an_unreachable_login_endpoint(cloud: FakeCloud) -> None:
    source = BotConnectorTokenSource(
        APP_ID, "pw", "http://127.0.0.1:9", "botframework.com", retry_delays=(3600.0,)
    )

    await source.start()
    try:
        with pytest.raises(OutboundTokenUnavailable):
            source.current_token()
    finally:
        await source.stop()


def test_renewal_is_scheduled_ahead_of_expiry() -> None:
    assert refresh_delay(expires_in=3600, margin=600) == 3000
    assert refresh_delay(expires_in=600, margin=600) == 300  # half-way for short lifetimes
    assert refresh_delay(expires_in=0, margin=600) == 0


async def test_credentials_are_only_for_our_app_id_and_the_bot_connector() -> None:
    source = BotConnectorTokenSource(APP_ID, "pw", "http://127.0.0.1:9", "botframework.com")
    factory = PimbotCredentialsFactory(APP_ID, source)
    login = "https://login.microsoftonline.com"

    with pytest.raises(PermissionError):
        await factory.create_credentials("other-app", "https://api.botframework.com", login, True)
    with pytest.raises(PermissionError):
        await factory.create_credentials(APP_ID, "api://some-skill", login, True)
    credentials = await factory.create_credentials(
        APP_ID, "https://api.botframework.com", login, True
    )
    assert credentials.microsoft_app_id == APP_ID
    assert await factory.is_valid_app_id(APP_ID)
    assert not await factory.is_valid_app_id("")


async def test_anonymous_factory_disables_authentication_and_outbound_tokens() -> None:
    factory = PimbotCredentialsFactory("", None)

    assert await factory.is_authentication_disabled()
    credentials = await factory.create_credentials("", "https://api.botframework.com", "", True)
    assert isinstance(credentials, MicrosoftAppCredentials)
    assert not credentials.microsoft_app_id


def test_plain_http_login_url_off_loopback_is_refused_at_build_time(cloud: FakeCloud) -> None:
    settings = make_settings(cloud, login_url="http://login.example.com")

    with pytest.raises(ValueError, match="plain http"):
        build_channel(settings, FakeDatabase(), FakeWorkflow())


def test_single_tenant_without_tenant_id_is_refused_at_build_time(cloud: FakeCloud) -> None:
    settings = make_settings(cloud, app_type="SingleTenant", app_tenant_id="")

    with pytest.raises(ValueError, match="MicrosoftAppTenantId"):
        build_channel(settings, FakeDatabase(), FakeWorkflow())
