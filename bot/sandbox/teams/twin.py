"""The Teams twin: the Bot Connector service a bot talks to and the Teams client its users use, in
one aiohttp application; its page `/` is a web chat with the bot (web_chat.py)."""

from __future__ import annotations

from aiohttp import web

from bot.sandbox.entra import EntraTwin, TenantView
from bot.sandbox.teams.activities import ActivityFactory
from bot.sandbox.teams.bot_link import BotLink
from bot.sandbox.teams.channel_auth import OPENID_PATH, ChannelAuth
from bot.sandbox.teams.client_side import TeamsClientSide
from bot.sandbox.teams.connector import BotConnector, ConnectorCall
from bot.sandbox.teams.conversations import Channels, Chat, Chats
from bot.sandbox.teams.ids import bot_mri
from bot.sandbox.teams.token_service import OAuthConnection, TokenService
from bot.sandbox.teams.web_chat import WebChat, same_origin_only

SSO_CONNECTION = "pimbot-sso"  # the default of PIMBOT_OAUTH_CONNECTION


class TeamsTwin:
    """`app_id=None` is an anonymous bot: activities carry no token and `/v3` needs none.
    `service_url` (with trailing slash) is set by whoever binds the server; until then it is
    taken from the first client request."""

    def __init__(
        self,
        tenant: TenantView,
        *,
        bot_url: str,
        app_id: str | None,
        entra: EntraTwin,
        require_install: bool = False,
    ) -> None:
        bot_app_id = app_id or tenant.pimbot_app.client_id
        self.channel = ChannelAuth()
        self.chats = Chats(tenant, bot_app_id)
        self.channels = Channels()
        self.factory = ActivityFactory(
            tenant_id=tenant.tenant_id,
            bot_id=bot_mri(bot_app_id),
            bot_name=tenant.pimbot_app.display_name,
        )
        self.link = BotLink(self.channel, bot_url=bot_url, app_id=app_id)
        self.connector = BotConnector(
            self.chats,
            app_id=app_id,
            entra=entra,
            require_install=require_install,
            on_sign_in_card=self._on_sign_in_card,
            channels=self.channels,
        )
        # The Azure Bot's OAuth connection for Teams SSO, as docs/deploy.md sets it up.
        self.token_service = TokenService(
            authorized=self.connector.authorized,
            connections={
                SSO_CONNECTION: OAuthConnection(SSO_CONNECTION, f"api://botid-{bot_app_id}")
            },
        )
        self.client_side = TeamsClientSide(
            self.chats,
            factory=self.factory,
            link=self.link,
            entra=entra,
            sso_audience=bot_app_id,
            token_service=self.token_service,
            channels=self.channels,
        )
        self.web_chat = WebChat(tenant)
        self.app = web.Application(middlewares=[same_origin_only])
        self.app.add_routes(
            self.channel.routes()
            + self.connector.routes()
            + self.client_side.routes()
            + self.token_service.routes()
            + self.web_chat.routes()
        )
        self.app.on_shutdown.append(self._end_long_polls)
        self.app.on_cleanup.append(self._close)

    # -- the app installed for a user from outside Teams (Graph's teamwork/installedApps) -----

    def is_installed(self, user_id: str) -> bool:
        user = self.chats.user(user_id)
        return user is not None and self.chats.for_user(user).installed

    def install(self, user_id: str) -> None:
        """Install for the user; Teams then sends the bot its `installationUpdate`."""
        user = self.chats.user(user_id)
        if user is None:
            raise KeyError(user_id)
        self.client_side.install_for(self.chats.for_user(user))

    def _on_sign_in_card(self, chat: Chat) -> None:
        self.client_side.on_sign_in_card(chat)

    @property
    def calls(self) -> list[ConnectorCall]:
        return self.connector.calls

    @property
    def service_url(self) -> str:
        return self.factory.service_url

    @service_url.setter
    def service_url(self, url: str) -> None:
        self.factory.service_url = url.rstrip("/") + "/"
        self.token_service.base_url = url.rstrip("/")

    @property
    def bot_url(self) -> str:
        return self.link.bot_url

    @bot_url.setter
    def bot_url(self, url: str) -> None:
        self.link.bot_url = url

    @property
    def openid_url(self) -> str:
        return self.service_url.rstrip("/") + OPENID_PATH

    async def _end_long_polls(self, app: web.Application) -> None:
        """Answer clients waiting on a transcript now (the web chat always has one waiting), so
        that stopping the twin does not wait out their long polls."""
        for chat in self.chats.started():
            await chat.transcript.close()

    async def _close(self, app: web.Application) -> None:
        await self.client_side.close()
        await self.link.close()
