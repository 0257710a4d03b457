"""The running sandbox of the end-to-end tests, for the operator's endpoints. The figures are
read fresh on every scrape here (no cache), so that a test sees each change at once; the cache
has its own tests."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from tests.e2e.conftest import Sandbox
from tests.support.clock import FakeClock


@pytest.fixture
async def sandboxed(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            metrics_cache_seconds=0,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)
