"""One Bot Framework user token client per app id, not one per turn.

botbuilder's `CloudAdapter.process_activity` asks its `BotFrameworkAuthentication` for a
`UserTokenClient` on every activity (for OAuthPrompt-style sign-in), and the built-in
authentication builds a new one each time: a `TokenApiClient` with its msrest configuration,
pipeline and credentials, about a tenth of a turn's CPU for `help`. pimbot signs people in
through its own `TokenService` (`bot/channel/sign_in.py`) and never uses that client, but
botbuilder puts it in every turn's state. `ReusedUserTokenClients` delegates everything to the
built-in authentication (inbound tokens are validated exactly as before, on every request) and
keeps the user token client it made for an app id.
"""

from __future__ import annotations

from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    UserTokenClient,
)
from botframework.connector.skills import BotFrameworkClient


class ReusedUserTokenClients(BotFrameworkAuthentication):  # type: ignore[misc]
    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self._inner = inner
        self._user_token_clients: dict[str | None, UserTokenClient] = {}

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = JwtTokenValidation.get_app_id_from_claims(claims_identity.claims)
        client = self._user_token_clients.get(app_id)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            self._user_token_clients[app_id] = client
        return client

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_request(activity, auth_header)

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._inner.create_connector_factory(claims_identity)

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        audience: str = self._inner.get_originating_audience()
        return audience

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)
