"""With `MicrosoftAppId` empty and `PIMBOT_ALLOW_ANONYMOUS=true` (what `pimbot sandbox
--anonymous` sets) the bot runs anonymously, as the Bot Framework Emulator and the Microsoft 365
Agents Playground expect; Graph still gets its own app credentials."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.sandbox.runner import RunningSandbox, sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person, actions_of
from tests.support.clock import FakeClock


@asynccontextmanager
async def anonymous_sandbox(
    tmp_path: Path, engine: str = "bot"
) -> AsyncIterator[tuple[RunningSandbox, SandboxClient]]:
    """The sandbox as `pimbot sandbox --anonymous` runs it, with a test clock, and a client."""
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            anonymous=True,
            now=FakeClock(),
            run_scheduler=False,
            engine=engine,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield running, client


async def test_an_anonymous_bot_runs_the_whole_lax_journey(tmp_path: Path) -> None:
    async with anonymous_sandbox(tmp_path) as (running, client):
        assert running.settings.app_id == "" and running.settings.allow_anonymous
        alex = Person(client, "alex")
        await client.install("alex")
        await alex.say("activate user admin for 1h")
        await alex.press("Activate")
        await running.services.scheduler.run_once()
        assert "User Administrator is active until" in await alex.chat_text()


async def test_an_anonymous_bot_says_before_the_form_that_mfa_roles_need_an_app_registration(
    tmp_path: Path,
) -> None:
    """Sign-in needs the bot's app registration (the SSO resource `api://botid-<app id>`); a
    form that ends in a sign-in card leading nowhere is never shown."""
    async with anonymous_sandbox(tmp_path) as (running, client):
        adele = Person(client, "adele")
        await client.install("adele")
        await adele.say("activate security admin for 1h because INC-9 audit")
        last = (await adele.messages())[-1]
        assert last["cards"] == []
        assert "Security Administrator needs multi-factor authentication" in last["text"]
        assert "app registration" in last["text"]
        assert "Ask for approval" not in await adele.buttons()
        async with running.services.db.transaction() as tx:
            assert (
                await tx.requests.open_for_role(
                    running.twins.tenant.user("adele").id,
                    running.twins.tenant.role("Security Administrator").id,
                )
                is None
            )


async def test_an_anonymous_bot_refuses_a_submitted_mfa_form_and_sends_no_sign_in_card(
    tmp_path: Path,
) -> None:
    """A form from before (or forged) for a role that needs MFA: refused on the server, no
    request, and never an OAuth card with `api://botid-` and an empty app id."""
    async with anonymous_sandbox(tmp_path) as (running, client):
        adele = Person(client, "adele")
        await client.install("adele")
        await adele.say("activate exchange admin for 1h because INC-9 audit")
        security = running.twins.tenant.role("Security Administrator").id
        form = next(m for m in reversed(await adele.messages()) if m["cards"])
        submit = next(
            a
            for a in actions_of(form["cards"][0])
            if a.get("data", {}).get("verb") == "request.submit"
        )
        forged = {**submit, "data": {**submit["data"], "role_id": security}}
        await client.press("adele", form["id"], forged, {"justification": "INC-9 audit"})
        everything = json.dumps(await adele.messages())
        assert "api://botid-" not in everything
        assert "oauth" not in everything.lower()
        assert "multi-factor authentication" in await adele.chat_text()
        async with running.services.db.transaction() as tx:
            assert (
                await tx.requests.open_for_role(running.twins.tenant.user("adele").id, security)
                is None
            )


async def test_an_anonymous_pim_engine_says_it_cannot_sign_anyone_in(tmp_path: Path) -> None:
    """The pim engine acts with each person's own token: without an app registration it says
    so, both for an activation (before the form) and for `pending`."""
    async with anonymous_sandbox(tmp_path, engine="pim") as (_, client):
        adele = Person(client, "adele")
        await client.install("adele")
        await adele.say("activate user admin for 1h")
        assert "I act with your own sign-in" in (await adele.messages())[-1]["text"]
        await adele.say("pending")
        last = (await adele.messages())[-1]
        assert "app registration" in last["text"]
        assert "api://botid-" not in json.dumps(await adele.messages())
