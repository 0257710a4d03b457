"""`settings <role>` end to end through HTTP on loopback, on both engines: an admin (a transitive
member of PIMBOT_ADMIN_GROUP_ID) gets the role's PIM settings card, grouped as the portal groups
them, with who holds the role now; anyone else is refused and the refusal audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.governance.settings_journey import role_query
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.tenant import load_tenant
from tests.e2e.conftest import Sandbox
from tests.e2e.test_pim_engine_journey import zero_trust_tenant
from tests.support.clock import FakeClock

PIM_APPROVERS = "fc259843-2ed5-5a68-b275-f6cd31ea1143"  # megan, nestor and (nested) lidia


@pytest.fixture(params=["bot", "pim"])
async def admin_box(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    engine = request.param
    async with (
        sandbox(
            tenant=zero_trust_tenant() if engine == "pim" else load_tenant(),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=FakeClock(),
            run_scheduler=False,
            engine=engine,
            admin_group_id=PIM_APPROVERS,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, FakeClock())


def newest_card(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m["cards"][0] for m in reversed(messages) if m["cards"])


def card_facts(card: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in card["body"]:
        for fact in block.get("facts", []):
            found[fact["title"]] = fact["value"]
    return found


async def test_an_admin_sees_the_settings_and_the_holders(admin_box: Sandbox) -> None:
    lidia = admin_box.person("lidia")  # an admin through the nested Security Leads group
    await lidia.say("settings exchange admin")
    card = newest_card(await lidia.messages())
    text = json.dumps(card)
    assert "Exchange Administrator: PIM settings" in text
    for section in ("Activation", "Assignment", "Notifications", "Who holds it now"):
        assert f'"text": "{section}"' in text
    facts = card_facts(card)
    assert facts["Longest activation"] == "4 h"
    assert facts["On activation, require"] == "justification"
    assert facts["Approval"] == "Needed from Megan Bowen, Nestor Wilke"
    assert facts["Active assignments"] == "Permanent allowed"  # as the demo tenant has it
    assert "Grady Archie" in facts["Standing (assigned active)"]  # the demo's standing access
    assert "Adele Vance" in facts["Eligible"]


async def test_a_nickname_finds_the_role(admin_box: Sandbox) -> None:
    await admin_box.person("megan").say("settings GA")
    shown = card_facts(newest_card(await admin_box.person("megan").messages()))
    assert shown["Longest activation"] == "2 h"  # Global Administrator, the strict one
    assert shown["On activation, require"] == "MFA, justification, ticket"
    assert "Break Glass 1" in shown["Standing (assigned active)"]


async def test_someone_not_in_the_admin_group_is_refused(admin_box: Sandbox) -> None:
    adele = admin_box.person("adele")
    await adele.say("settings Exchange Admin")
    told = await adele.chat_text()
    assert "PIM settings" not in told
    assert "admin" in told.lower()
    async with admin_box.running.services.db.transaction() as tx:
        entries = await tx.audit.entries()
    refused = [e for e in entries if e.action == "admin.refused"]
    assert refused and refused[-1].details["command"] == "settings"


async def test_an_unknown_role_is_answered_in_words(admin_box: Sandbox) -> None:
    megan = admin_box.person("megan")
    await megan.say("settings Exchnage Admin")
    assert "PIM settings" in await megan.chat_text()  # a typo still finds the role
    await megan.say("settings Coffee Maker")
    assert "I know no role called “Coffee Maker”" in await megan.chat_text()


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("settings Exchange Admin", "Exchange Admin"),
        ("settings for exchange admin", "exchange admin"),
        ("please show the role settings of GA", "GA"),
        ("policy User Administrator?", "User Administrator"),
        ("settings", ""),
    ],
)
def test_the_role_is_what_follows_the_command(text: str, query: str) -> None:
    assert role_query(text) == query
