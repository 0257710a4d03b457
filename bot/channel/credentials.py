"""Outbound credentials: the bearer token pimbot presents to the Bot Connector.

botbuilder's own `MicrosoftAppCredentials` asks msal for a token inside `get_access_token()`,
which msrest calls synchronously on the event loop, and it always talks to
login.microsoftonline.com. Here a `BotConnectorTokenSource` fetches the token ahead of time and
renews it before it expires; the credentials handed to botbuilder only read that cached token.
The token comes from `PIMBOT_LOGIN_URL` through msal in a worker thread (the app registration's
secret or certificate), or, for `MicrosoftAppType=UserAssignedMSI`, from the container's managed
identity endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import msal
from botframework.connector.auth import (
    AppCredentials,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)

from bot.client_credentials import (
    ClientCredential,
    ManagedIdentity,
    MsalCredential,
    bot_connector_credential_from,
)
from bot.msal_http import LoginHttpClient, authority_for, instance_discovery_for
from bot.settings import AppType, Settings

logger = logging.getLogger(__name__)

BOT_CONNECTOR_RESOURCE = "https://api.botframework.com"
BOT_CONNECTOR_SCOPE = f"{BOT_CONNECTOR_RESOURCE}/.default"
MULTI_TENANT_AUTHORITY_TENANT = "botframework.com"


class OutboundTokenUnavailable(PermissionError):
    """No valid Bot Connector token is cached (yet). Raised instead of fetching one on the loop."""


@dataclass(frozen=True)
class CachedToken:
    value: str
    expires_at: float  # time.monotonic() seconds

    def is_valid(self, now: float) -> bool:
        return now < self.expires_at


def refresh_delay(expires_in: float, margin: float) -> float:
    """Seconds to wait before renewing a token valid for `expires_in` seconds: `margin` seconds
    ahead of expiry, or half-way through a lifetime too short for that margin."""
    return max(expires_in - margin, expires_in / 2, 0.0)


def authority_tenant(settings: Settings) -> str:
    """SingleTenant and UserAssignedMSI bots belong to their own tenant, MultiTenant ones get
    tokens from botframework.com (as botbuilder's `ConfigurationServiceClientCredentialFactory`
    does)."""
    if settings.app_type in (AppType.SINGLE_TENANT, AppType.USER_ASSIGNED_MSI):
        if not settings.app_tenant_id:
            raise ValueError(f"MicrosoftAppType={settings.app_type} needs MicrosoftAppTenantId")
        return settings.app_tenant_id
    return MULTI_TENANT_AUTHORITY_TENANT


class BotConnectorTokenSource:
    """Client-credentials token for the Bot Connector: msal always in a worker thread, or the
    managed identity endpoint (asynchronous HTTP)."""

    def __init__(
        self,
        app_id: str,
        credential: ClientCredential | ManagedIdentity | str,
        login_url: str,
        tenant: str,
        *,
        renew_margin: float = 600.0,
        retry_delays: tuple[float, ...] = (1.0, 5.0, 15.0, 60.0),
        http_client: LoginHttpClient | None = None,
    ) -> None:
        """`http_client`: the process's shared login client (see `bot.msal_http`)."""
        self._app_id = app_id
        self._identity = credential if isinstance(credential, ManagedIdentity) else None
        self._credential = None if self._identity else MsalCredential(credential)  # type: ignore[arg-type]
        # Both validate the login URL now, so that a misconfiguration stops the start-up.
        self._authority = authority_for(login_url, tenant)
        self._http_client = http_client if http_client is not None else LoginHttpClient(login_url)
        self._instance_discovery = instance_discovery_for(login_url)
        self._renew_margin = renew_margin
        self._retry_delays = retry_delays
        self._msal_app: msal.ConfidentialClientApplication | None = None
        self._acquire_lock = threading.Lock()  # one acquisition at a time, across threads
        self._token: CachedToken | None = None
        self._renewer: asyncio.Task[None] | None = None

    def current_token(self) -> str:
        """The cached token; never touches the network (msrest calls this on the loop)."""
        token = self._token
        if token is None or not token.is_valid(time.monotonic()):
            raise OutboundTokenUnavailable("no valid Bot Connector token is available yet")
        return token.value

    async def refresh(self) -> None:
        """Acquire a fresh token now (msal in a worker thread)."""
        if self._identity is not None:
            issued = await self._identity.token(BOT_CONNECTOR_RESOURCE, fresh=True)
            value, expires_in = issued.value, issued.expires_in()
        else:
            assert self._credential is not None
            await self._credential.prepare()
            value, expires_in = await asyncio.to_thread(self._acquire_blocking)
        self._token = CachedToken(value, time.monotonic() + expires_in)
        logger.info("Bot Connector token renewed, valid for %d s", int(expires_in))

    async def start(self) -> None:
        """First token (a failure is logged, not raised: the renewer keeps trying), then renewal
        in the background."""
        delay, failures = await self._renew_once(failures=0)
        self._renewer = asyncio.create_task(
            self._keep_fresh(delay, failures), name="bot-connector-token-renewer"
        )

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        self._http_client.close()

    async def _keep_fresh(self, delay: float, failures: int) -> None:
        while True:
            await asyncio.sleep(delay)
            delay, failures = await self._renew_once(failures)

    async def _renew_once(self, failures: int) -> tuple[float, int]:
        """Renew; return how long to wait before the next attempt, and the failure count."""
        try:
            await self.refresh()
        except Exception as error:  # msal, network and HTTP errors alike
            retry = self._retry_delays[min(failures, len(self._retry_delays) - 1)]
            logger.warning(
                "Bot Connector token renewal failed (%s: %s); retrying in %.0f s",
                type(error).__name__,
                error,
                retry,
            )
            return retry, failures + 1
        token = self._token
        assert token is not None
        return refresh_delay(token.expires_at - time.monotonic(), self._renew_margin), 0

    def _acquire_blocking(self) -> tuple[str, float]:
        with self._acquire_lock:
            return self._acquire_locked()

    def _acquire_locked(self) -> tuple[str, float]:
        app = self._msal_app
        if app is None:
            # Building the app runs authority discovery over HTTP: also off the loop.
            assert self._credential is not None
            app = msal.ConfidentialClientApplication(
                client_id=self._app_id,
                client_credential=self._credential.for_msal(),
                authority=self._authority,
                http_client=self._http_client,
                instance_discovery=self._instance_discovery,
                token_cache=msal.TokenCache(),
            )
            self._msal_app = app
        _forget_cached_access_tokens(app)
        result: dict[str, Any] = app.acquire_token_for_client(scopes=[BOT_CONNECTOR_SCOPE])
        if "access_token" not in result:
            # error and error_description are safe to log; the request carried the secret, the
            # answer does not.
            raise PermissionError(
                f"token request failed: {result.get('error')}: {result.get('error_description')}"
            )
        return str(result["access_token"]), float(result.get("expires_in", 3600))


