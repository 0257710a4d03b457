"""The tokens the Entra twin issues (v1 app-only and on-behalf-of, v2 SSO, ID tokens, managed
identity assertions) and their verification: one signing key, one tenant, one clock."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import jwt

from bot.sandbox.entra.signing import SigningKey
from bot.sandbox.entra.tenant_view import (
    AppRegistrationView,
    TenantUserView,
    service_principal_id,
    subject_of,
)

GRAPH_RESOURCE = "https://graph.microsoft.com"
BOTFRAMEWORK_RESOURCE = "https://api.botframework.com"
TEAMS_CLIENT_APP_ID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"  # Teams desktop/mobile client
FEDERATED_TOKEN_AUDIENCE = "api://AzureADTokenExchange"
TOKEN_LIFETIME = timedelta(hours=1)


class InvalidToken(Exception):
    """A token this twin would not accept; the message says why (never the token)."""


class TokenIssuer:
    """Signs and verifies the tenant's tokens; `public_url` is the authority they name."""

    def __init__(self, tenant_id: str, public_url: str, now: Callable[[], datetime]) -> None:
        self.tenant_id = tenant_id
        self.public_url = public_url
        self._now = now
        self._key = SigningKey()

    @property
    def issuer_v2(self) -> str:
        return f"{self.public_url}/{self.tenant_id}/v2.0"

    @property
    def issuer_v1(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.jwk()]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        return self._key.sign(claims)

    # -- claims ----------------------------------------------------------------------------

    def _times(self) -> dict[str, int]:
        issued = int(self._now().timestamp())
        return {
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(TOKEN_LIFETIME.total_seconds()),
        }

    def common_claims(self) -> dict[str, Any]:
        """What every token carries: tenant, unique ids and its times."""
        return {
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "rh": "0.sandbox",
            "aio": secrets.token_urlsafe(24),
        } | self._times()

    def user_claims(self, user: TenantUserView) -> dict[str, Any]:
        return self.common_claims() | {
            "oid": user.id,
            "sub": subject_of(user.id),
            "upn": user.upn,
            "name": user.display_name,
        }

    # -- tokens ----------------------------------------------------------------------------

    def app_token(self, app: AppRegistrationView, resource: str, *, principal_id: str = "") -> str:
        """A v1 app-only access token for `resource` (with the app's Graph roles for Graph)."""
        sp_id = principal_id or service_principal_id(app.client_id)
        claims = self.common_claims() | {
            "aud": resource,
            "iss": self.issuer_v1,
            "idp": self.issuer_v1,
            "appid": app.client_id,
            "azp": app.client_id,
            "appidacr": "1",
            "app_displayname": app.display_name,
            "idtyp": "app",
            "oid": sp_id,
            "sub": sp_id,
            "ver": "1.0",
        }
        if resource == GRAPH_RESOURCE:
            claims["roles"] = sorted(app.application_permissions)
        return self._key.sign(claims)

    def sso_token(
        self, user: TenantUserView, *, audience_app_id: str, mfa: bool, acrs: Sequence[str] = ()
    ) -> str:
        """The v2 access token Teams' client obtains silently for the bot's app (Teams SSO)."""
        claims = self.user_claims(user) | {
            "aud": audience_app_id,
            "iss": self.issuer_v2,
            "azp": TEAMS_CLIENT_APP_ID,
            "azpacr": "0",
            "scp": "access_as_user",
            "ver": "2.0",
            "preferred_username": user.upn,
            "amr": ["pwd", "mfa"] if mfa else ["pwd"],
        }
        if acrs:
            claims["acrs"] = list(acrs)
        return self._key.sign(claims)

    def id_token(self, user: TenantUserView, client_id: str) -> str:
        return self._key.sign(
            self.user_claims(user)
            | {
                "aud": client_id,
                "iss": self.issuer_v2,
                "preferred_username": user.upn,
                "ver": "2.0",
            }
        )

    def managed_identity_token(self, identity: AppRegistrationView, resource: str) -> str:
        """What the identity endpoint hands a managed identity: for the token exchange audience
        (`api://AzureADTokenExchange`), a v2 token about the identity to use as a federated
        client assertion; for a resource, an app-only token like any app's."""
        principal_id = str(getattr(identity, "principal_id", ""))
        if resource != FEDERATED_TOKEN_AUDIENCE:
            return self.app_token(identity, resource, principal_id=principal_id)
        return self._key.sign(
            self.common_claims()
            | {
                "aud": resource,
                "iss": self.issuer_v2,
                "azp": identity.client_id,
                "azpacr": "2",
                "oid": principal_id,
                "sub": principal_id,
                "idtyp": "app",
                "ver": "2.0",
            }
        )

    # -- verification ----------------------------------------------------------------------

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """Claims of a token this twin issued for `audience`; raises `InvalidToken` otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("not a JWT") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken("unexpected signing algorithm")
        if header.get("kid") != self._key.kid:
            raise InvalidToken("signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                options={
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"signature rejected: {type(exc).__name__}") from exc
        if claims.get("iss") not in (self.issuer_v1, self.issuer_v2):
            raise InvalidToken("issued by someone else")
        if claims.get("aud") != audience:
            raise InvalidToken(f"audience is not {audience}")
        now = self._now().timestamp()
        if not isinstance(claims.get("exp"), int | float) or now >= claims["exp"]:
            raise InvalidToken("expired")
        if isinstance(claims.get("nbf"), int | float) and now < claims["nbf"]:
            raise InvalidToken("not valid yet")
        return claims

    def verify_any_audience(self, token: str) -> dict[str, Any]:
        """Claims of a token this twin issued, whoever it was issued for."""
        try:
            audience = str(jwt.decode(token, options={"verify_signature": False}).get("aud", ""))
        except jwt.PyJWTError as exc:
            raise InvalidToken("not a JWT") from exc
        return self.verify(token, audience)
