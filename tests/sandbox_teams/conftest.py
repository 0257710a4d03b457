from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sandbox.entra import EntraTwin
from bot.sandbox.teams import SandboxClient, TeamsTwin
from tests.sandbox_teams.echo_bot import EchoBot
from tests.sandbox_teams.stand_ins import Tenant


@dataclass
class World:
    tenant: Tenant
    entra: EntraTwin
    teams: TeamsTwin
    bot: EchoBot
    client: SandboxClient
    teams_url: str


async def serve(app: web.Application, servers: list[TestServer]) -> str:
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    servers.append(server)
    return str(server.make_url("")).rstrip("/")


async def make_world(*, anonymous: bool, require_install: bool = False) -> AsyncIterator[World]:
    tenant = Tenant()
    servers: list[TestServer] = []
    entra = EntraTwin(tenant)
    entra.base_url = await serve(entra.app, servers)
    app_id = None if anonymous else tenant.pimbot_app.client_id
    bot = EchoBot(entra, app_id, tenant.pimbot_app.client_secret)
    bot_url = await serve(bot.app, servers) + "/api/messages"
    teams = TeamsTwin(
        tenant, bot_url=bot_url, app_id=app_id, entra=entra, require_install=require_install
    )
    teams_url = await serve(teams.app, servers)
    teams.service_url = teams_url
    client = SandboxClient(teams_url)
    try:
        yield World(tenant, entra, teams, bot, client, teams_url)
    finally:
        await client.close()
        for server in reversed(servers):
            await server.close()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async for w in make_world(anonymous=False):
        yield w


@pytest.fixture
async def anonymous_world() -> AsyncIterator[World]:
    async for w in make_world(anonymous=True):
        yield w


@pytest.fixture
async def strict_world() -> AsyncIterator[World]:
    async for w in make_world(anonymous=False, require_install=True):
        yield w


@pytest.fixture
def bot_sends_card(world):
    """Make the bot send a card with `refresh` for the given users to `user`; returns the first
    listed user's Teams id."""

    async def send(user: str, *, user_ids_of: list[str]) -> str:
        mris = []
        for handle in user_ids_of:
            await world.client.say(handle, "ping")
            mris.append(world.bot.received[-1]["from"]["id"])
        await world.client.say(user, "ping")
        inbound = world.bot.received[-1]
        card = {
            "type": "AdaptiveCard",
            "version": "1.5",
            "body": [{"type": "TextBlock", "text": "Pending"}],
            "refresh": {
                "action": {"type": "Action.Execute", "verb": "approve", "data": {"rid": "r1"}},
                "userIds": mris,
            },
        }
        attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        await world.bot.reply(inbound, {"attachments": [attachment]})
        return mris[0]

    return send
