"""The Teams twin serves its web chat at `/`: the page, only its own files, the people one can chat
as, and it refuses to be driven by pages of other origins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sandbox.runner import banner, sandbox
from bot.sandbox.teams.web_chat import ASSETS, WebChat
from bot.sandbox.tenant import load_tenant
from tests.sandbox_teams.conftest import World, make_world


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async for w in make_world(anonymous=False):
        yield w


async def test_the_address_the_sandbox_banner_gives_opens_the_web_chat(tmp_path: Path) -> None:
    async with sandbox(database_url=f"sqlite:///{tmp_path / 'pimbot.db'}") as running:
        shown = banner(running, load_tenant(), tmp_path)
        (line,) = [line for line in shown.splitlines() if "Teams twin" in line]
        url = line.split()[2]
        assert f"Open {url} in a browser" in shown
        async with httpx.AsyncClient() as http:
            page = await http.get(url)
    assert page.status_code == 200
    assert "<title>pimbot" in page.text


async def test_the_twin_serves_the_web_chat_at_its_root(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.teams_url) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        linked = re.findall(r'(?:src|href)="(/_sandbox/web/[^"]+)"', page.text)
        assert len(linked) >= 6
        for path in linked:
            asset = await http.get(path)
            assert asset.status_code == 200, path
            assert asset.headers["x-content-type-options"] == "nosniff"
            assert asset.headers["content-type"] == ASSETS[path.removeprefix("/_sandbox/web/")]


@pytest.mark.parametrize(
    "path",
    [
        "/_sandbox/web/web_chat.py",
        "/_sandbox/web/../twin.py",
        "/_sandbox/web/%2e%2e/twin.py",
        "/_sandbox/web/vendor/adaptivecards/adaptivecards.min.js.map",
        "/_sandbox/web/",
    ],
)
async def test_only_the_pages_own_files_are_served(world: World, path: str) -> None:
    async with httpx.AsyncClient(base_url=world.teams_url) as http:
        assert (await http.get(path)).status_code == 404


async def test_the_people_list_is_the_demo_tenant_without_break_glass_accounts() -> None:
    tenant = load_tenant()
    app = web.Application()
    app.add_routes(WebChat(tenant).routes())
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with httpx.AsyncClient() as http:
            directory = (await http.get(str(server.make_url("/_sandbox/users")))).json()
    finally:
        await server.close()
    assert directory["tenant"] == tenant.display_name
    handles = [p["handle"] for p in directory["users"]]
    assert handles == [u.handle for u in tenant.users if not u.break_glass]
    assert directory["users"][0] == {
        "handle": "adele",
        "displayName": "Adele Vance",
        "jobTitle": "Exchange Engineer",
    }


async def test_a_page_of_another_origin_cannot_speak_as_a_user(world: World) -> None:
    """A form on any web site could post to the sandbox on loopback; browsers say where from."""
    async with httpx.AsyncClient(base_url=world.teams_url) as http:
        refused = await http.post(
            "/_sandbox/users/adele/messages",
            content='{"text": "activate global admin"}',
            headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        )
        assert refused.status_code == 403
        assert world.bot.received == []

        own = await http.post(
            "/_sandbox/users/adele/messages",
            json={"text": "hello"},
            headers={"Origin": world.teams_url},
        )
        assert own.status_code == 200
        assert [a.get("text") for a in world.bot.received if a["type"] == "message"] == ["hello"]
