"""The whole of pimbot on loopback: the real bot (botbuilder channel, Graph client, msal, store,
scheduler) against the Graph, Entra and Teams twins, driven as people drive Teams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.runner import RunningSandbox, sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person
from tests.support.clock import FakeClock


@dataclass
class Sandbox:
    running: RunningSandbox
    client: SandboxClient
    clock: FakeClock

    def person(self, handle: str) -> Person:
        return Person(self.client, handle)

    async def run_jobs(self) -> int:
        """Deliver everything due: what the scheduler does every second in production."""
        return await self.running.services.scheduler.run_once()

    @property
    def graph_calls(self) -> list[Any]:
        return list(self.running.twins.graph.calls)


@pytest.fixture
async def sandboxed(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)
