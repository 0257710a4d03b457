"""Fixing the alerts pimbot computes (the tenant does not offer PIM's own alerts to pimbot), end to
end through HTTP on loopback: an assignment made outside PIM is converted to eligible as
`standing` converts, a stale eligibility is removed, and MFA is turned on in a role's policy —
the last only with the deciding admin's own sign-in (pim engine), since Graph lets no app change
a policy rule. Each asks for confirmation, is read again from Graph, goes through four-eyes and is
audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.entra import service_principal_id
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import walk
from bot.sandbox.tenant import AssignmentSpec, DemoTenant, load_tenant
from tests.e2e.conftest import Sandbox
from tests.e2e.test_pim_engine_journey import activate_in_the_portal, zero_trust_tenant
from tests.e2e.test_standing_journey import (
    PRIVILEGED_ROLE_ADMINISTRATOR,
    tenant_id,
    twin_schedules,
)
from tests.governance.test_alert_fixes import audit_actions, fix_button
from tests.governance.test_settings_journey import PIM_APPROVERS
from tests.support.clock import FakeClock

EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
GLOBAL = "62e90394-69f5-4237-9190-012177145e10"


def without_pim_alerts() -> DemoTenant:
    """The demo tenant where Graph does not offer PIM's alerts to pimbot (403): computed."""
    tenant = load_tenant()
    app = tenant.apps[0]
    kept = [p for p in app.application_permissions if not p.startswith("RoleManagementAlert.")]
    app = app.model_copy(update={"application_permissions": kept})
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})


async def box(tmp_path: Path, engine: str) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            tenant=without_pim_alerts() if engine == "bot" else zero_trust_tenant(),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            engine=engine,
            admin_group_id=PIM_APPROVERS,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


@pytest.fixture
async def bot_box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async for sb in box(tmp_path, "bot"):
        yield sb


@pytest.fixture
async def pim_box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async for sb in box(tmp_path, "pim"):
        yield sb


async def alert_page(sb: Sandbox, button_title: str) -> tuple[str, dict[str, Any]]:
    megan = sb.person("megan")
    await megan.say("alerts")
    pressed = await megan.press(button_title)
    message = next(m for m in reversed(await megan.messages()) if m["cards"])
    return message["id"], pressed["response"]["value"]


def first_fix(card: dict[str, Any]) -> dict[str, Any]:
    return next(n for n in walk(card) if n.get("title") == "Fix")


