"""Entra ID twin: the parts of the v2.0 endpoint that pimbot, botbuilder and msal talk to.

Served routes (all on plain http; see "Public URLs" below):

- `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 variant without `/v2.0`)
- `GET /{tenant}/discovery/v2.0/keys`, `GET /{tenant}/discovery/keys` (the same RSA JWKS)
- `GET /common/discovery/instance` (msal's instance discovery for hosts it does not know)
- `POST /{tenant}/oauth2/v2.0/token`: client credentials and on-behalf-of, with Entra's error body;
  the client proves itself with a secret or a client assertion (`client_assertions.py`); and the
  device code grant of a public client (`device_code.py`).
- `POST /{tenant}/oauth2/v2.0/devicecode`, and `POST /devicelogin`: the sandbox's stand-in for the
  page where a person types the device code and signs in (`device_code.py`).
- `GET /msi/token`: the identity endpoint a container gets for its managed identities
  (`identity_endpoint.py`).

Modules: `twin.py` (this: the aiohttp app and user sessions), `metadata.py`, `token_endpoint.py`
(with `client_auth.py`), `tokens.py` (issuing and verifying, with `signing.py`), `oauth_errors.py`
and `tenant_view.py` (what the twin needs of a tenant).

Public URLs. Like Entra, the metadata names the public host in every URL (issuer, endpoints,
`jwks_uri`): `https://login.microsoftonline.com/{tenant}/...` (`public_url`). The twin itself
serves plain http on loopback (`base_url`), so its clients must map the public host onto it, as
pimbot's `LoginHttpClient` does for `PIMBOT_LOGIN_URL`; a client that follows the metadata
verbatim fails here exactly as it would against a stand-in in production.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.sandbox.entra.metadata import instance_discovery, openid_configuration
from bot.sandbox.entra.oauth_errors import OAuthError, error_response, tenant_in_path
from bot.sandbox.entra.tenant_view import (
    AppRegistrationView,
    TenantUserView,
    TenantView,
    find_user,
)
from bot.sandbox.entra.token_endpoint import TokenEndpoint, TokenRequest
from bot.sandbox.entra.tokens import TokenIssuer
from bot.sandbox.identity_endpoint import IdentityEndpointTwin

ENTRA_PUBLIC_URL = "https://login.microsoftonline.com"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Session:
    satisfied_auth_contexts: set[str] = field(default_factory=set)


class EntraTwin:
    """Entra ID v2.0 for one tenant: metadata, keys and the token endpoint, plus helpers that mint
    what the Teams client would obtain silently (SSO tokens) and verify what this twin issued."""

    def __init__(
        self,
        tenant: TenantView,
        *,
        now: Callable[[], datetime] = utc_now,
        base_url: str = "http://127.0.0.1",
        public_url: str = ENTRA_PUBLIC_URL,
    ) -> None:
        self.tenant = tenant
        self.base_url = base_url.rstrip("/")  # where the twin listens
        self.public_url = public_url.rstrip("/")  # what its metadata and tokens name
        self._now = now
        self._tokens = TokenIssuer(tenant.tenant_id, self.public_url, now)
        self._sessions: dict[str, _Session] = {}
        self._token_endpoint = TokenEndpoint(
            tenant, self._tokens, now, self.satisfied_auth_contexts
        )
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/common/discovery/instance", self._instance_discovery),
                web.get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_v2),
                web.get("/{tenant}/.well-known/openid-configuration", self._openid_v1),
                web.get("/{tenant}/discovery/v2.0/keys", self._keys),
                web.get("/{tenant}/discovery/keys", self._keys),
                web.post("/{tenant}/oauth2/v2.0/token", self._token_endpoint.serve),
                web.post("/{tenant}/oauth2/v2.0/devicecode", self._devicecode),
                web.post("/devicelogin", self._token_endpoint.device_codes.serve_devicelogin),
            ]
        )
        self.identity_endpoint = IdentityEndpointTwin(self)
        self.identity_endpoint.install(self.app)

    # -- identities ------------------------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    def now(self) -> datetime:
        return self._now()

    @property
    def issuer_v2(self) -> str:
        return self._tokens.issuer_v2

    @property
    def issuer_v1(self) -> str:
        return self._tokens.issuer_v1

    def jwks(self) -> dict[str, Any]:
        return self._tokens.jwks()

    @property
    def token_requests(self) -> list[TokenRequest]:
        """Every call to the token endpoint so far, oldest first."""
        return self._token_endpoint.requests

    # -- user sessions ---------------------------------------------------------------------

    def satisfy_auth_contexts(self, user_ref: str, *values: str) -> None:
        """Record that the user's session met these authentication contexts (e.g. "c1")."""
        user = self._user(user_ref)
        self._sessions.setdefault(user.id, _Session()).satisfied_auth_contexts.update(values)

    def satisfied_auth_contexts(self, user_ref: str) -> frozenset[str]:
        session = self._sessions.get(self._user(user_ref).id)
        return frozenset(session.satisfied_auth_contexts) if session else frozenset()

    # -- tokens ----------------------------------------------------------------------------

    def mint_sso_token(
        self, user_ref: str, *, audience_app_id: str, mfa: bool, acrs: Sequence[str] = ()
    ) -> str:
        """The v2 access token Teams' client obtains silently for the bot's app (Teams SSO)."""
        return self._tokens.sso_token(
            self._user(user_ref), audience_app_id=audience_app_id, mfa=mfa, acrs=acrs
        )

    def app_token(self, app: AppRegistrationView, resource: str) -> str:
        """The app-only token the client credentials grant would hand `app` for `resource`."""
        return self._tokens.app_token(app, resource)

    def managed_identity_token(self, identity: AppRegistrationView, resource: str) -> str:
        """What the identity endpoint hands a managed identity (see `TokenIssuer`)."""
        return self._tokens.managed_identity_token(identity, resource)

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """Claims of a token this twin issued for `audience`; raises `InvalidToken` otherwise."""
        return self._tokens.verify(token, audience)

    def _user(self, ref: str) -> TenantUserView:
        user = find_user(self.tenant, ref)
        if user is None:
            raise LookupError(f"no user {ref!r} in tenant {self.tenant_id}")
        return user

    async def _devicecode(self, request: web.Request) -> web.Response:
        try:
            tenant_in_path(request, self.tenant_id, allow_common=True)
        except OAuthError as exc:
            return error_response(request, exc, now=self._now(), public_url=self.public_url)
        return await self._token_endpoint.device_codes.serve_devicecode(request)

    # -- HTTP: metadata --------------------------------------------------------------------

    async def _openid_v2(self, request: web.Request) -> web.Response:
        return self._guard(request, lambda: self._openid_document(request, v2=True))

    async def _openid_v1(self, request: web.Request) -> web.Response:
        return self._guard(request, lambda: self._openid_document(request, v2=False))

    def _openid_document(self, request: web.Request, *, v2: bool) -> web.Response:
        tenant = tenant_in_path(request, self.tenant_id, allow_common=True)
        return web.json_response(openid_configuration(self._tokens, tenant, v2=v2))

    async def _keys(self, request: web.Request) -> web.Response:
        def keys() -> web.Response:
            tenant_in_path(request, self.tenant_id, allow_common=True)
            return web.json_response(self.jwks())

        return self._guard(request, keys)

    async def _instance_discovery(self, request: web.Request) -> web.Response:
        return self._guard(request, lambda: web.json_response(instance_discovery(request)))

    def _guard(self, request: web.Request, handler: Callable[[], web.Response]) -> web.Response:
        try:
            return handler()
        except OAuthError as exc:
            return error_response(request, exc, now=self._now(), public_url=self.public_url)