def _forget_cached_access_tokens(app: msal.ConfidentialClientApplication) -> None:
    """msal serves a cached token until 5 minutes before expiry; renewal ahead of time needs a
    real round trip, so drop its cached access tokens first."""
    cache = app.token_cache
    for entry in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
        cache.remove_at(entry)


class PrefetchedTokenCredentials(AppCredentials):  # type: ignore[misc]
    """botbuilder credentials that hand out the token source's cached token."""

    def __init__(self, app_id: str, source: BotConnectorTokenSource) -> None:
        super().__init__(app_id=app_id, oauth_scope=BOT_CONNECTOR_RESOURCE)
        self._source = source

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self._source.current_token()


class PimbotCredentialsFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """botbuilder's credentials factory: validates our app id for inbound tokens and hands out
    prefetched credentials for outbound calls. With no app id, authentication is off (the
    Emulator / Agents Playground mode) and outbound calls carry no Authorization header."""

    def __init__(self, app_id: str, token_source: BotConnectorTokenSource | None) -> None:
        self._app_id = app_id
        self._token_source = token_source

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(self._app_id) and app_id == self._app_id

    async def is_authentication_disabled(self) -> bool:
        return not self._app_id

    async def create_credentials(
        self,
        app_id: str,
        oauth_scope: str,
        login_endpoint: str,
        validate_authority: bool,
    ) -> AppCredentials:
        if await self.is_authentication_disabled():
            return MicrosoftAppCredentials.empty()
        if not await self.is_valid_app_id(app_id):
            raise PermissionError("Invalid app_id")
        if _resource_of(oauth_scope) != BOT_CONNECTOR_RESOURCE:
            # Skills or other audiences: pimbot only ever talks to the Bot Connector.
            raise PermissionError(f"no credentials for audience {oauth_scope!r}")
        if self._token_source is None:
            raise PermissionError("no Bot Connector token source configured")
        return PrefetchedTokenCredentials(app_id, self._token_source)


def _resource_of(scope: str | None) -> str:
    scope = (scope or BOT_CONNECTOR_RESOURCE).rstrip("/")
    return scope.removesuffix("/.default").rstrip("/")


def build_token_source(
    settings: Settings, login: LoginHttpClient | None = None
) -> BotConnectorTokenSource | None:
    """The token source for this deployment, or None when the bot runs anonymously."""
    if settings.anonymous:
        return None
    return BotConnectorTokenSource(
        settings.app_id,
        bot_connector_credential_from(settings),
        settings.login_url,
        authority_tenant(settings),
        http_client=login,
    )
