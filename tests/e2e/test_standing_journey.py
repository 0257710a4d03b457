"""`standing` end to end through HTTP on loopback (bot engine): an admin lists standing access in
the demo tenant and converts it to eligible in the Graph twin; non-admins are refused; Global
Administrator needs a second admin and is never left to the break-glass accounts alone; apps
(service principals) holding roles are listed as apps, and never converted (PIM cannot make an
app eligible)."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.entra import service_principal_id
from bot.sandbox.teams.person import Person, actions_of
from tests.e2e.conftest import Sandbox
from tests.e2e.test_pim_engine_journey import activate_in_the_portal, pim_box  # noqa: F401

GLOBAL = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
SECURITY = "194ae4cb-b126-40b2-bd5b-6091b380977d"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"


def tenant_id(sb: Sandbox, handle: str) -> str:
    return sb.running.twins.tenant.user(handle).id


def twin_schedules(sb: Sandbox, handle: str, role_id: str) -> set[str]:
    """The kinds of schedules ("eligibility", "assignment") the twin holds for the person now."""
    user_id = tenant_id(sb, handle)
    now = sb.clock()
    return {
        s.kind
        for s in sb.running.twins.graph.state.schedules
        if s.principal_id == user_id and s.role_id == role_id and s.in_force(now)
    }


async def standing_card(admin: Person) -> tuple[str, dict[str, Any]]:
    for message in reversed(await admin.messages()):
        for card in message["cards"]:
            if "Standing access" in json.dumps(card):
                return message["id"], card
    raise AssertionError(await admin.chat_text())


async def convert(sb: Sandbox, admin: Person, handle: str, role_id: str) -> dict[str, Any]:
    """Press "Convert to eligible" on the row of `handle`'s `role_id`."""
    message_id, card = await standing_card(admin)
    user_id = tenant_id(sb, handle)
    for action in actions_of(card):
        data = action.get("data", {})
        if data.get("principal_id") == user_id and data.get("role_id") == role_id:
            return await sb.client.press(admin.handle, message_id, action)
    raise AssertionError(f"no Convert button for {handle}: {json.dumps(card)[:2000]}")


async def test_an_admin_lists_standing_access_riskiest_first(sandboxed: Sandbox) -> None:
    megan = sandboxed.person("megan")
    await megan.say("standing")
    _, card = await standing_card(megan)
    text = json.dumps(card, ensure_ascii=False)
    assert "4 permanent Global Administrators: more than 2" in text
    assert text.count("Kept: a break-glass account") == 2
    names = ("Miriam Graham", "Joni Sherman", "Grady Archie", "Pradeep Gupta", "Isaiah Langer")
    assert [text.index(n) for n in names] == sorted(text.index(n) for n in names)
    assert "assigned directly, outside PIM" in text


async def test_a_non_admin_is_refused_and_nothing_is_listed(sandboxed: Sandbox) -> None:
    adele = sandboxed.person("adele")
    await adele.say("standing access")
    told = await adele.chat_text()
    assert "for pimbot's admins, and you are not one of them" in told
    assert "Standing access:" not in told


async def test_an_admin_converts_standing_exchange_admin_to_eligible(sandboxed: Sandbox) -> None:
    megan, grady = sandboxed.person("megan"), sandboxed.person("grady")
    await megan.say("standing")
    assert twin_schedules(sandboxed, "grady", EXCHANGE) == {"assignment"}
    pressed = await convert(sandboxed, megan, "grady", EXCHANGE)
    assert pressed["status"] == 200, pressed
    await sandboxed.run_jobs()
    await sandboxed.run_jobs()
    assert twin_schedules(sandboxed, "grady", EXCHANGE) == {"eligibility"}
    assert "activate Exchange Administrator" in await grady.chat_text()
    assert "Done: Convert Grady Archie" in await megan.chat_text()


async def test_global_admin_needs_a_second_admin_and_keeps_one_besides_break_glass(
    sandboxed: Sandbox,
) -> None:
    megan, alex = sandboxed.person("megan"), sandboxed.person("alex")
    await megan.say("standing")
    await convert(sandboxed, megan, "miriam", GLOBAL)
    await sandboxed.run_jobs()
    assert twin_schedules(sandboxed, "miriam", GLOBAL) == {"assignment"}
    assert "needs a second admin" in await megan.told()
    await alex.press("Approve", where="Miriam Graham")
    await sandboxed.run_jobs()
    await sandboxed.run_jobs()
    assert twin_schedules(sandboxed, "miriam", GLOBAL) == {"eligibility"}
    await megan.say("standing")
    await convert(sandboxed, megan, "lee", GLOBAL)
    assert "only active Global Administrators would be the break-glass accounts" in (
        await megan.told()
    )
    assert twin_schedules(sandboxed, "lee", GLOBAL) == {"assignment"}


