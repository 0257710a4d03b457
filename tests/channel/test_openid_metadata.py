"""Channel signing keys: loaded at startup and refreshed in worker threads, never on the loop.

The first test pins the private botframework-connector 4.17.1 details bot/channel/
openid_metadata.py relies on; if an upgrade changes them, it fails here first.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from datetime import datetime
from typing import Any

import pytest
from botframework.connector.auth import (
    AuthenticationConstants,
    ChannelValidation,
    JwtTokenExtractor,
)
from botframework.connector.auth.jwt_token_extractor import _OpenIdMetadata
from jwt.algorithms import RSAAlgorithm

from bot.channel.openid_metadata import (
    OffLoopOpenIdMetadata,
    SigningKeyRefresher,
    install_off_loop_metadata,
)
from tests.channel.conftest import BotUnderTest
from tests.channel.fakes import FakeCloud, teams_activity


def test_botbuilder_private_metadata_cache_is_as_we_rely_on() -> None:
    assert isinstance(JwtTokenExtractor.metadataCache, dict)
    metadata = _OpenIdMetadata("https://example.invalid/metadata")
    assert metadata.url == "https://example.invalid/metadata"
    assert metadata.keys == []
    assert metadata.last_updated == datetime.min
    assert inspect.iscoroutinefunction(_OpenIdMetadata.get)
    assert inspect.iscoroutinefunction(_OpenIdMetadata._refresh)
    assert "_refresh" in inspect.getsource(_OpenIdMetadata.get)
    assert "self._find(key_id)" in inspect.getsource(_OpenIdMetadata.get)
    assert "_OpenIdConfig(public_key, endorsements)" in inspect.getsource(_OpenIdMetadata._find)
    assert hasattr(ChannelValidation, "open_id_metadata_endpoint")


def test_installed_metadata_is_what_botbuilder_validates_with() -> None:
    url = "https://example.invalid/installed"

    installed = install_off_loop_metadata(url)

    assert JwtTokenExtractor.get_open_id_metadata(url) is installed
    assert install_off_loop_metadata(url) is installed


def test_refresher_points_channel_validation_at_the_setting(cloud: FakeCloud) -> None:
    SigningKeyRefresher(cloud.metadata_url)

    assert ChannelValidation.open_id_metadata_endpoint == cloud.metadata_url
    emulator_url = AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
    assert isinstance(JwtTokenExtractor.metadataCache[emulator_url], OffLoopOpenIdMetadata)


async def test_keys_are_loaded_at_startup_and_requests_fetch_nothing(bot: BotUnderTest) -> None:
    assert bot.cloud.metadata_fetches == 1

    for _ in range(3):
        assert (await bot.post(teams_activity(bot.cloud.service_url))).status == 200

    assert bot.cloud.metadata_fetches == 1


async def test_stale_keys_are_fetched_in_a_worker_thread(cloud: FakeCloud) -> None:
    metadata = OffLoopOpenIdMetadata(cloud.metadata_url)
    fetching_threads: list[int] = []
    fetch = metadata.refresh_blocking

    def recording_fetch() -> None:
        fetching_threads.append(threading.get_ident())
        fetch()

    metadata.refresh_blocking = recording_fetch  # type: ignore[method-assign]

    key = await metadata.get("kid-1")

    assert key is not None
    assert fetching_threads and threading.get_ident() not in fetching_threads
    assert cloud.metadata_fetches == 1


async def test_startup_survives_an_unreachable_metadata_url() -> None:
    refresher = SigningKeyRefresher("http://127.0.0.1:9/v1/.well-known/openidconfiguration")
    try:
        await refresher.start()
        assert refresher.channel.keys == []
    finally:
        await refresher.stop()
        ChannelValidation.open_id_metadata_endpoint = None


async def test_each_key_set_is_parsed_once_not_on_every_request(
    cloud: FakeCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    from_jwk = RSAAlgorithm.from_jwk

    def counting_from_jwk(jwk: str) -> Any:
        parsed.append(json.loads(jwk)["kid"])
        return from_jwk(jwk)

    monkeypatch.setattr(RSAAlgorithm, "from_jwk", staticmethod(counting_from_jwk))
    metadata = OffLoopOpenIdMetadata(cloud.metadata_url)

    first = await metadata.get("kid-1")
    assert first is not None
    for _ in range(3):
        assert await metadata.get("kid-1") is first
    assert parsed == ["kid-1"]

    await asyncio.to_thread(metadata.refresh_blocking)  # a new key set: parsed again, once
    again = await metadata.get("kid-1")
    assert again is not None and again is not first
    assert again.public_key.public_numbers() == first.public_key.public_numbers()
    assert again.endorsements == first.endorsements
    assert parsed == ["kid-1", "kid-1"]


async def test_a_key_the_set_does_not_hold_is_none(cloud: FakeCloud) -> None:
    metadata = OffLoopOpenIdMetadata(cloud.metadata_url)
    await asyncio.to_thread(metadata.refresh_blocking)

    assert await metadata.get("kid-unknown") is None
    assert cloud.metadata_fetches == 1  # the set is less than an hour old: not fetched again
