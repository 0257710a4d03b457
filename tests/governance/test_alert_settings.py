"""`alerts settings` end to end through HTTP on loopback: an admin turns one of PIM's alerts off
and on, and sets its threshold, in PIM's own configuration (the Graph twin's
`alertConfigurations`); bad thresholds are refused in words and change nothing; non-admins are
refused at the gate; every change is audited. No second admin: it changes monitoring, not access.
The pim engine's app only reads, and Graph does not offer it PIM's alerts: nothing to configure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.graph.alerts import Alerts
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import walk
from tests.e2e.conftest import Sandbox
from tests.governance.test_alert_fixes import audit_actions, box
from tests.governance.test_settings_journey import PIM_APPROVERS
from tests.support.clock import FakeClock

OUTSIDE_PIM = "RolesAssignedOutsidePimAlert"
GLOBAL_ADMINS = "TooManyGlobalAdminsAssignedToTenantAlert"


@pytest.fixture
async def bot_box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            admin_group_id=PIM_APPROVERS,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


def configuration(sb: Sandbox, name: str) -> dict[str, Any]:
    twins = sb.running.twins
    return Alerts(twins.tenant, twins.graph.state, sb.clock).configuration(name)


async def settings_card(sb: Sandbox) -> tuple[str, dict[str, Any]]:
    megan = sb.person("megan")
    await megan.say("alerts settings")
    message = next(m for m in reversed(await megan.messages()) if m["cards"])
    return message["id"], message["cards"][0]


def button(card: dict[str, Any], title: str, kind: str) -> dict[str, Any]:
    for node in walk(card):
        if node.get("title") == title and node.get("data", {}).get("kind") == kind:
            return node
    raise AssertionError(f"no {title} for {kind}: {json.dumps(card)[:800]}")


async def test_an_admin_turns_an_alert_off_and_on_in_pim(bot_box: Sandbox) -> None:
    message_id, card = await settings_card(bot_box)
    assert "Roles assigned outside PIM: on" in json.dumps(card)
    answer = await bot_box.client.press(
        "megan", message_id, button(card, "Turn off", "outside_pim"), None
    )
    assert configuration(bot_box, OUTSIDE_PIM)["isEnabled"] is False
    updated = answer["response"]["value"]
    assert "Roles assigned outside PIM: off" in json.dumps(updated)
    megan = bot_box.person("megan")
    await megan.say("alerts")
    assert "turned off in PIM" in await megan.chat_text()
    await bot_box.client.press("megan", message_id, button(updated, "Turn on", "outside_pim"), None)
    assert configuration(bot_box, OUTSIDE_PIM)["isEnabled"] is True
    actions = await audit_actions(bot_box)
    assert actions.count("alerts.settings.changed") == 2
    assert "admin_change.asked" not in " ".join(actions)  # no four-eyes for monitoring


async def test_an_admin_sets_a_threshold_and_a_bad_one_changes_nothing(bot_box: Sandbox) -> None:
    message_id, card = await settings_card(bot_box)
    set_threshold = button(card, "Set threshold", "too_many_global_admins")
    await bot_box.client.press(
        "megan", message_id, set_threshold, {"threshold_too_many_global_admins": "10"}
    )
    assert configuration(bot_box, GLOBAL_ADMINS)["globalAdminCountThreshold"] == 10
    await bot_box.client.press(
        "megan", message_id, set_threshold, {"threshold_too_many_global_admins": "<b>lots</b>"}
    )
    told = await bot_box.person("megan").told()
    assert "is not a number of Global Administrators" in told
    assert "<b>" not in told
    assert configuration(bot_box, GLOBAL_ADMINS)["globalAdminCountThreshold"] == 10
    stale = button(card, "Set threshold", "stale_sign_in")
    await bot_box.client.press("megan", message_id, stale, {"threshold_stale_sign_in": "P30D"})
    assert configuration(bot_box, "StaleSignInAlert")["duration"] == "P30D"
    actions = await audit_actions(bot_box)
    assert actions.count("alerts.settings.changed") == 2
    assert "alerts.settings.refused" in actions


async def test_someone_not_an_admin_cannot_change_an_alert(bot_box: Sandbox) -> None:
    _, card = await settings_card(bot_box)
    adele = bot_box.person("adele")
    await adele.say("alerts settings")
    assert "PIM alert settings" not in await adele.chat_text()
    # Megan's button, forged onto a card of Adele's own (her help card): the gate decides.
    await adele.say("help")
    message = next(m for m in reversed(await adele.messages()) if m["cards"])
    await bot_box.client.press("adele", message["id"], button(card, "Turn off", "outside_pim"))
    assert configuration(bot_box, OUTSIDE_PIM).get("isEnabled", True) is True
    async with bot_box.running.services.db.transaction() as tx:
        refused = [e for e in await tx.audit.entries() if e.action == "admin.refused"]
    assert {e.details["command"] for e in refused} == {"alerts", "alerts.configure"}


async def test_the_pim_engine_has_nothing_to_configure(tmp_path: Path) -> None:
    async with (
        await box(tmp_path, "pim") as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        sb = Sandbox(running, client, FakeClock())
        _, card = await settings_card(sb)
        assert "nothing to configure" in json.dumps(card)
        assert "Turn off" not in json.dumps(card)
