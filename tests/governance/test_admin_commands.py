"""The admin commands as pimbot is wired (the sandbox, through HTTP): those the admin side has are
answered by it, through the admin gate, also when the admin commands are off (the gate says how to
turn them on); one it does not have is answered as not available in this pimbot. None is ever
said to be "not available yet", nor read as a role."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.governance.gate import ADMINS_OFF_TEXT
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import load_tenant
from tests.e2e.conftest import Sandbox
from tests.support.clock import FakeClock

# What the admin side answers each command it has with (the card's heading).
ANSWERED = {
    "standing": "Standing access",
    "alerts": "PIM alerts",
    "settings exchange admin": "Exchange Administrator: PIM settings",
}


async def _box(tmp_path: Path, admin_group_id: str | None) -> AsyncIterator[Sandbox]:
    overrides = {} if admin_group_id is None else {"admin_group_id": admin_group_id}
    async with (
        sandbox(
            tenant=load_tenant(),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=FakeClock(),
            run_scheduler=False,
            **overrides,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, FakeClock())


@pytest.fixture
async def admins_on(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async for box in _box(tmp_path, None):  # the demo tenant's group of pimbot's admins
        yield box


@pytest.fixture
async def admins_off(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async for box in _box(tmp_path, ""):
        yield box


async def test_an_admin_gets_each_admin_command_from_the_admin_side(admins_on: Sandbox) -> None:
    megan = admins_on.person("megan")  # in pimbot's admin group
    for text, heading in ANSWERED.items():
        await megan.say(text)
        newest = (await megan.messages())[-1]
        assert newest["cards"], f"{text!r} got {newest['text']!r}"
        assert heading in json.dumps(newest["cards"][0]), text
    assert "not available in this pimbot" not in await megan.chat_text()


async def test_help_lists_the_admin_commands_the_admin_side_answers(admins_on: Sandbox) -> None:
    megan = admins_on.person("megan")
    await megan.say("help")
    help_card = json.dumps((await megan.messages())[-1]["cards"][0])
    assert "For pimbot's admins: `standing`, `settings`, `alerts`, `reviews`." in help_card


@pytest.mark.parametrize("text", ["standing", "alerts", "settings GA"])
async def test_with_the_admin_commands_off_the_gate_says_how_to_turn_them_on(
    admins_off: Sandbox, text: str
) -> None:
    megan = admins_off.person("megan")
    await megan.say(text)
    newest = (await megan.messages())[-1]
    assert (newest["text"], newest["cards"]) == (ADMINS_OFF_TEXT, [])


async def test_an_admin_command_pimbot_does_not_have_is_said_to_be_unavailable_here(
    admins_on: Sandbox,
) -> None:
    megan = admins_on.person("megan")
    await megan.say("list admins")
    reply = (await megan.messages())[-1]
    assert reply["text"].startswith(
        "`admins` (list who holds admin roles) is not available in this pimbot."
    )
    assert "yet" not in reply["text"] and "PIM administrators" not in reply["text"]
