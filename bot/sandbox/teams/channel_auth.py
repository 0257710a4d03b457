"""How the Bot Framework channel proves itself to a bot: OpenID metadata with an endorsed RSA key
(like login.botframework.com) and a signed token on every activity it posts (issuer
https://api.botframework.com, audience the bot's app id, a `serviceurl` claim that must match the
activity's)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bot.sandbox.entra import SigningKey

CHANNEL_ISSUER = "https://api.botframework.com"
OPENID_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"
TOKEN_LIFETIME_SECONDS = 3600


class ChannelAuth:
    """The channel's signing key, its metadata routes and its tokens. Tokens use the wall clock:
    botbuilder checks them against `time.time()`."""

    def __init__(self, *, endorsements: tuple[str, ...] = ("msteams",)) -> None:
        self.key = SigningKey(endorsements=endorsements)

    def routes(self) -> list[web.RouteDef]:
        return [web.get(OPENID_PATH, self._openid), web.get(KEYS_PATH, self._keys)]

    def token(self, *, app_id: str, service_url: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": CHANNEL_ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + TOKEN_LIFETIME_SECONDS,
        }
        return self.key.sign(claims)

    async def _openid(self, request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.json_response(
            {
                "issuer": CHANNEL_ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{base}{KEYS_PATH}",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.jwk()]})
