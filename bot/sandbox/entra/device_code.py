"""The device authorization grant, as Entra's v2.0 endpoint serves it to command-line tools
(https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code), e.g. what
`az login --use-device-code` does before `az account get-access-token`:

- `POST /{tenant}/oauth2/v2.0/devicecode` (`client_id`, `scope`) answers `device_code`,
  `user_code`, `verification_uri`, `expires_in` (900 s), `interval` (5 s) and `message`;
- the person opens the verification page, types the code and signs in;
- the tool polls `POST /{tenant}/oauth2/v2.0/token` with
  `grant_type=urn:ietf:params:oauth:grant-type:device_code`: `authorization_pending` until then,
  `expired_token` after 15 minutes, then the person's access token for the requested scopes.

Only a registered app that allows public client flows may use it (Entra's
`allowPublicClient`); it needs no secret. The sandbox has no passwords: its stand-in for the
verification page is `POST /devicelogin` with `user_code` and the `user` who signs in (a handle,
UPN or object id), which `pimbot policy ... --sandbox-as` uses.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.sandbox.entra.oauth_errors import OAuthError, error_response, missing_parameter
from bot.sandbox.entra.tenant_view import AppRegistrationView, TenantView, find_user
from bot.sandbox.entra.tokens import GRAPH_RESOURCE, TOKEN_LIFETIME, TokenIssuer

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
VERIFICATION_URI = "https://microsoft.com/devicelogin"
EXPIRES_IN = timedelta(minutes=15)
INTERVAL_SECONDS = 5
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"


@dataclass
class _Pending:
    app: AppRegistrationView
    scopes: list[str]
    user_code: str
    expires: datetime
    user_id: str | None = None  # set once the person signed in


class DeviceCodes:
    def __init__(
        self, tenant: TenantView, issuer: TokenIssuer, now: Callable[[], datetime]
    ) -> None:
        self.tenant = tenant
        self.issuer = issuer
        self._now = now
        self._pending: dict[str, _Pending] = {}  # by device code

    def start(self, form: Mapping[str, str]) -> dict[str, Any]:
        app = self._public_client(form.get("client_id", ""))
        scopes = form.get("scope", "").split()
        if not scopes:
            raise missing_parameter("scope")
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        self._pending[device_code] = _Pending(app, scopes, user_code, self._now() + EXPIRES_IN)
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": VERIFICATION_URI,
            "expires_in": int(EXPIRES_IN.total_seconds()),
            "interval": INTERVAL_SECONDS,
            "message": (
                f"To sign in, use a web browser to open the page {VERIFICATION_URI} and enter "
                f"the code {user_code} to authenticate."
            ),
        }

    def sign_in(self, user_code: str, user_ref: str) -> None:
        """The person typed the code on the verification page and signed in."""
        pending = next((p for p in self._pending.values() if p.user_code == user_code), None)
        if pending is None or pending.expires <= self._now():
            raise OAuthError(400, "invalid_grant", 70000, "The code has expired or is not known.")
        user = find_user(self.tenant, user_ref)
        if user is None:
            raise OAuthError(
                400, "invalid_grant", 50034, "The user account does not exist in the directory."
            )
        pending.user_id = user.id

    def redeem(
        self, form: Mapping[str, str], delegated: Callable[..., list[str]]
    ) -> dict[str, Any]:
        """The token request of the tool polling; `delegated(app, scopes)`: the scopes granted."""
        device_code = form.get("device_code", "")
        if not device_code:
            raise missing_parameter("device_code")
        pending = self._pending.get(device_code)
        if pending is None or pending.app.client_id != form.get("client_id", ""):
            raise OAuthError(400, "invalid_grant", 70000, "The provided device code is invalid.")
        if pending.expires <= self._now():
            del self._pending[device_code]
            raise OAuthError(400, "expired_token", 70019, "Verification code expired.")
        if pending.user_id is None:
            raise OAuthError(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        del self._pending[device_code]  # a device code is redeemed once
        user = find_user(self.tenant, pending.user_id)
        assert user is not None
        scp = delegated(pending.app, pending.scopes)
        claims = self.issuer.user_claims(user) | {
            "aud": GRAPH_RESOURCE,
            "iss": self.issuer.issuer_v1,
            "idp": self.issuer.issuer_v1,
            "appid": pending.app.client_id,
            "app_displayname": pending.app.display_name,
            "appidacr": "0",  # a public client: no secret
            "idtyp": "user",
            "scp": " ".join(scp),
            "amr": ["pwd", "mfa"],
            "unique_name": user.upn,
            "ver": "1.0",
        }
        return {
            "token_type": "Bearer",
            "scope": " ".join(f"{GRAPH_RESOURCE}/{s}" for s in scp),
            "expires_in": int(TOKEN_LIFETIME.total_seconds()) - 1,
            "ext_expires_in": int(TOKEN_LIFETIME.total_seconds()) - 1,
            "access_token": self.issuer.sign(claims),
        }

    def _public_client(self, client_id: str) -> AppRegistrationView:
        if not client_id:
            raise missing_parameter("client_id")
        registered: list[AppRegistrationView] = list(
            getattr(self.tenant, "apps", None) or [self.tenant.pimbot_app]
        )
        app = next((a for a in registered if a.client_id == client_id), None)
        if app is None:
            raise OAuthError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant.tenant_id}'.",
            )
        if not getattr(app, "public_client", False):
            raise OAuthError(
                400,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        return app

    # --- HTTP ----------------------------------------------------------------------------------

    async def serve_devicecode(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            return web.json_response(self.start(form))
        except OAuthError as exc:
            return self._refuse(request, exc)

    async def serve_devicelogin(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            self.sign_in(form.get("user_code", ""), form.get("user", ""))
        except OAuthError as exc:
            return self._refuse(request, exc)
        return web.json_response({"signed_in": True})

    def _refuse(self, request: web.Request, exc: OAuthError) -> web.Response:
        return error_response(request, exc, now=self._now(), public_url=self.issuer.public_url)