async def ask_and_confirm(
    sb: Sandbox, message_id: str, fix: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Press Fix, then Confirm; the confirmation card's words and its Confirm button."""
    asked = await sb.client.press("megan", message_id, fix, None)
    confirmation = asked["response"]["value"]
    assert "Confirm fix" in json.dumps(confirmation), json.dumps(confirmation)[:800]
    confirm = next(n for n in walk(confirmation) if n.get("title") == "Confirm fix")
    await sb.client.press("megan", message_id, confirm, None)
    return json.dumps(confirmation), confirm


def eligible_now(sb: Sandbox, principal_id: str, role_id: str) -> bool:
    now = sb.clock()
    return any(
        s.kind == "eligibility" and s.in_force(now)
        for s in sb.running.twins.graph.state.schedules
        if s.principal_id == principal_id and s.role_id == role_id
    )


def mfa_required(sb: Sandbox, role_id: str) -> bool:
    state = sb.running.twins.graph.state
    for policy in state.policies.values() if isinstance(state.policies, dict) else state.policies:
        if getattr(policy, "role_id", None) != role_id:
            continue
        for rule in policy.rules:
            if rule.get("id") == "Enablement_EndUser_Assignment":
                return "MultiFactorAuthentication" in (rule.get("enabledRules") or [])
    raise AssertionError(f"no policy for {role_id}")


async def test_an_assignment_outside_pim_is_converted_to_eligible(bot_box: Sandbox) -> None:
    message_id, page = await alert_page(bot_box, "Roles assigned outside PIM (4)")
    words, _ = await ask_and_confirm(bot_box, message_id, fix_button(page, "Lynne Robbins"))
    assert "pimbot will make the person eligible for the role" in words
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert twin_schedules(bot_box, "lynne", EXCHANGE) == {"eligibility"}
    assert "✅ Done: Convert Lynne Robbins" in await bot_box.person("megan").chat_text()
    actions = await audit_actions(bot_box)
    assert "standing.convert.done" in actions
    assert not [c for c in bot_box.graph_calls if c.path.endswith("/remediate")]


async def test_a_stale_eligibility_is_removed(bot_box: Sandbox) -> None:
    message_id, page = await alert_page(bot_box, "Stale eligible assignments (13)")
    fix = first_fix(page)
    role_id, principal_id = fix["data"]["key"].split("_")
    assert eligible_now(bot_box, principal_id, role_id)
    words, confirm = await ask_and_confirm(bot_box, message_id, fix)
    assert "pimbot will remove the eligibility" in words
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert not eligible_now(bot_box, principal_id, role_id)
    removals = [
        r
        for r in bot_box.running.twins.graph.state.eligibility_requests
        if r.action == "adminRemove"
    ]
    assert [(r.principal_id, r.role_id) for r in removals] == [(principal_id, role_id)]
    assert "alerts.fix.computed.done" in await audit_actions(bot_box)
    assert "✅ Done: Fix “Stale eligible assignments”" in await bot_box.person("megan").chat_text()
    again = await bot_box.client.press("megan", message_id, confirm, None)
    assert "not there any more" in json.dumps(again)  # read again: fixed, so not fixed twice


async def test_on_the_bot_engine_mfa_is_not_offered_and_a_forged_fix_is_refused(
    bot_box: Sandbox,
) -> None:
    message_id, page = await alert_page(bot_box, "Roles that don't require MFA (3)")
    assert '"Fix"' not in json.dumps(page)
    forged = {
        "type": "Action.Execute",
        "title": "Confirm fix",
        "verb": "alerts.fix_confirm",
        "data": {"verb": "alerts.fix_confirm", "kind": "no_mfa", "key": "x"},
    }
    await bot_box.client.press("megan", message_id, forged, None)
    told = await bot_box.person("megan").told()
    assert "Turning on MFA in a role's policy needs a signed-in admin" in told
    assert "alerts.fix.refused" in await audit_actions(bot_box)
    patches = [c for c in bot_box.graph_calls if c.method == "PATCH"]
    assert patches == []


async def test_on_the_pim_engine_mfa_is_turned_on_with_the_admins_own_sign_in(
    pim_box: Sandbox,
) -> None:
    await activate_in_the_portal(pim_box, "megan", PRIVILEGED_ROLE_ADMINISTRATOR, "PT2H")
    message_id, page = await alert_page(pim_box, "Roles that don't require MFA (3)")
    fix = first_fix(page)
    role_id = fix["data"]["key"]
    assert not mfa_required(pim_box, role_id)
    words, _ = await ask_and_confirm(pim_box, message_id, fix)
    assert "turn on MFA for activation in the role's policy, as you" in words
    await pim_box.run_jobs()
    await pim_box.client.wait_for("megan", "signed_in")
    await pim_box.run_jobs()
    assert mfa_required(pim_box, role_id)
    assert "alerts.fix.computed.done" in await audit_actions(pim_box)


async def test_on_the_pim_engine_fixes_are_made_with_the_admins_own_sign_in(
    pim_box: Sandbox,
) -> None:
    """Graph does not offer the pim engine's read-only app PIM's alerts: they are computed, and
    their fixes are carried out with Megan's delegated token, so PIM records her as the actor."""
    await activate_in_the_portal(pim_box, "megan", PRIVILEGED_ROLE_ADMINISTRATOR, "PT2H")
    message_id, page = await alert_page(pim_box, "Roles assigned outside PIM (4)")
    await ask_and_confirm(pim_box, message_id, fix_button(page, "Lynne Robbins"))
    await pim_box.run_jobs()
    await pim_box.client.wait_for("megan", "signed_in")
    await pim_box.run_jobs()
    assert twin_schedules(pim_box, "lynne", EXCHANGE) == {"eligibility"}
    megan_id = tenant_id(pim_box, "megan")
    state = pim_box.running.twins.graph.state
    made = [r for r in state.eligibility_requests if r.principal_id == tenant_id(pim_box, "lynne")]
    assert [(r.action, r.created_by_user.id if r.created_by_user else None) for r in made] == [
        ("adminAssign", megan_id)
    ]

    # 12, not 13: Megan's activation made her Privileged Role Administrator eligibility fresh
    message_id, page = await alert_page(pim_box, "Stale eligible assignments (12)")
    fix = first_fix(page)
    role_id, principal_id = fix["data"]["key"].split("_")
    await ask_and_confirm(pim_box, message_id, fix)
    await pim_box.run_jobs()
    await pim_box.run_jobs()  # her token is in hand now
    assert not eligible_now(pim_box, principal_id, role_id)
    removed = [r for r in state.eligibility_requests if r.action == "adminRemove"]
    assert [r.created_by_user.id if r.created_by_user else None for r in removed] == [megan_id]


async def test_on_the_pim_engine_an_admin_without_an_admin_role_is_told_what_to_do(
    pim_box: Sandbox,
) -> None:
    message_id, page = await alert_page(pim_box, "Roles that don't require MFA (3)")
    fix = first_fix(page)
    await ask_and_confirm(pim_box, message_id, fix)
    await pim_box.run_jobs()
    await pim_box.client.wait_for("megan", "signed_in")
    await pim_box.run_jobs()
    assert not mfa_required(pim_box, fix["data"]["key"])
    told = await pim_box.person("megan").chat_text()
    assert "Entra refused it with your sign-in" in told
    assert "activate Privileged Role Administrator" in told
    assert "alerts.fix.computed.failed" in await audit_actions(pim_box)


async def test_a_break_glass_account_is_never_touched(bot_box: Sandbox) -> None:
    """Break Glass 2 never signs in and holds Global Administrator: PIM names it as stale,
    pimbot leaves it out of the alert (kept), and a Fix forged for it converts nothing."""
    message_id, page = await alert_page(bot_box, "Potential stale service accounts (4)")
    assert "Break Glass 2" not in json.dumps(page)
    lee_fix = fix_button(page, "Lee Gu")
    lee, glass = tenant_id(bot_box, "lee"), tenant_id(bot_box, "breakglass2")
    forged = json.loads(json.dumps(lee_fix).replace(lee, glass))
    assert forged != lee_fix
    asked = await bot_box.client.press("megan", message_id, forged, None)
    assert "Confirm fix" not in json.dumps(asked)
    assert twin_schedules(bot_box, "breakglass2", GLOBAL) == {"assignment"}
    assert not bot_box.running.twins.graph.state.eligibility_requests


# --- apps (service principals): PIM cannot make one eligible, so a stale one's role is removed --

LEGACY = "Legacy Provisioning Script"
APPLICATION_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
STALE = "Potential stale service accounts ("


def app_holds(sb: Sandbox, name: str, role_id: str) -> bool:
    """Whether the app's service principal holds the role (active) in the Graph twin now."""
    sp = service_principal_id(sb.running.twins.tenant.app_principal(name).client_id)
    now = sb.clock()
    return any(
        s.kind == "assignment" and s.principal_id == sp and s.role_id == role_id and s.in_force(now)
        for s in sb.running.twins.graph.state.schedules
    )


async def stale_page(sb: Sandbox) -> tuple[str, dict[str, Any]]:
    megan = sb.person("megan")
    await megan.say("alerts")
    title = next(b for b in reversed(await megan.buttons()) if b.startswith(STALE))
    return await alert_page(sb, title)


@asynccontextmanager
async def box_with(tmp_path: Path, engine: str, tenant: DemoTenant) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            tenant=tenant,
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            engine=engine,
            admin_group_id=PIM_APPROVERS,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def test_a_stale_apps_assignment_is_removed_since_an_app_cannot_be_made_eligible(
    bot_box: Sandbox,
) -> None:
    message_id, page = await stale_page(bot_box)
    text = json.dumps(page, ensure_ascii=False)
    assert f"{LEGACY} — Application Administrator (app, last signed in 2026-04-20)" in text
    assert "Contoso HR Sync" not in text  # signed in yesterday
    assert app_holds(bot_box, LEGACY, APPLICATION_ADMIN)
    words, _ = await ask_and_confirm(bot_box, message_id, fix_button(page, LEGACY))
    assert "pimbot will remove the app's active assignment of the role" in words
    assert app_holds(bot_box, LEGACY, APPLICATION_ADMIN)  # asking changed nothing
    await bot_box.run_jobs()
    await bot_box.run_jobs()
    assert not app_holds(bot_box, LEGACY, APPLICATION_ADMIN)
    state = bot_box.running.twins.graph.state
    assert not state.eligibility_requests  # never an eligibility for an app
    sp = service_principal_id(bot_box.running.twins.tenant.app_principal(LEGACY).client_id)
    assert [(r.action, r.principal_id) for r in state.requests if r.principal_id == sp] == [
        ("adminRemove", sp)
    ]
    actions = await audit_actions(bot_box)
    assert "alerts.fix.computed.done" in actions
    assert "standing.convert.done" not in actions
    told = await bot_box.person("megan").chat_text()
    assert f"✅ Done: Fix “Potential stale service accounts” for {LEGACY}" in told


async def test_on_the_pim_engine_a_stale_apps_assignment_is_removed_with_the_admins_own_sign_in(
    tmp_path: Path,
) -> None:
    """The pim engine's app reads sign-in activity here (AuditLog.Read.All) but writes nothing:
    the removal is made with Megan's delegated token, so PIM records her as the actor."""
    tenant = zero_trust_tenant()
    app = tenant.apps[0]
    reader = app.model_copy(
        update={"application_permissions": [*app.application_permissions, "AuditLog.Read.All"]}
    )
    tenant = tenant.model_copy(update={"apps": [reader, *tenant.apps[1:]]})
    async with box_with(tmp_path, "pim", tenant) as sb:
        await activate_in_the_portal(sb, "megan", PRIVILEGED_ROLE_ADMINISTRATOR, "PT2H")
        message_id, page = await stale_page(sb)
        await ask_and_confirm(sb, message_id, fix_button(page, LEGACY))
        await sb.run_jobs()
        await sb.client.wait_for("megan", "signed_in")
        await sb.run_jobs()
        assert not app_holds(sb, LEGACY, APPLICATION_ADMIN)
        sp = service_principal_id(tenant.app_principal(LEGACY).client_id)
        removed = [r for r in sb.running.twins.graph.state.requests if r.principal_id == sp]
        assert [
            (r.action, r.created_by_user.id if r.created_by_user else None) for r in removed
        ] == [("adminRemove", tenant_id(sb, "megan"))]


async def test_an_apps_stale_global_administrator_needs_a_second_admin(tmp_path: Path) -> None:
    tenant = without_pim_alerts()
    grant = AssignmentSpec(app=LEGACY, role="Global Administrator")
    tenant = DemoTenant.model_validate(
        {**tenant.model_dump(), "assignments": [*tenant.model_dump()["assignments"], grant]}
    )
    async with box_with(tmp_path, "bot", tenant) as sb:
        message_id, page = await stale_page(sb)
        fix = next(
            n
            for node in walk(page)
            if node.get("type") == "ColumnSet"
            and f"{LEGACY} — Global Administrator" in json.dumps(node, ensure_ascii=False)
            for n in walk(node)
            if n.get("title") == "Fix"
        )
        await ask_and_confirm(sb, message_id, fix)
        await sb.run_jobs()
        assert app_holds(sb, LEGACY, GLOBAL)
        assert "needs a second admin" in await sb.person("megan").told()
        await sb.person("nestor").press("Approve", where=LEGACY)
        await sb.run_jobs()
        await sb.run_jobs()
        assert not app_holds(sb, LEGACY, GLOBAL)
        assert app_holds(sb, LEGACY, APPLICATION_ADMIN)  # only what was asked for


async def test_an_app_assigned_outside_pim_has_no_fix_and_a_forged_one_is_refused(
    bot_box: Sandbox,
) -> None:
    """Computed, the fix of "Roles assigned outside PIM" converts to eligible, which PIM cannot do
    for an app: its row says so instead of offering Fix, and a Fix forged for it is refused in
    words, audited, and changes nothing."""
    message_id, page = await alert_page(bot_box, "Roles assigned outside PIM (4)")
    text = json.dumps(page, ensure_ascii=False)
    assert f"{LEGACY} — Application Administrator (assigned directly) — an app: PIM cannot" in text
    with pytest.raises(AssertionError, match="no Fix"):
        fix_button(page, LEGACY)
    lynne_fix = fix_button(page, "Lynne Robbins")
    lynne = tenant_id(bot_box, "lynne")
    sp = service_principal_id(bot_box.running.twins.tenant.app_principal(LEGACY).client_id)
    forged = json.loads(
        json.dumps(lynne_fix).replace(lynne, sp).replace(EXCHANGE, APPLICATION_ADMIN)
    )
    asked = await bot_box.client.press("megan", message_id, forged, None)  # Fix, forged
    shown = json.dumps(asked["response"]["value"], ensure_ascii=False)
    assert "No fix: an app: PIM cannot make it eligible" in shown
    assert "Confirm fix" not in shown
    forged["data"]["verb"] = forged["verb"] = "alerts.fix_confirm"
    await bot_box.client.press("megan", message_id, forged, None)  # Confirm, forged
    told = await bot_box.person("megan").told()
    assert f"{LEGACY} is an app (a service principal): PIM cannot make an app eligible" in told
    assert "standing.convert_refused" in await audit_actions(bot_box)
    assert app_holds(bot_box, LEGACY, APPLICATION_ADMIN)
    assert not bot_box.running.twins.graph.state.eligibility_requests
