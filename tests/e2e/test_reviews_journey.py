"""Access reviews end to end through HTTP on loopback: the demo tenant's review reaches its
reviewer as a card in Teams; Keep / Remove are recorded once and written to the Graph twin
(app-only on the bot engine, as the reviewer on the pim engine); every copy of the card shows
them; at the end the decisions are applied, the admins get a summary and the removed are told.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from bot.sandbox.graph.review_state import ReviewDecision, ReviewDefinition
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import Person, actions_of
from bot.sandbox.tenant import TenantGroup, load_tenant
from bot.store.schema import review_decisions
from tests.e2e.conftest import Sandbox
from tests.e2e.test_pim_engine_journey import zero_trust_tenant
from tests.support.clock import FakeClock
from tests.trust.door import BotDoor

EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"


@pytest.fixture
async def door(sandboxed: Sandbox) -> AsyncIterator[BotDoor]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield BotDoor(sandboxed.running, http)


def user_id(sb: Sandbox, handle: str) -> str:
    return sb.running.twins.tenant.user(handle).id


def demo_review(sb: Sandbox) -> ReviewDefinition:
    [definition] = [
        d for d in sb.running.twins.graph.state.access_reviews if d.seeded_from is not None
    ]
    return definition


def twin_item(sb: Sandbox, handle: str) -> ReviewDecision:
    instance = demo_review(sb).instances[-1]
    return next(d for d in instance.decisions if d.principal_id == user_id(sb, handle))


async def review_card(person: Person) -> tuple[str, dict[str, Any]]:
    for message in reversed(await person.messages()):
        for card in message["cards"]:
            if "Access review: Exchange Administrator" in json.dumps(card):
                return message["id"], card
    raise AssertionError(await person.chat_text())


async def press_on_row(
    sb: Sandbox, person: Person, title: str, handle: str, inputs: dict[str, str] | None = None
) -> dict[str, Any]:
    message_id, card = await review_card(person)
    item_id = twin_item(sb, handle).id
    for action in actions_of(card):
        if action["title"] == title and action.get("data", {}).get("item") == item_id:
            return await sb.client.press(person.handle, message_id, action, inputs)
    raise AssertionError(f"no {title} for {handle}: {json.dumps(card)[:3000]}")


async def settle(sb: Sandbox, rounds: int = 4) -> None:
    """Run what is due, a little later."""
    sb.clock.advance(timedelta(seconds=31))
    for _ in range(rounds):
        await sb.run_jobs()


async def test_the_reviewer_decides_in_teams_and_graph_applies_it_at_the_end(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    sb = sandboxed
    megan, diego = sb.person("megan"), sb.person("diego")
    await settle(sb)
    _, card = await review_card(megan)
    text = json.dumps(card, ensure_ascii=False)
    for name in ("Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie"):
        assert name in text
    assert "Kept by Megan Bowen" in text  # Alex, decided before pimbot saw the review
    assert "1 of 5 decided" in text

    # Remove needs a reason; with one it is recorded, then written to Graph app-only.
    await press_on_row(sb, megan, "Remove", "diego")
    assert "type a reason" in await megan.told()
    assert twin_item(sb, "diego").decision == "NotReviewed"
    answer = await press_on_row(sb, megan, "Remove", "diego", {"reason": "moved to sales"})
    assert answer["status"] == 200, answer
    await press_on_row(sb, megan, "Keep", "adele")
    sb.clock.advance(timedelta(seconds=30))  # Graph records the writes after the taps
    await settle(sb)
    assert twin_item(sb, "diego").decision == "Deny"
    assert twin_item(sb, "diego").justification == "moved to sales"
    assert twin_item(sb, "adele").decision == "Approve"
    # Drawn again after Graph has the app-written decisions: they still name Megan.
    await press_on_row(sb, megan, "Keep", "lynne")
    _, card = await review_card(megan)
    text = json.dumps(card, ensure_ascii=False)
    assert "Removed by Megan Bowen" in text and "4 of 5 decided" in text
    assert "pimbot" not in text

    # Not a reviewer: refused (and audited), nothing recorded.
    old_message, old_card = await review_card(megan)
    grady_keep = next(
        a
        for a in actions_of(old_card)
        if a["title"] == "Keep" and a.get("data", {}).get("item") == twin_item(sb, "grady").id
    )
    await sb.client.install("adele")
    answer = await door.post(door.execute("adele", grady_keep["data"]))
    assert "not a reviewer of this access review" in answer.body["value"]
    await settle(sb)
    assert twin_item(sb, "grady").decision == "NotReviewed"
    async with sb.running.services.db.transaction() as tx:
        entries = await tx.audit.entries()
    assert [e.action for e in entries if e.outcome == "refused"] == ["review.refused"]
    written = [e for e in entries if e.action == "review.decision_written"]
    assert sorted((e.details["decision"], e.details["written_as"]) for e in written) == [
        ("Approve", "app"),
        ("Approve", "app"),
        ("Deny", "app"),
    ]
    assert {e.actor_id for e in written} == {user_id(sb, "megan")}

    # The end: Graph stops and applies; Diego loses Exchange Administrator and is told.
    sb.clock.advance(timedelta(days=14, minutes=2))
    await settle(sb, 6)
    instance = demo_review(sb).instances[0]
    assert instance.status == "Applied"
    schedules = sb.running.twins.graph.state.schedules_of(
        "eligibility", user_id(sb, "diego"), EXCHANGE
    )
    assert schedules == []
    assert "removed your Exchange Administrator role" in await diego.told()
    summary = await megan.told()
    assert (
        "Access review of Exchange Administrator ended: 3 kept, 1 removed, 1 not reviewed"
        in summary
    )

    # Every copy now shows the end; a late tap (an old button) is answered with the outcome.
    _, card = await review_card(megan)
    assert "This review is over" in json.dumps(card)
    await sb.client.press("megan", old_message, grady_keep)
    assert "This access review is over. 3 kept, 1 removed, 1 not reviewed" in await megan.told()


async def test_an_admin_starts_a_review_and_lists_reviews(sandboxed: Sandbox) -> None:
    sb = sandboxed
    megan, adele = sb.person("megan"), sb.person("adele")
    await megan.say("review Security Reader every 90 days by megan@contoso.example")
    assert "Access review of Security Reader created" in await megan.told()
    created = [
        d for d in sb.running.twins.graph.state.access_reviews if d.role_id.startswith("5d6b6bb7")
    ]
    assert len(created) == 1
    assert created[0].settings["recurrence"]["pattern"]["type"] == "absoluteMonthly"
    await megan.say("review Security Reader every 10 days")
    assert "every so many weeks or months" in await megan.told()
    await adele.say("review Security Reader every 90 days")
    assert "you are not one of them" in await adele.told()
    await settle(sb)
    await megan.say("reviews")
    told = await megan.told()
    assert (
        "Security Reader access review" in told and "Exchange Administrator access review" in told
    )


@pytest.fixture
async def pim_reviews(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The pim engine: pimbot's app reads PIM only, and holds AccessReview.ReadWrite.All to
    create, stop and apply reviews; decisions are the reviewers' own."""
    tenant = zero_trust_tenant()
    app = tenant.apps[0]
    permissions = [*app.application_permissions, "AccessReview.ReadWrite.All"]
    app = app.model_copy(update={"application_permissions": permissions})
    clock = FakeClock()
    async with (
        sandbox(
            tenant=tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]}),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            engine="pim",
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def test_on_the_pim_engine_the_reviewer_decides_as_themselves(
    pim_reviews: Sandbox,
) -> None:
    sb = pim_reviews
    megan = sb.person("megan")
    await sb.client.install("megan")  # this app may not install itself for her
    await settle(sb)
    await press_on_row(sb, megan, "Remove", "diego", {"reason": "moved to sales"})
    await press_on_row(sb, megan, "Keep", "adele")
    await sb.run_jobs()  # no token of Megan's yet: she is asked to sign in
    await sb.client.wait_for("megan", "signed_in")
    await settle(sb)
    diego, adele = twin_item(sb, "diego"), twin_item(sb, "adele")
    assert (diego.decision, adele.decision) == ("Deny", "Approve")
    # Graph records Megan herself as the reviewer (PATCH with her delegated token).
    assert diego.reviewed_by is not None and diego.reviewed_by.id == user_id(sb, "megan")
    patches = [c for c in sb.graph_calls if c.method == "PATCH" and "/decisions/" in str(c.path)]
    assert len(patches) == 2
    assert not [c for c in sb.graph_calls if str(c.path).endswith("/batchRecordDecisions")]
    _, card = await review_card(megan)
    assert "Removed by Megan Bowen" in json.dumps(card, ensure_ascii=False)


