"""`alerts` end to end through HTTP on loopback, on both engines: pimbot's admins get the five PIM
alerts of the demo tenant, each saying where it came from. With the bot engine pimbot's app may
read PIM's own alerts (RoleManagementAlert.Read.Directory); the pim engine's app keeps the least
read permissions, Graph refuses PIM's alerts (403), and pimbot computes them from schedules and
policies instead."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import walk
from bot.sandbox.tenant import load_tenant
from tests.e2e.conftest import Sandbox
from tests.e2e.test_pim_engine_journey import zero_trust_tenant
from tests.governance.test_settings_journey import PIM_APPROVERS, newest_card
from tests.support.clock import FakeClock


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


def texts(card: dict[str, Any]) -> list[str]:
    """Every TextBlock of the card's body, in order (rows with a Fix button nest theirs)."""
    return [str(n["text"]) for n in walk({"body": card["body"]}) if n.get("type") == "TextBlock"]


async def test_an_admin_sees_every_alert_with_its_source(admin_box: Sandbox) -> None:
    megan = admin_box.person("megan")
    await megan.say("alerts")
    card = newest_card(await megan.messages())
    lines = "\n".join(texts(card))
    graph_source = admin_box.running.settings.engine.value == "bot"
    assert "Roles assigned outside PIM: 4" in lines
    assert "• Lynne Robbins — Exchange Administrator" in lines
    assert "Roles that don't require MFA: 3" in lines
    assert "Stale eligible assignments: 13" in lines
    if graph_source:
        assert "Source: PIM's alert (Graph)" in lines
        assert "Too many Global Administrators: 5" in lines  # the demo's threshold is 4
        # PIM names Break Glass 2 (who never signs in) as stale; pimbot keeps it and says so.
        # Accounts and apps (service principals): Legacy Provisioning Script has not signed in.
        assert "Potential stale service accounts: 4" in lines
        assert "• Legacy Provisioning Script — Application Administrator (last signed in" in lines
        assert "1 break-glass account left out: pimbot keeps them" in lines
        assert "• Break Glass 2 — Global Administrator" not in lines
        assert "• Break Glass 1 (break-glass account: kept" in lines  # one of the 5 admins
        assert "• Lee Gu — Global Administrator (last signed in 2025-06-02)" in lines
    else:
        assert "PIM's alerts are not available to pimbot here (Graph 403" in lines
        assert "Source: computed by pimbot" in lines
        assert "Too many Global Administrators: none" in lines  # 5 is not more than 5
        assert "Potential stale service accounts: unknown" in lines
        assert "not computed: Graph gives no sign-in activity of users here (403" in lines
        assert "Graph gives no sign-in activity of apps here (reports/servicePrincipal" in lines
    graph_calls = [c.path for c in admin_box.graph_calls if "roleManagementAlerts" in c.path]
    assert graph_calls, "PIM's alerts were asked for first"


async def test_an_alerts_findings_come_page_by_page(admin_box: Sandbox) -> None:
    megan = admin_box.person("megan")
    await megan.say("alerts")
    pressed = await megan.press("Stale eligible assignments (13)")
    page = pressed["response"]["value"]  # the invoke's answer: this card, changed
    lines = texts(page)
    assert lines[0] == "Stale eligible assignments: 13"
    assert sum(line.startswith("• ") for line in lines) == 13
    assert "Page 1 of 1" in "\n".join(lines)


async def test_someone_not_in_the_admin_group_gets_no_alerts(admin_box: Sandbox) -> None:
    adele = admin_box.person("adele")
    await adele.say("alerts")
    assert "Stale eligible" not in await adele.chat_text()
    # A forged button on a card of Adele's own (her help card): the gate decides by who pressed.
    await adele.say("help")
    message = next(m for m in reversed(await adele.messages()) if m["cards"])
    forged = {
        "type": "Action.Execute",
        "title": "All 12",
        "verb": "alerts.page",
        "data": {"verb": "alerts.page", "kind": "stale_eligible", "page": "0"},
    }
    pressed = await admin_box.client.press("adele", message["id"], forged)
    assert "Stale eligible" not in json.dumps(pressed)
    async with admin_box.running.services.db.transaction() as tx:
        refused = [e for e in await tx.audit.entries() if e.action == "admin.refused"]
    assert {e.details["command"] for e in refused} == {"alerts", "alerts.page"}
