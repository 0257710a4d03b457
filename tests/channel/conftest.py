from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from botframework.connector.auth import ChannelValidation

from bot.channel import Channel, build_channel
from bot.settings import Settings
from tests.channel.fakes import (
    APP_ID,
    TENANT_ID,
    FakeCloud,
    FakeDatabase,
    FakeWorkflow,
    SigningKey,
    channel_token,
)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey("kid-1")


@pytest.fixture
def cloud(signing_key: SigningKey) -> Iterator[FakeCloud]:
    with FakeCloud(signing_key) as fake:
        yield fake
    ChannelValidation.open_id_metadata_endpoint = None


def make_settings(cloud: FakeCloud, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_password": "not-a-real-secret",
        "app_type": "MultiTenant",
        "tenant_id": TENANT_ID,
        "login_url": cloud.base,
        "botframework_openid_url": cloud.metadata_url,
        "token_service_url": cloud.base,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class BotUnderTest:
    cloud: FakeCloud
    client: TestClient[web.Request, web.Application]
    channel: Channel
    workflow: FakeWorkflow
    db: Any  # FakeDatabase unless the test passed the real one
    signing_key: SigningKey

    def token(self, **claims: Any) -> str:
        return channel_token(self.signing_key, self.cloud.service_url, **claims)

    async def post_raw(
        self, data: bytes | str | AsyncIterator[bytes], headers: dict[str, str] | None = None
    ) -> Reply:
        response = await self.client.post("/api/messages", data=data, headers=headers or {})
        text = await response.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        return Reply(response.status, body)

    async def post(self, activity: dict[str, Any], *, authorization: str | None = "valid") -> Reply:
        headers = {"Content-Type": "application/json"}
        if authorization == "valid":
            headers["Authorization"] = f"Bearer {self.token()}"
        elif authorization is not None:
            headers["Authorization"] = authorization
        return await self.post_raw(json.dumps(activity), headers)


BotFactory = Callable[..., Awaitable[BotUnderTest]]


@pytest.fixture
async def make_bot(cloud: FakeCloud, signing_key: SigningKey) -> AsyncIterator[BotFactory]:
    started: list[tuple[Channel, TestClient[web.Request, web.Application]]] = []

    async def make(db: Any = None, **settings_overrides: Any) -> BotUnderTest:
        workflow = FakeWorkflow()
        db = db if db is not None else FakeDatabase()
        channel = build_channel(make_settings(cloud, **settings_overrides), db, workflow)
        await channel.start()
        app = web.Application()
        app.router.add_post("/api/messages", channel.handle_messages)
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        started.append((channel, client))
        return BotUnderTest(cloud, client, channel, workflow, db, signing_key)

    yield make
    for channel, client in started:
        await client.close()
        await channel.stop()


@pytest.fixture
async def bot(make_bot: BotFactory) -> BotUnderTest:
    return await make_bot()