async def test_silent_reviewers_are_reminded_and_escalated_to_the_admins(
    sandboxed: Sandbox,
) -> None:
    """Lidia reviews Security Reader and does not answer: at halfway the admins hear of it,
    a day before the end she gets a reminder (and Graph's sendReminder is called), and at the
    end the admins get the summary with everyone not reviewed."""
    sb = sandboxed
    megan, lidia, alex = sb.person("megan"), sb.person("lidia"), sb.person("alex")
    await megan.say("review Security Reader every 28 days for 14 days by lidia@contoso.example")
    assert "Access review of Security Reader created" in await megan.told()
    await settle(sb)
    assert "Access review: Security Reader" in await lidia.chat_text()

    sb.clock.advance(timedelta(days=7, minutes=1))
    await settle(sb)
    for admin in (megan, alex):
        assert "Lidia Holloway has not answered" in await admin.told()
    assert "Reminder" not in await lidia.told()

    sb.clock.advance(timedelta(days=6))
    await settle(sb)
    assert "⏰ Reminder: 2 decisions still open" in await lidia.told()
    [reviewed] = [
        d for d in sb.running.twins.graph.state.access_reviews if d.role_id.startswith("5d6b6bb7")
    ]
    reminders = [
        c
        for c in sb.graph_calls
        if str(c.path).endswith("/sendReminder") and reviewed.id in str(c.path)
    ]
    assert len(reminders) == 1

    sb.clock.advance(timedelta(days=1, minutes=2))
    await settle(sb, 6)
    assert "Security Reader ended: 0 kept, 0 removed, 2 not reviewed" in await alex.told()


