"""Stopping the Teams twin while clients long-poll a transcript (the web chat always does)."""

from __future__ import annotations

import asyncio

import pytest

from bot.sandbox.teams import SandboxClient
from tests.sandbox_teams.conftest import make_world


async def test_stopping_the_twin_answers_a_waiting_long_poll() -> None:
    """The web chat always has a transcript long poll open; stopping the twin must not wait it
    out (a server waits for open requests before it stops, then drops them)."""
    worlds = make_world(anonymous=False)
    world = await anext(worlds)
    async with SandboxClient(world.teams_url) as browser:
        waiting = asyncio.create_task(browser.transcript("adele", after=10**6, wait=60))
        for _ in range(3000):  # until the twin took the request (it opens adele's chat)
            if world.teams.chats.started():
                break
            await asyncio.sleep(0.01)

        async def stop_the_servers() -> None:
            with pytest.raises(StopAsyncIteration):
                await anext(worlds)

        # stopped and answered now, with nothing new: not after the 60 s the poll asked to wait
        # (half of it is a bound no loaded machine comes near)
        _, page = await asyncio.wait_for(asyncio.gather(stop_the_servers(), waiting), timeout=30)
    assert page["events"] == []
