"""Keep botbuilder's OpenID metadata / signing-key fetches off the event loop.

botframework-connector 4.17.1 validates inbound tokens with `JwtTokenExtractor`, which looks up
the signing keys of a metadata URL in the class-level dict `JwtTokenExtractor.metadataCache`
(URL → `_OpenIdMetadata`). `_OpenIdMetadata.get()` calls `await self._refresh()` when its keys are
older than a day (or a `kid` is unknown and they are older than an hour), and `_refresh()` does a
**blocking `requests.get()` without timeout** on the event loop thread.

We put our own `_OpenIdMetadata` subclass into that cache for every URL the public-cloud path
reads, whose `_refresh()` runs the fetch in a worker thread, warm it at startup and refresh it
periodically, so requests never wait on a fetch and the loop never blocks on one.

botbuilder's `_find(key_id)` also turned the JWK into an RSA public key (`RSAAlgorithm.from_jwk`)
on every request; ours parses each key set once, when it changes, and hands out the parsed keys.
Every token's signature, issuer, expiry and endorsements are still checked on every request.

Private bits relied upon (pinned by tests/channel/test_openid_metadata.py, botframework-connector
4.17.1): `JwtTokenExtractor.metadataCache`, `_OpenIdMetadata(url)` with the attributes `url`,
`keys`, `last_updated`, the coroutine methods `get(key_id)` / `_refresh()`, `_find(key_id)`
called by `get`, and `_OpenIdConfig(public_key, endorsements)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from datetime import datetime
from typing import Any

import requests
from botframework.connector.auth import (
    AuthenticationConstants,
    ChannelValidation,
    JwtTokenExtractor,
)
from botframework.connector.auth.jwt_token_extractor import _OpenIdConfig, _OpenIdMetadata
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 10.0
REFRESH_INTERVAL_SECONDS = 6 * 3600.0  # botbuilder itself only refreshes after a day
RETRY_INTERVAL_SECONDS = 60.0


class OffLoopOpenIdMetadata(_OpenIdMetadata):  # type: ignore[misc]
    """The signing keys of one OpenID metadata URL, fetched in a worker thread."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._fetch_lock = threading.Lock()
        self._parsed_from: object = None  # the `keys` list `_parsed` was made from
        self._parsed: dict[str, _OpenIdConfig] = {}

    def _find(self, key_id: str) -> _OpenIdConfig | None:
        """The parsed signing key `key_id` of the current key set (None when the set has no such
        key: botbuilder's `get` then fetches the set again, at most once an hour, and the token
        is refused if the key is still unknown)."""
        keys = self.keys
        if self._parsed_from is not keys:
            self._parsed = _parse_keys(keys, self.url)
            self._parsed_from = keys
        return self._parsed.get(key_id)

    async def _refresh(self) -> None:
        # Called by `_OpenIdMetadata.get()` on the loop when the keys are stale.
        await asyncio.to_thread(self.refresh_blocking)

    def refresh_blocking(self) -> None:
        """Fetch metadata and keys now. Blocking: call it from a worker thread."""
        with self._fetch_lock:
            metadata = _get_json(self.url)
            keys = _get_json(str(metadata["jwks_uri"]))["keys"]
            if not isinstance(keys, list):
                raise ValueError(f"JWKS of {self.url} has no key list")
            self.keys = keys  # set keys before the timestamp: readers never see new-but-empty
            self.last_updated = datetime.now()
        logger.info("OpenID signing keys loaded from %s (%d keys)", self.url, len(keys))


def _parse_keys(keys: list[dict[str, Any]], url: str) -> dict[str, _OpenIdConfig]:
    """Each RSA key of a JWKS by its `kid`, as botbuilder's `_find` builds it for one."""
    parsed: dict[str, _OpenIdConfig] = {}
    for key in keys:
        key_id = key.get("kid")
        try:
            public_key = RSAAlgorithm.from_jwk(json.dumps(key))
        except (InvalidKeyError, ValueError, TypeError, KeyError) as error:
            logger.warning("skipping signing key %r of %s: %s", key_id, url, error)
            continue
        if isinstance(key_id, str):
            parsed[key_id] = _OpenIdConfig(public_key, key.get("endorsements", []))
    return parsed


def _get_json(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=FETCH_TIMEOUT_SECONDS)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"{url} did not answer with a JSON object")
    return body


def install_off_loop_metadata(url: str) -> OffLoopOpenIdMetadata:
    """Make botbuilder use an `OffLoopOpenIdMetadata` for `url` (replacing any cached entry)."""
    cache: dict[str, Any] = JwtTokenExtractor.metadataCache
    current = cache.get(url)
    if isinstance(current, OffLoopOpenIdMetadata):
        return current
    metadata = OffLoopOpenIdMetadata(url)
    cache[url] = metadata
    return metadata


class SigningKeyRefresher:
    """Points channel-token validation at the configured metadata URL, warms its keys at
    startup and refreshes them periodically, all in worker threads."""

    def __init__(self, channel_metadata_url: str, *, warm: bool = True) -> None:
        self._warm = warm
        # Global in botbuilder: the built-in public-cloud path reads it for every request.
        ChannelValidation.open_id_metadata_endpoint = channel_metadata_url
        self.channel = install_off_loop_metadata(channel_metadata_url)
        # Emulator and skill tokens are validated against this one; never warmed (it is
        # login.microsoftonline.com), but its fetches stay off the loop too.
        install_off_loop_metadata(AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._warm:
            return
        delay = await self._refresh_once()
        self._task = asyncio.create_task(self._keep_fresh(delay), name="openid-key-refresher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep_fresh(self, delay: float) -> None:
        while True:
            await asyncio.sleep(delay)
            delay = await self._refresh_once()

    async def _refresh_once(self) -> float:
        try:
            await asyncio.to_thread(self.channel.refresh_blocking)
        except Exception as error:  # network, HTTP status, malformed JSON alike
            logger.warning(
                "Could not load OpenID signing keys from %s (%s: %s); retrying in %.0f s",
                self.channel.url,
                type(error).__name__,
                error,
                RETRY_INTERVAL_SECONDS,
            )
            return RETRY_INTERVAL_SECONDS
        return REFRESH_INTERVAL_SECONDS
