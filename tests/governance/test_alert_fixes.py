"""Fixing a PIM alert from the `alerts` card, end to end through HTTP on loopback: Fix asks for
confirmation; Confirm checks the finding against Graph again and hands it to four-eyes; the job
has PIM remediate the incident; every step is audited. Global Administrator waits for a second
admin. The pim engine's app only reads: PIM's remediation is never asked for there, and a forged
fix is refused."""

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
from tests.governance.test_settings_journey import PIM_APPROVERS
from tests.support.clock import FakeClock

OUTSIDE_PIM = "Roles assigned outside PIM (4)"


async def box(tmp_path: Path, engine: str, clock: FakeClock | None = None) -> Any:
    return sandbox(
        tenant=zero_trust_tenant() if engine == "pim" else load_tenant(),
        database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
        state_dir=tmp_path,
        now=clock or FakeClock(),
        run_scheduler=False,
        engine=engine,
        admin_group_id=PIM_APPROVERS,
    )


@pytest.fixture
async def bot_box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()  # the sandbox's: advancing it moves the bot's and the twins' time
    async with (
        await box(tmp_path, "bot", clock) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        sb = Sandbox(running, client, clock)
        for _ in range(5):  # what is due at start-up (the access review scan and its cards)
            if not await sb.run_jobs():  # runs first, so that a test's outage hits its own job
                break
        yield sb


def fix_button(card: dict[str, Any], who: str) -> dict[str, Any]:
    """The Fix button on the row that names `who`."""
    for node in walk(card):
        if node.get("type") == "ColumnSet" and who in json.dumps(node):
            return next(n for n in walk(node) if n.get("title") == "Fix")
    raise AssertionError(f"no Fix for {who}: {json.dumps(card)[:500]}")


async def open_page(sb: Sandbox, handle: str) -> tuple[str, dict[str, Any]]:
    person = sb.person(handle)
    await person.say("alerts")
    pressed = await person.press(OUTSIDE_PIM)
    message = next(m for m in reversed(await person.messages()) if m["cards"])
    return message["id"], pressed["response"]["value"]


def outside_pim_holders(sb: Sandbox) -> set[str]:
    state = sb.running.twins.graph.state
    return {s.principal_id for s in state.schedules if s.outside_pim}


async def audit_actions(sb: Sandbox) -> list[str]:
    async with sb.running.services.db.transaction() as tx:
        return [e.action for e in await tx.audit.entries()]


async def test_fix_asks_then_pim_remediates_the_incident(bot_box: Sandbox) -> None:
    lynne = bot_box.running.twins.tenant.user("lynne").id
    assert lynne in outside_pim_holders(bot_box)
    message_id, page = await open_page(bot_box, "megan")
    asked = await bot_box.client.press("megan", message_id, fix_button(page, "Lynne Robbins"), None)
    confirmation = asked["response"]["value"]
    assert "Fix: Roles assigned outside PIM" in json.dumps(confirmation)
    assert lynne in outside_pim_holders(bot_box)  # asking changes nothing
    confirm = next(n for n in walk(confirmation) if n.get("title") == "Confirm fix")
    await bot_box.client.press("megan", message_id, confirm, None)
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert lynne not in outside_pim_holders(bot_box)
    told = await bot_box.person("megan").chat_text()
    assert "✅ Done: Fix “Roles assigned outside PIM” for Lynne Robbins" in told
    actions = await audit_actions(bot_box)
    assert "alerts.fix.asked" in actions and "alerts.fix.done" in actions
    remediations = [c for c in bot_box.graph_calls if c.path.endswith("/remediate")]
    assert [c.status for c in remediations] == [204]


async def test_a_global_administrator_fix_waits_for_a_second_admin(bot_box: Sandbox) -> None:
    lee = bot_box.running.twins.tenant.user("lee").id
    message_id, page = await open_page(bot_box, "megan")
    asked = await bot_box.client.press("megan", message_id, fix_button(page, "Lee Gu"), None)
    confirm = next(n for n in walk(asked["response"]["value"]) if n.get("title") == "Confirm fix")
    await bot_box.client.press("megan", message_id, confirm, None)
    await bot_box.run_jobs()
    assert lee in outside_pim_holders(bot_box)  # not before a second admin approves
    nestor = bot_box.person("nestor")
    await bot_box.run_jobs()
    await nestor.press("Approve", {"reason": "agreed in CAB"})
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert lee not in outside_pim_holders(bot_box)


async def test_a_finding_fixed_meanwhile_is_not_fixed_twice(bot_box: Sandbox) -> None:
    message_id, page = await open_page(bot_box, "megan")
    button = fix_button(page, "Pradeep Gupta")
    asked = await bot_box.client.press("megan", message_id, button, None)
    confirm = next(n for n in walk(asked["response"]["value"]) if n.get("title") == "Confirm fix")
    await bot_box.client.press("megan", message_id, confirm, None)
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    again = await bot_box.client.press("megan", message_id, confirm, None)
    assert "not there any more" in json.dumps(again)
    remediations = [c for c in bot_box.graph_calls if c.path.endswith("/remediate")]
    assert len(remediations) == 1


async def test_the_pim_engine_never_asks_pim_to_remediate_and_refuses_a_forged_fix(
    tmp_path: Path,
) -> None:
    """The pim engine's app only reads: Graph does not offer it PIM's alerts, so they are
    computed, and their Fix is pimbot's own change made with the admin's sign-in
    (test_computed_alert_fixes.py). A forged fix of a finding that is not there is refused."""
    async with (
        await box(tmp_path, "pim") as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        sb = Sandbox(running, client, FakeClock())
        message_id, page = await open_page(sb, "megan")
        assert "computed by pimbot" in json.dumps(page)
        forged = {
            "type": "Action.Execute",
            "title": "Confirm fix",
            "verb": "alerts.fix_confirm",
            "data": {"verb": "alerts.fix_confirm", "kind": "outside_pim", "key": "x"},
        }
        await client.press("megan", message_id, forged, None)
        assert "That finding is not there any more" in await sb.person("megan").told()
        assert "alerts.fix.refused" in await audit_actions(sb)
        assert not [c for c in sb.graph_calls if c.path.endswith("/remediate")]


async def confirm_fix(sb: Sandbox, who: str) -> None:
    message_id, page = await open_page(sb, "megan")
    asked = await sb.client.press("megan", message_id, fix_button(page, who), None)
    confirm = next(n for n in walk(asked["response"]["value"]) if n.get("title") == "Confirm fix")
    await sb.client.press("megan", message_id, confirm, None)


async def test_graph_busy_is_tried_again_and_nothing_is_lost(bot_box: Sandbox) -> None:
    lynne = bot_box.running.twins.tenant.user("lynne").id
    await confirm_fix(bot_box, "Lynne Robbins")
    bot_box.running.twins.graph.outage(1, 500)  # the job's first call to Graph fails
    await bot_box.run_jobs()
    assert lynne in outside_pim_holders(bot_box)
    assert "Not done" not in await bot_box.person("megan").chat_text()
    bot_box.clock.advance(minutes=1)  # past the retry delay
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert lynne not in outside_pim_holders(bot_box)
    assert "✅ Done" in await bot_box.person("megan").chat_text()


async def test_graph_refusing_is_told_in_words_and_changes_nothing(bot_box: Sandbox) -> None:
    lynne = bot_box.running.twins.tenant.user("lynne").id
    await confirm_fix(bot_box, "Lynne Robbins")
    bot_box.running.twins.graph.outage(1, 403)
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert lynne in outside_pim_holders(bot_box)
    told = await bot_box.person("megan").chat_text()
    assert "❌ Not done: Fix “Roles assigned outside PIM” for Lynne Robbins" in told
    assert "Nothing was changed." in told
    assert "alerts.fix.failed" in await audit_actions(bot_box)