async def test_on_the_pim_engine_the_admin_converts_with_their_own_token(
    pim_box: Sandbox,  # noqa: F811
) -> None:
    """The app only reads: the conversion's two writes are made with Megan's own delegated token
    (she signs in when pimbot asks), so PIM records her as the admin who made them."""
    megan = pim_box.person("megan")
    await activate_in_the_portal(pim_box, "megan", PRIVILEGED_ROLE_ADMINISTRATOR, "PT2H")
    await megan.say("standing")
    await convert(pim_box, megan, "grady", EXCHANGE)
    await pim_box.run_jobs()
    await pim_box.client.wait_for("megan", "signed_in")
    await pim_box.run_jobs()
    assert twin_schedules(pim_box, "grady", EXCHANGE) == {"eligibility"}
    megan_id = tenant_id(pim_box, "megan")
    made = [
        r
        for r in pim_box.running.twins.graph.state.eligibility_requests
        if r.principal_id == tenant_id(pim_box, "grady")
    ]
    assert [(r.action, r.created_by_user.id if r.created_by_user else None) for r in made] == [
        ("adminAssign", megan_id)
    ]
    removed = [
        r
        for r in pim_box.running.twins.graph.state.requests
        if r.action == "adminRemove" and r.principal_id == tenant_id(pim_box, "grady")
    ]
    assert [r.created_by_user.id if r.created_by_user else None for r in removed] == [megan_id]
    assert "Done as you" in await megan.told()


async def test_graph_throttling_during_a_conversion_is_waited_out_and_it_happens_once(
    sandboxed: Sandbox,
) -> None:
    megan = sandboxed.person("megan")
    await megan.say("standing")
    await convert(sandboxed, megan, "joni", SECURITY)
    sandboxed.running.twins.graph.throttle(2, retry_after=1)
    for _ in range(5):
        await sandboxed.run_jobs()
        sandboxed.clock.advance(seconds=40)
    assert twin_schedules(sandboxed, "joni", SECURITY) == {"eligibility"}
    writes = [
        c
        for c in sandboxed.graph_calls
        if c.method == "POST" and c.status == 201 and "ScheduleRequests" in c.path
    ]
    assert len(writes) == 2  # one eligibility made, one assignment removed
    assert "Done: Convert Joni Sherman" in await megan.chat_text()


async def test_the_other_admins_card_shows_the_decision_when_they_look(sandboxed: Sandbox) -> None:
    """Before pimbot's update reaches Nestor's card (its job has not run yet), Teams' refresh
    shows him the decision as soon as he looks."""
    megan, alex, nestor = (sandboxed.person(h) for h in ("megan", "alex", "nestor"))
    await megan.say("standing")
    await convert(sandboxed, megan, "miriam", GLOBAL)
    await sandboxed.run_jobs()
    await alex.press("Approve", where="Miriam Graham")
    [message] = [m for m in await nestor.messages() if "Miriam Graham" in json.dumps(m["cards"])]
    assert not message["edited"]
    seen = await sandboxed.client.refresh("nestor", message["id"])
    assert seen["refreshed"], seen
    now_shows = json.dumps([m["cards"] for m in await nestor.messages()])
    assert "Approved, being carried out" in now_shows and "Alex Wilber" in now_shows
    assert "Approve" not in await nestor.buttons()


async def test_on_the_pim_engine_an_admin_without_an_active_admin_role_is_told_what_to_do(
    pim_box: Sandbox,  # noqa: F811
) -> None:
    megan = pim_box.person("megan")
    await megan.say("standing")
    await convert(pim_box, megan, "grady", EXCHANGE)
    await pim_box.run_jobs()
    await pim_box.client.wait_for("megan", "signed_in")
    await pim_box.run_jobs()
    told = await megan.told()
    assert "need an active Privileged Role Administrator or Global Administrator role" in told
    assert "Nothing was changed" in told
    assert twin_schedules(pim_box, "grady", EXCHANGE) == {"assignment"}