async def test_without_named_reviewers_the_admin_group_reviews(sandboxed: Sandbox) -> None:
    sb = sandboxed
    megan, nestor = sb.person("megan"), sb.person("nestor")
    await megan.say("review Teams Admin every 4 weeks")
    await megan.say("review Teams Administrator every 28 days for 7 days")
    assert "reviewed by the pimbot admins" in await megan.told()
    await settle(sb)
    assert "Access review: Teams Administrator" in await nestor.chat_text()


async def test_a_decision_reaches_graph_once_across_replays_and_a_crash_after_the_write(
    sandboxed: Sandbox,
) -> None:
    sb = sandboxed
    megan = sb.person("megan")
    await settle(sb)
    await press_on_row(sb, megan, "Keep", "adele")
    await settle(sb)

    def writes() -> int:
        return sum(1 for c in sb.graph_calls if str(c.path).endswith("/batchRecordDecisions"))

    assert writes() == 1
    key = f"{demo_review(sb).id}/{demo_review(sb).instances[-1].id}"
    item_id = twin_item(sb, "adele").id
    db = sb.running.services.db
    # A replayed job (another replica, a retry): the decision is marked written; nothing sent.
    async with db.transaction() as tx:
        await tx.jobs.enqueue(
            "review_record",
            {"instance_key": key, "item_id": item_id},
            due_at=sb.clock(),
            dedupe_key="replay-1",
        )
    await settle(sb)
    assert writes() == 1
    # A crash after Graph took the write but before pimbot marked it: Graph is read first.
    async with db.transaction() as tx:
        await tx.reviews._connection.execute(update(review_decisions).values(written_at=None))
        await tx.jobs.enqueue(
            "review_record",
            {"instance_key": key, "item_id": item_id},
            due_at=sb.clock(),
            dedupe_key="replay-2",
        )
    await settle(sb)
    assert writes() == 1
    async with db.transaction() as tx:
        entries = await tx.audit.entries()
    assert len([e for e in entries if e.action == "review.decision_written"]) == 2


