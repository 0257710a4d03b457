"""With `MicrosoftAppId` empty the bot runs anonymously, as the Bot Framework Emulator and the
Microsoft 365 Agents Playground expect; Graph still gets its own app credentials."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from tests.e2e.conftest import Person
from tests.support.clock import FakeClock


async def test_an_anonymous_bot_runs_the_whole_lax_journey(tmp_path: Path) -> None:
    clock = FakeClock()
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            anonymous=True,
            now=clock,
            run_scheduler=False,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        assert running.settings.app_id == ""
        alex = Person(client, "alex")
        await client.install("alex")
        await alex.say("activate user admin for 1h")
        await alex.press("Activate")
        await running.services.scheduler.run_once()
        assert "User Administrator is active until" in await alex.chat_text()