async def four_eyes_card(admin: Person, title: str) -> dict[str, Any]:
    """The one message of `admin`'s chat whose card is about the change titled `title`."""
    found = [m for m in await admin.messages() if title in json.dumps(m["cards"])]
    assert len(found) == 1, [m["cards"] for m in found]
    return found[0]


MIRIAM_GA = "Miriam Graham's standing Global Administrator to eligible"


async def test_a_decision_and_its_outcome_update_every_admins_card_at_once(
    sandboxed: Sandbox,
) -> None:
    """Nobody has to look: once Alex approves and the change is done, Nestor's card (the admin
    who did not decide), Alex's and Megan's (the admin who asked) are updated in place."""
    megan, alex, nestor = (sandboxed.person(h) for h in ("megan", "alex", "nestor"))
    await megan.say("standing")
    await convert(sandboxed, megan, "miriam", GLOBAL)
    await sandboxed.run_jobs()
    asked = await four_eyes_card(megan, MIRIAM_GA)
    assert "Waiting for a second admin" in json.dumps(asked["cards"])
    assert "Approve" in await nestor.buttons()

    await alex.press("Approve", where="Miriam Graham", inputs={"reason": "audit finding 7"})
    while await sandboxed.run_jobs():
        pass

    assert twin_schedules(sandboxed, "miriam", GLOBAL) == {"eligibility"}
    for admin in (nestor, alex, megan):
        message = await four_eyes_card(admin, MIRIAM_GA)
        shows = json.dumps(message["cards"])
        assert message["edited"], admin.handle
        assert '"Done"' in shows and "Alex Wilber" in shows and "audit finding 7" in shows
    assert "Approve" not in await nestor.buttons()


async def test_a_tap_on_a_stale_card_gets_the_card_as_it_is_now(sandboxed: Sandbox) -> None:
    megan, alex = sandboxed.person("megan"), sandboxed.person("alex")
    nestor = sandboxed.person("nestor")
    await megan.say("standing")
    await convert(sandboxed, megan, "miriam", GLOBAL)
    await sandboxed.run_jobs()
    message = await four_eyes_card(nestor, MIRIAM_GA)
    deny = next(a for a in actions_of(message["cards"][0]) if a.get("title") == "Deny")
    await alex.press("Approve", where="Miriam Graham")
    answer = await sandboxed.client.press("nestor", message["id"], deny, {"reason": "too late"})
    assert answer["status"] == 200, answer
    shows = json.dumps((await four_eyes_card(nestor, MIRIAM_GA))["cards"])
    assert "Approved, being carried out" in shows and "Alex Wilber" in shows
    assert "Approve" not in await nestor.buttons()
    async with sandboxed.running.services.db.transaction() as tx:
        (change,) = await tx.admin_changes.for_target(
            f"standing.convert:{tenant_id(sandboxed, 'miriam')}:{GLOBAL}"
        )
    assert change.decided_by is not None and change.decided_by.display_name == "Alex Wilber"


async def test_on_the_pim_engine_every_card_shows_the_change_done_as_the_deciding_admin(
    pim_box: Sandbox,  # noqa: F811
) -> None:
    """Nestor asks, Megan approves and signs in: the change is carried out with her token, and
    Alex's, Nestor's and Megan's cards are updated in place to show it done, decided by her."""
    nestor, megan, alex = (pim_box.person(h) for h in ("nestor", "megan", "alex"))
    await activate_in_the_portal(pim_box, "megan", PRIVILEGED_ROLE_ADMINISTRATOR, "PT2H")
    await nestor.say("standing")
    await convert(pim_box, nestor, "miriam", GLOBAL)
    await pim_box.run_jobs()
    await megan.press("Approve", where="Miriam Graham", inputs={"reason": "audit finding 7"})
    await pim_box.run_jobs()
    await pim_box.client.wait_for("megan", "signed_in")
    while await pim_box.run_jobs():
        pass

    assert twin_schedules(pim_box, "miriam", GLOBAL) == {"eligibility"}
    for admin in (alex, nestor, megan):
        message = await four_eyes_card(admin, MIRIAM_GA)
        shows = json.dumps(message["cards"])
        assert message["edited"], admin.handle
        assert '"Done"' in shows and "Megan Bowen" in shows, (admin.handle, shows)


# --- apps (service principals) holding roles ----------------------------------------------------

