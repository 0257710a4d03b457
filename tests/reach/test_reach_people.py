"""Reaching people who never opened pimbot, end to end: Teams refuses a 1:1 chat with someone
who does not have the app (`require_install`), so pimbot installs it for them through Graph and
writes in their chat with it; where installing is refused, it posts to the approvers channel."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.graph.teams_apps import INSTALL_PERMISSION
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import DemoTenant, load_tenant
from tests.e2e.conftest import Sandbox
from tests.support.clock import FakeClock

MEGAN = "9a5768bb-92d7-537a-b265-9aaefd3b6f1a"
NESTOR = "bcea9347-7696-5c37-b4f4-2d97cc861f93"
APPROVERS_CHANNEL = "19:pimbot-approvers@thread.tacv2"


@asynccontextmanager
async def teams_with_installs_required(
    tmp_path: Path, adjust: Callable[[DemoTenant], None] = lambda _: None
) -> AsyncIterator[Sandbox]:
    tenant = load_tenant()
    adjust(tenant)
    clock = FakeClock()
    async with (
        sandbox(
            tenant=tenant,
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            require_install=True,
            approvers_channel_id=APPROVERS_CHANNEL,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


def without_install_permission(tenant: DemoTenant) -> None:
    tenant.pimbot_app.application_permissions.remove(INSTALL_PERMISSION)


async def ask_megan_and_nestor(sb: Sandbox) -> None:
    adele = sb.person("adele")
    await sb.client.install("adele")
    await adele.say("activate Exchange Admin for 2h because INC-1234 mailbox restore")
    await adele.press("Ask for approval")
    await sb.run_jobs()


def installs(sb: Sandbox) -> list[str]:
    return [
        c.path.split("/")[3]
        for c in sb.graph_calls
        if c.method == "POST" and c.path.endswith("/teamwork/installedApps")
    ]


async def test_an_approver_who_never_installed_pimbot_gets_the_card_and_can_decide(
    tmp_path: Path,
) -> None:
    async with teams_with_installs_required(tmp_path) as sb:
        await ask_megan_and_nestor(sb)

        assert sorted(installs(sb)) == sorted([MEGAN, NESTOR])
        megan = sb.person("megan")
        assert "Approve" in await megan.buttons()
        assert "Approve" in await sb.person("nestor").buttons()

        await megan.press("Approve", {"reason": "ok for the restore"})
        await sb.run_jobs()

        assert "Megan Bowen approved" in await sb.person("adele").chat_text()
        assert await sb.client.channel_messages(APPROVERS_CHANNEL) == []


async def test_the_next_card_goes_to_the_chat_without_installing_again(tmp_path: Path) -> None:
    async with teams_with_installs_required(tmp_path) as sb:
        await ask_megan_and_nestor(sb)
        adele = sb.person("adele")
        await adele.press("Cancel request")
        await sb.run_jobs()
        await adele.say("activate Exchange Admin for 1h because INC-2000 second restore")
        await adele.press("Ask for approval")
        await sb.run_jobs()

        assert sorted(installs(sb)) == sorted([MEGAN, NESTOR])
        assert "INC-2000" in await sb.person("megan").chat_text()


async def test_where_installing_is_refused_the_card_goes_to_the_approvers_channel(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with teams_with_installs_required(tmp_path, without_install_permission) as sb:
        with caplog.at_level(logging.WARNING, logger="bot.channel.messenger"):
            await ask_megan_and_nestor(sb)

        posted = [  # Megan's card of the demo tenant's access review goes there too
            m
            for m in await sb.client.channel_messages(APPROVERS_CHANNEL)
            if "Access review" not in str(m["cards"])
        ]
        assert sorted(m["text"].split(":", 1)[0] for m in posted) == sorted(
            [f"For {MEGAN}", f"For {NESTOR}"]
        )
        assert all("INC-1234" in str(m["cards"]) for m in posted)
        assert await sb.person("megan").messages() == []
        said = caplog.text
        assert "Cannot install the app for person " + MEGAN in said
        assert "to the approvers channel " + APPROVERS_CHANNEL in said