async def test_every_copy_shows_each_decision_wherever_it_was_made(sandboxed: Sandbox) -> None:
    """Megan and Nestor both review Security Reader: Megan's Keep shows on Nestor's card, and a
    decision Nestor makes in the Entra portal shows on both after the next scan."""
    sb = sandboxed
    megan, nestor = sb.person("megan"), sb.person("nestor")
    await megan.say(
        "review Security Reader every 28 days by megan@contoso.example, nestor@contoso.example"
    )
    await settle(sb)
    [definition] = [
        d for d in sb.running.twins.graph.state.access_reviews if d.role_id.startswith("5d6b6bb7")
    ]
    instance = definition.instances[-1]
    adele_item = next(d for d in instance.decisions if d.principal_id == user_id(sb, "adele"))
    megan_item = next(d for d in instance.decisions if d.principal_id == user_id(sb, "megan"))

    message_id, card = await security_card(megan)
    keep = next(
        a
        for a in actions_of(card)
        if a["title"] == "Keep" and a.get("data", {}).get("item") == adele_item.id
    )
    await sb.client.press("megan", message_id, keep)
    await settle(sb)
    _, nestors = await security_card(nestor)
    assert "Kept by Megan Bowen" in json.dumps(nestors, ensure_ascii=False)

    # Nestor decides Megan's own row in the portal (his own token, straight to Graph).
    twins = sb.running.twins
    tenant, app = twins.tenant, twins.tenant.apps[0]
    async with httpx.AsyncClient() as http:
        sso = twins.entra.mint_sso_token("nestor", audience_app_id=app.client_id, mfa=True)
        issued = await http.post(
            f"{twins.login_url}/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "requested_token_use": "on_behalf_of",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "assertion": sso,
                "scope": "https://graph.microsoft.com/AccessReview.ReadWrite.All",
            },
        )
        token = issued.raise_for_status().json()["access_token"]
        answer = await http.patch(
            f"{twins.graph_url}/v1.0/identityGovernance/accessReviews/definitions/"
            f"{definition.id}/instances/{instance.id}/decisions/{megan_item.id}",
            json={"decision": "Deny", "justification": "no longer on call"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 204, answer.text
    sb.clock.advance(timedelta(minutes=6))
    await settle(sb)
    for person in (megan, nestor):
        _, card = await security_card(person)
        assert "Removed by Nestor Wilke" in json.dumps(card, ensure_ascii=False)


async def security_card(person: Person) -> tuple[str, dict[str, Any]]:
    for message in reversed(await person.messages()):
        for card in message["cards"]:
            if "Access review: Security Reader" in json.dumps(card):
                return message["id"], card
    raise AssertionError(await person.chat_text())


# --- reviewers: managers (with fallback reviewers) and a named group ---------------------------


def created_review(sb: Sandbox, role_id: str) -> ReviewDefinition:
    [definition] = [
        d
        for d in sb.running.twins.graph.state.access_reviews
        if d.seeded_from is None and d.role_id == role_id
    ]
    return definition


def item_of(definition: ReviewDefinition, principal_id: str) -> ReviewDecision:
    return next(d for d in definition.instances[-1].decisions if d.principal_id == principal_id)


async def card_of(person: Person, definition: ReviewDefinition) -> tuple[str, dict[str, Any]]:
    """The person's newest card of this review (its buttons name the definition)."""
    for message in reversed(await person.messages()):
        for card in message["cards"]:
            if any(a.get("data", {}).get("definition") == definition.id for a in actions_of(card)):
                return message["id"], card
    raise AssertionError(await person.chat_text())


async def press_item(
    sb: Sandbox,
    person: Person,
    definition: ReviewDefinition,
    title: str,
    handle: str,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any]:
    message_id, card = await card_of(person, definition)
    item_id = item_of(definition, user_id(sb, handle)).id
    for action in actions_of(card):
        if action["title"] == title and action.get("data", {}).get("item") == item_id:
            return await sb.client.press(person.handle, message_id, action, inputs)
    raise AssertionError(f"no {title} for {handle}: {json.dumps(card)[:3000]}")


async def rows_of(person: Person, definition: ReviewDefinition) -> set[str]:
    _, card = await card_of(person, definition)
    text = json.dumps(card, ensure_ascii=False)
    names = ("Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Lynne Robbins")
    return {name for name in names if name in text}


async def test_managers_review_their_reports_and_the_fallback_reviewer_the_rest(
    sandboxed: Sandbox, door: BotDoor
) -> None:
    """Exchange Administrator by managers: Megan gets Adele and Alex (her reports), Nestor gets
    Diego, Miriam Grady; Lynne has no manager, so the fallback reviewer Lidia gets her. Each
    decides only their own rows; pimbot writes app-only and names the reviewer in its audit."""
    sb = sandboxed
    megan, nestor, lidia, miriam = (sb.person(h) for h in ("megan", "nestor", "lidia", "miriam"))
    await megan.say(
        "review Exchange Administrator every 90 days by managers else lidia@contoso.example"
    )
    assert (
        "reviewed by each person's manager (and the people you named for people without one)"
        in (await megan.told())
    )
    definition = created_review(sb, EXCHANGE)
    assert definition.reviewers == [
        {"query": "./manager", "queryType": "MicrosoftGraph", "queryRoot": "decisions"}
    ]
    assert definition.fallback_reviewers == [
        {"query": f"/users/{user_id(sb, 'lidia')}", "queryType": "MicrosoftGraph"}
    ]
    await settle(sb)
    assert await rows_of(megan, definition) == {"Adele Vance", "Alex Wilber"}
    assert await rows_of(nestor, definition) == {"Diego Siciliani"}
    nestors_first, _ = await card_of(nestor, definition)
    assert {m["id"]: m["text"] for m in await nestor.messages()}[nestors_first] == (
        "Access review of Exchange Administrator: 1 decision waiting for you"
    )
    assert await rows_of(miriam, definition) == {"Grady Archie"}
    assert await rows_of(lidia, definition) == {"Lynne Robbins"}
    _, card = await card_of(megan, definition)
    assert "0 of 2 decided" in json.dumps(card)

    await press_item(sb, megan, definition, "Keep", "adele")
    await press_item(sb, lidia, definition, "Remove", "lynne", {"reason": "no longer on call"})
    # Megan taps a row that is Nestor's (a forged press with his card's button): refused.
    nestors_message, nestors_card = await card_of(nestor, definition)
    diego_keep = next(
        a
        for a in actions_of(nestors_card)
        if a["title"] == "Keep"
        and a.get("data", {}).get("item") == item_of(definition, user_id(sb, "diego")).id
    )
    answer = await door.post(door.execute("megan", diego_keep["data"]))
    assert "You do not review Diego Siciliani" in answer.body["value"]
    await sb.client.press("nestor", nestors_message, diego_keep)
    sb.clock.advance(timedelta(seconds=30))
    await settle(sb)
    decided = {
        h: item_of(definition, user_id(sb, h)).decision
        for h in ("adele", "alex", "diego", "grady", "lynne")
    }
    assert decided == {
        "adele": "Approve",
        "alex": "NotReviewed",
        "diego": "Approve",
        "grady": "NotReviewed",
        "lynne": "Deny",
    }
    async with sb.running.services.db.transaction() as tx:
        entries = await tx.audit.entries()
    refused = [e for e in entries if e.action == "review.refused"]
    assert [(e.actor_id, e.reason) for e in refused] == [
        (user_id(sb, "megan"), "not a reviewer of this item")
    ]
    written = {
        e.details["principal_id"]: (e.actor_id, e.details["written_as"])
        for e in entries
        if e.action == "review.decision_written"
    }
    assert written == {
        user_id(sb, "adele"): (user_id(sb, "megan"), "app"),
        user_id(sb, "diego"): (user_id(sb, "nestor"), "app"),
        user_id(sb, "lynne"): (user_id(sb, "lidia"), "app"),
    }
    # Each card counts its own rows; "Keep all recommended" keeps only the presser's rows.
    _, card = await card_of(megan, definition)
    assert "1 of 2 decided" in json.dumps(card)
    message_id, card = await card_of(miriam, definition)
    keep_all = next(a for a in actions_of(card) if a["title"].startswith("Keep all"))
    await sb.client.press("miriam", message_id, keep_all)
    async with sb.running.services.db.transaction() as tx:
        ours = await tx.reviews.decisions(
            f"{definition.id}/{definition.instances[-1].id}", sb.running.twins.tenant.tenant_id
        )
    assert {d.principal_id for d in ours.values() if d.reviewer.id == user_id(sb, "miriam")} == {
        user_id(sb, "grady")
    }

    # Follow-through per reviewer: at halfway every reviewer has answered, so the admins hear
    # nothing; a day before the end only Megan has a row open (Alex), and only she is reminded.
    sb.clock.advance(timedelta(days=7, minutes=1))
    await settle(sb)
    assert "has not answered" not in await sb.person("alex").told()
    sb.clock.advance(timedelta(days=6))
    await settle(sb)
    assert "⏰ Reminder: 1 decision still open" in await megan.told()
    for reviewer in (nestor, lidia, miriam):
        assert "Reminder" not in await reviewer.told()


async def test_on_the_pim_engine_a_manager_decides_their_reports_as_themselves(
    pim_reviews: Sandbox,
) -> None:
    sb = pim_reviews
    megan, nestor = sb.person("megan"), sb.person("nestor")
    for handle in ("megan", "nestor"):
        await sb.client.install(handle)  # this app may not install itself for them
    await megan.say("review Exchange Administrator every 90 days by managers")
    assert "reviewed by each person's manager (and the pimbot admins" in await megan.told()
    definition = created_review(sb, EXCHANGE)
    admins = sb.running.twins.tenant.group("pimbot Admins").id
    assert definition.fallback_reviewers == [
        {"query": f"/groups/{admins}/transitiveMembers", "queryType": "MicrosoftGraph"}
    ]
    await settle(sb)
    # Lynne has no manager: the admins (Megan, Alex, Nestor) review her.
    assert await rows_of(nestor, definition) == {"Diego Siciliani", "Lynne Robbins"}
    assert await rows_of(megan, definition) == {"Adele Vance", "Alex Wilber", "Lynne Robbins"}
    assert await rows_of(sb.person("alex"), definition) == {"Lynne Robbins"}
    await press_item(sb, nestor, definition, "Remove", "diego", {"reason": "moved to sales"})
    await sb.run_jobs()  # no token of Nestor's yet: he is asked to sign in
    await sb.client.wait_for("nestor", "signed_in")
    await settle(sb)
    diego = item_of(definition, user_id(sb, "diego"))
    assert diego.decision == "Deny"
    assert diego.reviewed_by is not None and diego.reviewed_by.id == user_id(sb, "nestor")
    patches = [c for c in sb.graph_calls if c.method == "PATCH" and "/decisions/" in str(c.path)]
    assert len(patches) == 1
    # Megan may not decide Grady's row (Miriam's report): refused before anything reaches Graph.
    _, miriams_card = await card_of(sb.person("miriam"), definition)
    grady_keep = next(
        a
        for a in actions_of(miriams_card)
        if a["title"] == "Keep"
        and a.get("data", {}).get("item") == item_of(definition, user_id(sb, "grady")).id
    )
    async with httpx.AsyncClient(timeout=60) as http:
        answer = await BotDoor(sb.running, http).post(
            BotDoor(sb.running, http).execute("megan", grady_keep["data"])
        )
    assert "You do not review Grady Archie" in answer.body["value"]
    await settle(sb)
    assert item_of(definition, user_id(sb, "grady")).decision == "NotReviewed"


@pytest.fixture
async def two_identity_teams(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The demo tenant (bot engine) with a second group called Identity Team."""
    tenant = load_tenant()
    twin_team = TenantGroup(
        id="5f1c2b7a-9d3e-4e8f-a6b1-0c2d3e4f5a6b", display_name="Identity Team", members=["lee"]
    )
    clock = FakeClock()
    async with (
        sandbox(
            tenant=tenant.model_copy(update={"groups": [*tenant.groups, twin_team]}),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def test_a_named_group_reviews_and_bad_reviewers_are_answered_clearly(
    two_identity_teams: Sandbox,
) -> None:
    sb = two_identity_teams
    megan, alex, johanna = sb.person("megan"), sb.person("alex"), sb.person("johanna")
    team = next(g for g in sb.running.twins.tenant.groups if g.display_name == "Identity Team")
    asks = {
        "review Security Reader every 28 days by group Identity Team": (
            f"More than one group is called “Identity Team”: Identity Team ({team.id})"
        ),
        "review Security Reader every 28 days by group Night Shift": (
            "I found no group called “Night Shift” to review. Nothing created."
        ),
        "review Security Reader every 28 days by managers megan@contoso.example": (
            "say `by managers`, or `by managers else UPN`"
        ),
        "review Security Reader every 28 days by managers else group Night Shift": (
            "I found no group called “Night Shift”"
        ),
        "review Security Reader every 28 days by megan@contoso.example, managers": (
            "Managers review on their own"
        ),
        "review Security Reader every 28 days by nobody@contoso.example": "I found nobody called",
    }
    for text, answer in asks.items():
        await megan.say(text)
        last = (await megan.messages())[-1]["text"]
        assert answer in last and "Nothing created." in last, (text, last)
    assert [d for d in sb.running.twins.graph.state.access_reviews if d.seeded_from is None] == []
    await megan.say("review help")
    usage = (await megan.messages())[-1]["text"]
    assert "`by group NAME`" in usage and "`by managers`" in usage and "else UPN" in usage

    await megan.say(f"review Security Reader every 28 days by group {team.id}")
    assert "reviewed by the members of Identity Team" in await megan.told()
    definition = created_review(sb, SECURITY_READER)
    assert definition.reviewers == [
        {"query": f"/groups/{team.id}/transitiveMembers", "queryType": "MicrosoftGraph"}
    ]
    await settle(sb)
    # Every member reviews every row (Adele and Megan hold Security Reader).
    for person in (alex, johanna):
        _, card = await card_of(person, definition)
        text = json.dumps(card, ensure_ascii=False)
        assert "Adele Vance" in text and "Megan Bowen" in text
    megan_item = item_of(definition, user_id(sb, "megan")).id
    message_id, card = await card_of(johanna, definition)
    keep = next(
        a
        for a in actions_of(card)
        if a["title"] == "Keep" and a.get("data", {}).get("item") == megan_item
    )
    await sb.client.press("johanna", message_id, keep)
    sb.clock.advance(timedelta(seconds=30))
    await settle(sb)
    assert item_of(definition, user_id(sb, "megan")).decision == "Approve"
    _, card = await card_of(alex, definition)
    assert "Kept by Johanna Lorenz" in json.dumps(card, ensure_ascii=False)
    # Lee is in the other Identity Team, not this one: not a reviewer.
    await sb.client.install("lee")
    async with httpx.AsyncClient(timeout=60) as http:
        door = BotDoor(sb.running, http)
        answer = await door.post(door.execute("lee", keep["data"]))
    assert "not a reviewer of this access review" in answer.body["value"]
