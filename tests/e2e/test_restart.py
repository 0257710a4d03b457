"""pimbot can stop at any time (deploy, crash, scale-in): what it promised still happens once."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox.runner import bind, sandbox_settings, serve_bot
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person
from bot.sandbox.tenant import load_tenant
from bot.sandbox.twins import Twins
from tests.support.clock import FakeClock


async def test_expiry_notices_survive_a_restart_and_come_once(tmp_path: Path) -> None:
    clock = FakeClock()
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    twins = Twins(
        load_tenant(),
        bot_url=f"http://127.0.0.1:{port}/api/messages",
        state_dir=tmp_path,
        now=clock,
    )
    twins.start()
    try:
        settings = sandbox_settings(twins, database_url=f"sqlite:///{tmp_path / 'pimbot.db'}")
        async with SandboxClient(twins.service_url) as client:
            adele = Person(client, "adele")
            async with serve_bot(settings, sock, now=clock, run_scheduler=False) as services:
                await client.install("adele")
                await adele.say("activate user admin for 1h")
                await adele.press("Activate")
                await services.scheduler.run_once()
                assert "User Administrator is active until" in await adele.chat_text()
            sock.close()

            # A new process on the same database; the warning was never in memory.
            sock = bind("127.0.0.1", port)
            async with serve_bot(settings, sock, now=clock, run_scheduler=False) as services:
                clock.advance(minutes=46)
                await services.scheduler.run_once()
                await services.scheduler.run_once()
                clock.advance(minutes=15)
                await services.scheduler.run_once()

            # What was sent (a card sent earlier now shows that the role has ended).
            events = (await client.transcript("adele"))["events"]
            messages = [e for e in events if e["kind"] == "message"]
            warnings = [m for m in messages if m["text"].startswith("User Administrator ends at")]
            ended = [m for m in messages if m["text"] == "User Administrator has ended."]
            assert len(warnings) == 1
            assert len(ended) == 1
    finally:
        sock.close()
        twins.stop()
