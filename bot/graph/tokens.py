"""Access tokens for Graph.

`AppTokenProvider` gets app-only tokens with msal's client-credentials flow, proving the app
registration with a secret, a certificate or a managed identity's federated token
(`bot.client_credentials`). msal is synchronous and does network I/O (authority discovery, token
endpoint), so every msal call runs in a worker thread; an asyncio.Lock keeps one refresh in flight
while other callers wait for its result. `ManagedIdentityTokenProvider` gets Graph tokens for the
managed identity itself, from the container's identity endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import msal
from pydantic import SecretStr

from bot.client_credentials import (
    ClientCredential,
    ManagedIdentity,
    ManagedIdentityUnavailable,
    MsalCredential,
)
from bot.graph.errors import AuthenticationFailed
from bot.msal_http import LoginHttpClient, authority_for, instance_discovery_for

logger = logging.getLogger(__name__)

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_DEFAULT_SCOPE = f"{GRAPH_RESOURCE}/.default"
REFRESH_MARGIN_SECONDS = 5 * 60


class TokenProvider(Protocol):
    """Anything that hands out bearer tokens for Graph: app-only now, on-behalf-of later."""

    async def token(self) -> str: ...

    def invalidate(self) -> None:
        """Forget the cached token, so that the next `token()` fetches a new one (after a 401)."""
        ...


@dataclass(frozen=True)
class _CachedToken:
    value: str
    refresh_at: float  # on the provider's clock


class AppTokenProvider:
    """App-only (client credentials) tokens, cached until 5 minutes before they expire."""

    def __init__(
        self,
        client_id: str,
        credential: ClientCredential | str | SecretStr,
        tenant_id: str,
        login_url: str,
        scope: str = GRAPH_DEFAULT_SCOPE,
        *,
        http_client: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`http_client` is what msal uses for HTTP (a `LoginHttpClient` for `login_url` when
        None); tests pass a fake."""
        self._client_id = client_id
        self._credential = MsalCredential(credential)
        self._authority = authority_for(login_url, tenant_id)
        self._instance_discovery = instance_discovery_for(login_url)
        self._http_client = http_client if http_client is not None else LoginHttpClient(login_url)
        self._scope = scope
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: _CachedToken | None = None
        self._app: Any = None  # msal.ConfidentialClientApplication, built on first use

    def __repr__(self) -> str:  # never show the secret
        return f"AppTokenProvider(client_id={self._client_id!r}, authority={self._authority!r})"

    async def token(self) -> str:
        cached = self._cached
        if cached and self._clock() < cached.refresh_at:
            return cached.value
        async with self._lock:
            cached = self._cached
            if cached and self._clock() < cached.refresh_at:
                return cached.value  # another caller refreshed while we waited
            started = self._clock()
            await self._prepare_credential()
            result = await asyncio.to_thread(self._acquire)
            self._cached = self._from_result(result, started)
            return self._cached.value

    def invalidate(self) -> None:
        self._cached = None

    @property
    def credential_kind(self) -> str:
        return self._credential.kind

    async def _prepare_credential(self) -> None:
        try:
            await self._credential.prepare()
        except ManagedIdentityUnavailable as exc:
            raise AuthenticationFailed(503, "managed_identity_unavailable", str(exc)) from None

    # --- in the worker thread ------------------------------------------------------------------

    def _acquire(self) -> dict[str, Any]:
        try:
            if self._app is None:
                # Building the app does authority discovery over the network.
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._credential.for_msal(),
                    authority=self._authority,
                    http_client=self._http_client,
                    instance_discovery=self._instance_discovery,
                )
            # Our own cache decides when to refresh; drop msal's copy so that it asks Entra.
            cache = self._app.token_cache
            for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(entry)
            result = self._app.acquire_token_for_client(scopes=[self._scope])
        except Exception as exc:  # msal raises ValueError, requests raises its own errors
            raise AuthenticationFailed(
                503,
                "authority_unavailable",
                self._redact(f"cannot reach the login authority {self._authority}: {exc}"),
            ) from None
        return dict(result or {})

    # --- back on the loop ----------------------------------------------------------------------

    def _from_result(self, result: dict[str, Any], started: float) -> _CachedToken:
        if "access_token" not in result:
            code = str(result.get("error") or "no_token")
            description = str(result.get("error_description") or "no access token in response")
            logger.warning("token request for %s failed: %s", self._authority, code)
            raise AuthenticationFailed(401, code, self._redact(description))
        expires_in = float(result.get("expires_in") or 0)
        refresh_at = started + max(0.0, expires_in - REFRESH_MARGIN_SECONDS)
        logger.info("got an app-only token for %s (expires in %.0f s)", self._scope, expires_in)
        return _CachedToken(str(result["access_token"]), refresh_at)

    def _redact(self, text: str) -> str:
        return self._credential.redact(text)


class ManagedIdentityTokenProvider:
    """Graph tokens for the managed identity itself (it holds the application permissions)."""

    def __init__(self, identity: ManagedIdentity, resource: str = GRAPH_RESOURCE) -> None:
        self._identity = identity
        self._resource = resource
        self._fresh = False

    def __repr__(self) -> str:
        return f"ManagedIdentityTokenProvider({self._identity!r})"

    async def token(self) -> str:
        fresh, self._fresh = self._fresh, False
        try:
            issued = await self._identity.token(self._resource, fresh=fresh)
        except ManagedIdentityUnavailable as exc:
            raise AuthenticationFailed(503, "managed_identity_unavailable", str(exc)) from None
        return issued.value

    def invalidate(self) -> None:
        self._fresh = True