APPLICATION_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def app_principal_id(sb: Sandbox, name: str) -> str:
    """The object id of the app's service principal in the Graph twin."""
    return service_principal_id(sb.running.twins.tenant.app_principal(name).client_id)


async def every_standing_page(admin: Person) -> list[str]:
    """The text of each page of the newest `standing` card, turned with Next."""
    _, card = await standing_card(admin)
    pages = [json.dumps(card, ensure_ascii=False)]
    while "Next" in [a["title"] for a in actions_of(card)] and len(pages) < 5:
        pressed = await admin.press("Next", where="Standing access")
        card = pressed["response"]["value"]
        pages.append(json.dumps(card, ensure_ascii=False))
    return pages


async def assert_apps_listed_as_apps(sb: Sandbox, *, sign_ins: bool) -> None:
    """`sign_ins`: pimbot's app may read sign-in activity (AuditLog.Read.All)."""
    megan = sb.person("megan")
    await megan.say("standing")
    pages = await every_standing_page(megan)
    text = "\n".join(pages)
    assert "Standing access: 11 assignments" in text
    assert "Contoso HR Sync (app)" in text
    assert "Legacy Provisioning Script (app)" in text
    refused = "Not known: apps' last sign-in (Graph refused reports/servicePrincipalSignIn"
    if sign_ins:  # each with the last sign-in of the service principal sign-in activity report
        assert "last sign-in 2026-12-05" in text
        assert "last sign-in 2026-04-20" in text
        assert refused not in text
    else:  # Graph refused the report (403): said so, and the rest is listed as it is
        assert refused in text
        assert "last sign-in 2026-04-20" not in text
    # Sorted by risk with the people: User Administrator before Application Administrator.
    assert text.index("Contoso HR Sync") < text.index("Isaiah Langer")
    assert text.count("an app cannot be made eligible in PIM") == 2
    # Read afresh for each page (as the rest is): one call each, not one per app.
    calls = [c.path for c in sb.graph_calls if c.path.endswith("servicePrincipalSignInActivities")]
    assert len(pages) == 2
    assert calls == ["/beta/reports/servicePrincipalSignInActivities"] * len(pages)


async def test_apps_holding_roles_are_listed_as_apps_with_their_last_sign_in(
    sandboxed: Sandbox,
) -> None:
    await assert_apps_listed_as_apps(sandboxed, sign_ins=True)
    _, card = await standing_card(sandboxed.person("megan"))
    apps = {
        app_principal_id(sandboxed, n) for n in ("Contoso HR Sync", "Legacy Provisioning Script")
    }
    converts = [a.get("data", {}).get("principal_id") for a in actions_of(card)]
    assert apps.isdisjoint(converts)


async def test_on_the_pim_engine_apps_are_listed_as_apps_too(
    pim_box: Sandbox,  # noqa: F811
) -> None:
    """Its app reads no sign-in activity (no AuditLog.Read.All): the card says so."""
    await assert_apps_listed_as_apps(pim_box, sign_ins=False)


async def test_a_convert_forged_for_an_app_is_refused_in_words_and_audited(
    sandboxed: Sandbox,
) -> None:
    megan = sandboxed.person("megan")
    await megan.say("standing")
    message_id, card = await standing_card(megan)
    grady = tenant_id(sandboxed, "grady")
    real = next(a for a in actions_of(card) if a.get("data", {}).get("principal_id") == grady)
    hr_sync = app_principal_id(sandboxed, "Contoso HR Sync")
    forged = json.loads(json.dumps(real).replace(grady, hr_sync).replace(EXCHANGE, USER_ADMIN))
    await sandboxed.client.press("megan", message_id, forged)
    told = await megan.told()
    assert "Contoso HR Sync is an app (a service principal): PIM cannot make an app eligible" in (
        told
    )
    async with sandboxed.running.services.db.transaction() as tx:
        refused = [e for e in await tx.audit.entries() if e.action == "standing.convert_refused"]
    assert [(e.outcome, e.details.get("principal_id")) for e in refused] == [("refused", hr_sync)]
    state = sandboxed.running.twins.graph.state
    assert not [r for r in state.eligibility_requests if r.principal_id == hr_sync]
    now = sandboxed.clock()
    assert [s.kind for s in state.schedules if s.principal_id == hr_sync and s.in_force(now)] == [
        "assignment"
    ]
