"""Validation of Teams SSO tokens: how pimbot knows who signed in, and whether with MFA.

Teams hands the bot the user's Entra token in a `signin/tokenExchange` invoke. botbuilder does not
validate it, so we do: signature against the tenant's JWKS (from its OpenID metadata under
`PIMBOT_LOGIN_URL`), issuer, audience (the bot's app id or `api://botid-<app id>`), expiry and
tenant. Metadata and keys come through the process's one `LoginHttpClient`: Entra's metadata names
`https://login.microsoftonline.com/...` for `jwks_uri`, and the client maps that onto the login URL
exactly as it does for msal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import jwt
import requests
from jwt import PyJWK

from bot.domain import Frozen
from bot.msal_http import LoginHttpClient, authority_for

log = logging.getLogger(__name__)

KEYS_MAX_AGE = 3600.0
UNKNOWN_KID_REFRESH_INTERVAL = 300.0
LEEWAY_SECONDS = 60


class InvalidSsoToken(Exception):
    """The token is not one pimbot can trust; the message says why (without the token)."""


class SsoClaims(Frozen):
    object_id: str
    tenant_id: str
    upn: str = ""
    name: str = ""
    amr: tuple[str, ...] = ()
    acrs: tuple[str, ...] = ()

    @property
    def has_mfa(self) -> bool:
        return "mfa" in self.amr


class SsoVerifier(Protocol):
    async def validate(self, token: str) -> SsoClaims: ...

    async def close(self) -> None: ...


class SsoValidator:
    def __init__(
        self,
        *,
        login_url: str,
        tenant_id: str,
        app_id: str,
        login: LoginHttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`login` is the process's shared login client (one is made, and closed, if not)."""
        self._metadata_url = (
            f"{authority_for(login_url, tenant_id)}/v2.0/.well-known/openid-configuration"
        )
        self._tenant_id = tenant_id
        # No app id (anonymous mode): no audience to accept, so no token is ever accepted.
        self._audiences = [app_id, f"api://botid-{app_id}"] if app_id else []
        self._owns_login = login is None
        self._login = login if login is not None else LoginHttpClient(login_url)
        self._clock = clock
        self._issuer = ""
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def validate(self, token: str) -> SsoClaims:
        if not self._audiences:
            raise InvalidSsoToken("no app registration: nobody can sign in to this bot")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidSsoToken("not a JWT") from exc
        kid = str(header.get("kid", ""))
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self._audiences,
                issuer=self._accepted_issuers(),
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidSsoToken(f"token rejected: {type(exc).__name__}") from exc
        if claims.get("tid") != self._tenant_id:
            raise InvalidSsoToken("token is from another tenant")
        if not claims.get("oid"):
            raise InvalidSsoToken("token names no user")
        return SsoClaims(
            object_id=str(claims["oid"]),
            tenant_id=str(claims["tid"]),
            upn=str(claims.get("upn") or claims.get("preferred_username") or ""),
            name=str(claims.get("name") or ""),
            amr=tuple(str(v) for v in claims.get("amr") or ()),
            acrs=tuple(str(v) for v in claims.get("acrs") or ()),
        )

    def _accepted_issuers(self) -> list[str]:
        return [self._issuer, f"https://sts.windows.net/{self._tenant_id}/"]

    async def _key(self, kid: str) -> PyJWK:
        now = self._clock()
        stale = now - self._fetched_at > KEYS_MAX_AGE
        unknown = kid not in self._keys and now - self._fetched_at > UNKNOWN_KID_REFRESH_INTERVAL
        if stale or unknown:
            async with self._lock:
                if self._clock() - self._fetched_at > min(
                    KEYS_MAX_AGE, UNKNOWN_KID_REFRESH_INTERVAL
                ):
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidSsoToken("token signed with an unknown key")
        return key

    async def _refresh(self) -> None:
        try:
            metadata = await self._login.get_json(self._metadata_url)
            jwks = await self._login.get_json(str(metadata["jwks_uri"]))
        except (requests.RequestException, KeyError, TypeError, ValueError) as exc:
            log.warning("could not fetch Entra signing keys: %s", exc)
            raise InvalidSsoToken("signing keys unavailable; try again shortly") from exc
        keys: dict[str, PyJWK] = {}
        for jwk in jwks.get("keys", []):
            try:
                keys[str(jwk.get("kid", ""))] = PyJWK(jwk)
            except jwt.PyJWTError:
                continue
        self._issuer = str(metadata.get("issuer", ""))
        self._keys = keys
        self._fetched_at = self._clock()

    async def close(self) -> None:
        if self._owns_login:
            self._login.close()
