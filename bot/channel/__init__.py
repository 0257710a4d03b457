"""The channel layer: everything botbuilder (Bot Framework SDK 4.17.1), and nothing else.

`build_channel` wires the inbound route (our own authentication-first handler), the Teams
activity handler that calls the workflow, the outbound credentials and the `Messenger`. Moving to
the Microsoft 365 Agents SDK later replaces this package only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botframework.connector.auth import (
    AuthenticationConfiguration,
    BotFrameworkAuthenticationFactory,
)

from bot.channel import msrest_speedup  # noqa: F401  (applies its fix on import)
from bot.channel.adapter import PimbotAdapter
from bot.channel.connector import BotConnector
from bot.channel.conversations import ConversationDatabase
from bot.channel.credentials import (
    BotConnectorTokenSource,
    PimbotCredentialsFactory,
    PrefetchedTokenCredentials,
    build_token_source,
)
from bot.channel.handler import PimbotActivityHandler
from bot.channel.messenger import AppInstaller, BotMessenger
from bot.channel.openid_metadata import SigningKeyRefresher
from bot.channel.rendering import SignInCardSettings
from bot.channel.routes import Handler, messages_handler
from bot.channel.sign_in import SignInCards, TokenService
from bot.channel.user_token_clients import ReusedUserTokenClients
from bot.msal_http import LoginHttpClient
from bot.settings import InboundMode, Settings
from bot.workflow.ports import TurnHandler

__all__ = ["BotMessenger", "Channel", "build_channel", "build_token_service"]

logger = logging.getLogger(__name__)


@dataclass
class Channel:
    """What the app needs from the channel: the `/api/messages` handler, the messenger, and
    the background work to start and stop with the app."""

    handle_messages: Handler
    messenger: BotMessenger
    signing_keys: SigningKeyRefresher
    token_source: BotConnectorTokenSource | None
    token_service: TokenService | None = None
    connector: BotConnector | None = None

    async def start(self) -> None:
        """Load the channel's signing keys and the first outbound token (both in worker
        threads), then keep them fresh in the background."""
        await self.signing_keys.start()
        if self.token_source is not None:
            await self.token_source.start()

    async def stop(self) -> None:
        if self.connector is not None:
            await self.connector.close()
        if self.token_service is not None:
            await self.token_service.close()
        if self.token_source is not None:
            await self.token_source.stop()
        await self.signing_keys.stop()


def build_channel(
    settings: Settings,
    db: ConversationDatabase,
    turn_handler: TurnHandler,
    installer: AppInstaller | None = None,
    login: LoginHttpClient | None = None,
) -> Channel:
    """`installer` installs the Teams app for people pimbot cannot reach otherwise; `login` is
    the process's one client for the login host (one is made if not given)."""
    if settings.inbound_mode() is InboundMode.ANONYMOUS:  # raises where it is not allowed
        logger.warning(
            "inbound mode ANONYMOUS: MicrosoftAppId is empty and PIMBOT_ALLOW_ANONYMOUS=true, so "
            "inbound requests are NOT authenticated (Bot Framework Emulator, Agents Playground)"
        )
    else:
        logger.info(
            "inbound mode authenticated: inbound requests are authenticated for app %s",
            settings.app_id,
        )
    token_source = build_token_source(settings, login)
    credentials = PimbotCredentialsFactory(settings.app_id, token_source)
    # The built-in public-cloud path; its channel metadata URL comes from the setting (via
    # `ChannelValidation.open_id_metadata_endpoint`, set by SigningKeyRefresher). The
    # parameterized path is avoided: it answers 500 to a request without Authorization header.
    authentication = BotFrameworkAuthenticationFactory.create(
        credential_factory=credentials,
        auth_configuration=AuthenticationConfiguration(),
    )
    connector = BotConnector(token_source.current_token if token_source is not None else None)
    adapter = PimbotAdapter(ReusedUserTokenClients(authentication), connector)
    signing_keys = SigningKeyRefresher(
        settings.botframework_openid_url, warm=not settings.anonymous
    )
    token_service = build_token_service(settings, token_source)
    sign_in = SignInCards(
        SignInCardSettings(app_id=settings.app_id, connection=settings.oauth_connection),
        token_service,
    )
    bot = PimbotActivityHandler(
        turn_handler, db, allowed_tenant_id=settings.graph_tenant_id, sign_in=sign_in
    )
    messenger = BotMessenger(
        adapter,
        db,
        connector=connector,
        app_id=settings.app_id,
        sign_in=sign_in,
        installer=installer,
        approvers_channel_id=settings.approvers_channel_id,
        tenant_id=settings.graph_tenant_id,
    )
    return Channel(
        handle_messages=messages_handler(adapter, bot),
        messenger=messenger,
        signing_keys=signing_keys,
        token_source=token_source,
        token_service=token_service,
        connector=connector,
    )


def build_token_service(
    settings: Settings, token_source: BotConnectorTokenSource | None
) -> TokenService | None:
    """The Bot Framework token service for the OAuth connection, or None when the bot runs
    anonymously (no app registration, no connection)."""
    if token_source is None:
        return None
    return TokenService(
        app_id=settings.app_id,
        url=settings.token_service_url,
        connection=settings.oauth_connection,
        credentials=PrefetchedTokenCredentials(settings.app_id, token_source),
    )
