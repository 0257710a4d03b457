"""Teams SSO as Teams documents it: the sign-in card, and the sign-in that completes through its
button, both through the Bot Framework token service and the Azure Bot's OAuth connection
(`PIMBOT_OAUTH_CONNECTION`).

Teams first tries to get the person's SSO token silently (the card's `tokenExchangeResource`)
and sends it in a `signin/tokenExchange` invoke. When the bot refuses that (412), Teams shows the
card's Sign in button: its link is the token service's sign-in page for the connection (from
`GetSignInResource`, which also names the connection's Token Exchange URL); once the person has
signed in, Teams sends `signin/verifyState` with a magic code, and the bot fetches the person's
token for the connection with it (`GetToken`). The connection's scope is pimbot's own
`access_as_user`, so that token is checked and exchanged exactly as an SSO token.
"""

from __future__ import annotations

import logging
from typing import Any

from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount
from botframework.connector.auth import AppCredentials, UserTokenClient
from botframework.connector.token_api.aio import TokenApiClient
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.channel.rendering import SignInCardSettings, SignInResource, message_activity
from bot.domain import Message, SignInRequest

log = logging.getLogger(__name__)


class TokenServiceError(Exception):
    """The token service refused or did not answer; the message says which (no token in it)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TokenService:
    """The Bot Framework token service for one bot and one OAuth connection."""

    def __init__(
        self, *, app_id: str, url: str, connection: str, credentials: AppCredentials
    ) -> None:
        self.app_id = app_id
        self.url = url
        self.connection = connection
        self._client = TokenApiClient(credentials, url)

    async def sign_in_resource(self, activity: Activity) -> SignInResource:
        """The sign-in link and exchange resource for the conversation of `activity`."""
        state = UserTokenClient.create_token_exchange_state(self.app_id, self.connection, activity)
        try:
            result = await self._client.bot_sign_in.get_sign_in_resource(state)
        except HttpOperationError as exc:
            raise _refusal("GetSignInResource", exc) from None
        except ClientRequestError as exc:
            raise TokenServiceError(
                f"no answer from the token service at {self.url}: {exc}"
            ) from None
        resource = result.token_exchange_resource if result is not None else None
        if result is None or not result.sign_in_link or resource is None:
            raise TokenServiceError("the token service answered without a sign-in link")
        return SignInResource(
            link=str(result.sign_in_link),
            exchange_uri=str(resource.uri or ""),
            provider_id=str(resource.provider_id or ""),
        )

    async def check_connection(self) -> SignInResource:
        """What the token service says about the connection, for a conversation that does not
        exist (`pimbot doctor`: nobody is asked to sign in)."""
        probe = Activity(
            type=ActivityTypes.message,
            channel_id="msteams",
            service_url="https://smba.trafficmanager.net/teams/",
            conversation=ConversationAccount(id="pimbot-doctor"),
            from_property=ChannelAccount(id="29:pimbot-doctor"),
            recipient=ChannelAccount(id=f"28:{self.app_id}"),
        )
        return await self.sign_in_resource(probe)

    async def user_token(self, user_id: str, channel_id: str, magic_code: str) -> str | None:
        """The person's token for the connection, claimed with the magic code of their sign-in;
        None when the service has none for them."""
        try:
            result = await self._client.user_token.get_token(
                user_id, self.connection, channel_id=channel_id, code=magic_code
            )
        except HttpOperationError as exc:
            raise _refusal("GetToken", exc) from None
        except ClientRequestError as exc:
            raise TokenServiceError(
                f"no answer from the token service at {self.url}: {exc}"
            ) from None
        token = getattr(result, "token", None)
        return str(token) if token else None

    async def close(self) -> None:
        """Close the HTTP session (msrest async clients close on leaving `async with`)."""
        await self._client.__aexit__(None, None, None)


def _refusal(operation: str, exc: HttpOperationError) -> TokenServiceError:
    """The service's answer in words: msrest keeps the `requests` response it got."""
    response: Any = exc.response
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", "")
    detail = " ".join(str(text).split())[:300] if isinstance(text, str) else ""
    return TokenServiceError(f"{operation} answered HTTP {status}: {detail}".rstrip(": "), status)


class SignInCards:
    """Messages as activities, a sign-in request as an OAuth card whose button the token service
    made for the conversation of `context` (the incoming activity, or one addressed from a stored
    conversation reference)."""

    def __init__(self, settings: SignInCardSettings, service: TokenService | None) -> None:
        self.settings = settings
        self.service = service

    async def activity(self, message: Message, context: Activity) -> Activity:
        if not isinstance(message, SignInRequest) or self.service is None:
            return message_activity(message, self.settings)
        try:
            resource: SignInResource | None = await self.service.sign_in_resource(context)
        except TokenServiceError as exc:
            # The silent exchange still works; only the fallback button is missing. `pimbot
            # doctor` says what is wrong with the connection.
            log.warning(
                "sign-in card without a Sign in button: OAuth connection %r: %s",
                self.settings.connection,
                exc,
            )
            resource = None
        return message_activity(message, self.settings, resource)
