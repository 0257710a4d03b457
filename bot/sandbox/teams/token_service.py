"""The Bot Framework token service, as an Azure Bot's OAuth connection serves a bot (the routes
botbuilder's `UserTokenClient` calls, base URL `PIMBOT_TOKEN_SERVICE_URL`):

- `GET /api/botsignin/GetSignInResource?state=…`: `state` is the base64 JSON
  `TokenExchangeState` (`connectionName`, `conversation`, `relatesTo`, `msAppId`; botbuilder-dotnet
  writes them capitalized, so names are read without regard to case). The answer is a
  `SignInUrlResponse`: the sign-in link for the connection (the OAuth card's button) and the
  connection's `tokenExchangeResource` (`uri` is its Token Exchange URL). An unknown connection
  name is refused.
- `GET /api/usertoken/GetToken?userId=…&connectionName=…&channelId=…&code=…`: the user's token
  for the connection; `code` is the magic code a completed sign-in hands the client (Teams sends
  it to the bot in a `signin/verifyState` invoke). 404 when there is none.

Both need the bot's Bot Connector token. A sign-in through the link is done by the Teams client
side (`sign_in`): the person signs in to Entra for the connection's scope, with MFA when they
do it, and the token lands in the service under a new magic code.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.sandbox.teams.connector import bf_error

# The Bot Service's service provider id of "Azure Active Directory v2" OAuth connections.
AAD_V2_PROVIDER_ID = "30dd229c-58e3-4a48-bdfd-91ec48eb906c"
TOKEN_LIFETIME = timedelta(hours=1)
SIGN_IN_PATH = "/api/oauth/signin"


@dataclass
class OAuthConnection:
    """One OAuth connection setting of the Azure Bot resource (Microsoft Entra ID v2)."""

    name: str
    token_exchange_url: str  # "Token Exchange URL": must be the manifest's webApplicationInfo


@dataclass
class _PendingSignIn:
    connection: str
    user_id: str  # the Teams user id (29:…) from the state's conversation reference
    app_id: str


@dataclass
class _UserToken:
    connection: str
    user_id: str
    token: str
    expires: datetime


@dataclass
class TokenService:
    """`authorized(header)` checks the bot's Bot Connector token; `mint(user_id, mfa, acrs)` is
    Entra's token for a person who signed in through the connection."""

    authorized: Callable[[str], bool]
    connections: dict[str, OAuthConnection] = field(default_factory=dict)
    base_url: str = ""  # set when the twin is bound (the sign-in link's host)
    _sign_ins: dict[str, _PendingSignIn] = field(default_factory=dict)
    _codes: dict[str, _UserToken] = field(default_factory=dict)  # magic code → token
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/botsignin/GetSignInResource", self._sign_in_resource),
            web.get("/api/usertoken/GetToken", self._get_token),
        ]

    # -- the bot's calls -------------------------------------------------------------------

    async def _sign_in_resource(self, request: web.Request) -> web.Response:
        self.calls.append(("GetSignInResource", dict(request.query)))
        if not self.authorized(request.headers.get("Authorization", "")):
            return web.json_response({"message": "Authorization has been denied."}, status=401)
        state = _decode_state(request.query.get("state", ""))
        if state is None:
            return bf_error(400, "BadArgument", "state is not a token exchange state.")
        name = str(state.get("connectionname") or "")
        connection = self.connections.get(name)
        if connection is None:
            return bf_error(400, "BadArgument", f"The bot has no OAuth connection named {name!r}.")
        conversation = state.get("conversation") or {}
        user = conversation.get("user") or {}
        sign_in_id = secrets.token_urlsafe(24)
        self._sign_ins[sign_in_id] = _PendingSignIn(
            connection=connection.name,
            user_id=str(user.get("id") or ""),
            app_id=str(state.get("msappid") or ""),
        )
        return web.json_response(
            {
                "signInLink": f"{self.base_url.rstrip('/')}{SIGN_IN_PATH}?signin={sign_in_id}",
                "tokenExchangeResource": {
                    "id": str(uuid.uuid4()),
                    "uri": connection.token_exchange_url,
                    "providerId": AAD_V2_PROVIDER_ID,
                },
            }
        )

    async def _get_token(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.calls.append(("GetToken", query))
        if not self.authorized(request.headers.get("Authorization", "")):
            return web.json_response({"message": "Authorization has been denied."}, status=401)
        code = query.get("code", "")
        found = self._codes.get(code) if code else None
        if (
            found is None
            or found.user_id != query.get("userId")
            or found.connection != query.get("connectionName")
            or found.expires <= datetime.now(UTC)
        ):
            return bf_error(404, "NotFound", "No token for this user and connection.")
        del self._codes[code]  # a magic code works once
        return web.json_response(
            {
                "channelId": query.get("channelId", "msteams"),
                "connectionName": found.connection,
                "token": found.token,
                "expiration": found.expires.isoformat().replace("+00:00", "Z"),
            }
        )

    # -- the person at the sign-in page (driven by the Teams client side) -----------------

    def sign_in(self, link: str, user_id: str, token: str) -> str | None:
        """The person opened `link` and signed in: the magic code for the client, or None when
        the link is not a live sign-in of this person."""
        sign_in_id = link.rpartition("signin=")[2]
        pending = self._sign_ins.get(sign_in_id)
        if pending is None or (pending.user_id and pending.user_id != user_id):
            return None
        del self._sign_ins[sign_in_id]
        code = f"{secrets.randbelow(10**6):06d}"
        self._codes[code] = _UserToken(
            connection=pending.connection,
            user_id=user_id,
            token=token,
            expires=datetime.now(UTC) + TOKEN_LIFETIME,
        )
        return code


def _decode_state(state: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(base64.b64decode(state, validate=True))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(decoded, dict):
        return None
    return {str(key).lower(): value for key, value in decoded.items()}
