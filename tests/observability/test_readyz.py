"""`/readyz` answers 503, and says which, when the database or the Graph token endpoint cannot
be reached; 200 when both answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from bot.sandbox.runner import sandbox
from bot.store import Database
from tests.e2e.conftest import Sandbox

UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens on loopback


async def readyz(bot_url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        response = await http.get(bot_url.replace("/api/messages", "/readyz"))
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_ready_when_the_database_and_graph_tokens_answer(sandboxed: Sandbox) -> None:
    status, body = await readyz(sandboxed.running.bot_url)

    assert (status, body["checks"]) == (200, {"database": "ok", "graph_token": "ok"})


async def test_not_ready_when_the_database_is_unreachable(sandboxed: Sandbox) -> None:
    services = sandboxed.running.services
    working = services.db
    services.db = await Database.connect("postgresql://pimbot:none@127.0.0.1:9/pimbot")
    try:
        status, body = await readyz(sandboxed.running.bot_url)
    finally:
        await services.db.close()
        services.db = working

    assert status == 503 and body["ready"] is False
    assert body["checks"]["database"].startswith("unreachable")
    assert body["checks"]["graph_token"] == "ok"


async def running_without_login(tmp_path: Path) -> AsyncIterator[str]:
    async with sandbox(
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
        anonymous=True,  # the channel needs no token of its own
        run_scheduler=False,
        login_url=UNREACHABLE,
    ) as running:
        yield running.bot_url


async def test_not_ready_when_the_graph_token_endpoint_is_unreachable(tmp_path: Path) -> None:
    async for bot_url in running_without_login(tmp_path):
        status, body = await readyz(bot_url)

        assert status == 503 and body["ready"] is False
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["graph_token"].startswith("unavailable")


async def test_readyz_says_inbound_requests_are_authenticated(sandboxed: Sandbox) -> None:
    _, body = await readyz(sandboxed.running.bot_url)

    assert body["inbound"] == "authenticated"


async def test_readyz_says_when_inbound_requests_are_anonymous(tmp_path: Path) -> None:
    async with sandbox(
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}", anonymous=True, run_scheduler=False
    ) as running:
        status, body = await readyz(running.bot_url)

    assert (status, body["inbound"]) == (200, "anonymous")
