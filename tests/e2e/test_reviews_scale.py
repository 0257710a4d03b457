"""An access review of 500 assignments end to end through HTTP (bot engine): the reviewer's card
is paged, every page stays under Teams' card size limit, "Keep all recommended" records each
recommended row once and each reaches the Graph twin once. Reviewed by managers, each of ten
managers gets a card of their own fifty reports, and the fallback reviewer the people without
a manager."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.person import actions_of
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from cards.governance.reviews import PAGE_SIZE, TEAMS_CARD_LIMIT
from tests.e2e.conftest import Sandbox
from tests.e2e.test_pim_engine_journey import READ_ONLY_APP
from tests.support.clock import FakeClock

PEOPLE = 500
MANAGERS = 10
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"


def crowded_tenant(now: datetime, *, managers: bool = False) -> DemoTenant:
    """The demo tenant plus 500 people eligible for Security Reader; every other one signed in
    recently (Graph recommends keeping them), the rest never. With `managers`: ten managers
    (lead01 … lead10), reader n reporting to lead((n - 1) % 10 + 1), except every 50th reader,
    who has no manager."""
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    for m in range(1, MANAGERS + 1 if managers else 1):
        data["users"].append(
            {
                "handle": f"lead{m:02d}",
                "id": f"00000000-0000-4000-8000-{m:012d}",
                "display_name": f"Lead {m:02d}",
            }
        )
    for n in range(1, PEOPLE + 1):
        user: dict[str, Any] = {
            "handle": f"reader{n:03d}",
            "id": f"00000000-0000-4000-9000-{n:012d}",
            "display_name": f"Reader {n:03d} with a rather long display name for the card",
        }
        if n % 2 == 0:
            user["last_sign_in"] = (now - timedelta(days=2)).isoformat()
        if managers and n % 50:
            user["manager"] = f"lead{(n - 1) % MANAGERS + 1:02d}"
        data["users"].append(user)
        data["eligibilities"].append({"user": user["handle"], "role": "Security Reader"})
    return DemoTenant.model_validate(data)


@pytest.fixture(params=["bot", "pim"])
async def crowded(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    tenant = crowded_tenant(clock())
    if request.param == "pim":  # the app reads PIM only, and runs the reviews
        app = tenant.apps[0]
        permissions = [*READ_ONLY_APP, "AccessReview.ReadWrite.All"]
        app = app.model_copy(update={"application_permissions": permissions})
        tenant = tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})
    async with (
        sandbox(
            tenant=tenant,
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            engine=request.param,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


def review_card_of(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    for message in reversed(messages):
        for card in message["cards"]:
            if "Access review: Security Reader" in json.dumps(card):
                return message["id"], card
    raise AssertionError("no Security Reader review card")


async def test_a_review_of_500_assignments_is_paged_and_kept_as_recommended_once(
    crowded: Sandbox,
) -> None:
    sb = crowded
    megan = sb.person("megan")
    await sb.client.install("megan")
    pim = sb.running.services.settings.engine.value == "pim"
    await megan.say("review Security Reader every 90 days by megan@contoso.example")
    sb.clock.advance(seconds=31)  # past the first scan's startup grace
    for _ in range(3):
        await sb.run_jobs()
    _, card = review_card_of(await megan.messages())
    total = PEOPLE + 2  # and Adele and Megan, eligible in the demo tenant
    pages = -(-total // PAGE_SIZE)
    assert f"0 of {total} decided · page 1 of {pages}" in json.dumps(card, ensure_ascii=False)

    sizes = [len(json.dumps(card).encode())]
    for _ in range(pages - 1):
        await megan.press("Next", where="Access review: Security Reader")
        _, card = review_card_of(await megan.messages())
        sizes.append(len(json.dumps(card).encode()))
    assert f"page {pages} of {pages}" in json.dumps(card)
    assert max(sizes) < TEAMS_CARD_LIMIT, max(sizes)

    message_id, card = review_card_of(await megan.messages())
    keep_all = next(a for a in actions_of(card) if a["title"] == "Keep all recommended")
    await sb.client.press("megan", message_id, keep_all)
    twice = await sb.client.press("megan", message_id, keep_all)  # a double tap
    assert twice["status"] == 200
    for _ in range(3):
        await sb.run_jobs()
    if pim:  # Megan is asked to sign in once; then every decision is written as her
        await sb.client.wait_for("megan", "signed_in")
        for _ in range(3):
            await sb.run_jobs()
        assert (await megan.told()).count("I am recording your decisions as you") == 1
    [definition] = [
        d for d in sb.running.twins.graph.state.access_reviews if d.role_id == SECURITY_READER
    ]
    decisions = definition.instances[-1].decisions
    kept = [d for d in decisions if d.decision == "Approve"]
    assert len(kept) == PEOPLE // 2 + 1  # the recent half, and Adele (signed in lately)
    assert all(d.recommendation == "Approve" for d in kept)
    writes = [
        c
        for c in sb.graph_calls
        if (c.method == "POST" and str(c.path).endswith("/batchRecordDecisions"))
        or (c.method == "PATCH" and "/decisions/" in str(c.path))
    ]
    assert len(writes) == len(kept)  # once each, for all the double press
    if pim:
        megan_id = sb.running.twins.tenant.user("megan").id
        assert {d.reviewed_by.id for d in kept if d.reviewed_by} == {megan_id}
    _, card = review_card_of(await megan.messages())
    assert f"{len(kept)} of {total} decided" in json.dumps(card)


@pytest.fixture
async def managed(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            tenant=crowded_tenant(clock(), managers=True),
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def test_a_review_of_500_by_managers_sends_each_manager_their_reports(
    managed: Sandbox,
) -> None:
    sb = managed
    megan = sb.person("megan")
    await sb.client.install("megan")
    await megan.say("review Security Reader every 90 days by managers else megan@contoso.example")
    sb.clock.advance(seconds=31)  # past the first scan's startup grace
    for _ in range(3):
        await sb.run_jobs()
    lookups = [c for c in sb.graph_calls if str(c.path).endswith("/manager")]
    assert len(lookups) == PEOPLE + 2  # once per person reviewed, Adele and Megan too

    async def first_page(handle: str) -> str:
        _, card = review_card_of(await sb.person(handle).messages())
        return json.dumps(card, ensure_ascii=False)

    assert "0 of 50 decided · page 1 of 5" in await first_page("lead01")
    assert "0 of 40 decided · page 1 of 4" in await first_page("lead10")  # 10 have no manager
    # Megan: the ten readers without a manager, and Adele, her report; Nestor: Megan.
    assert "0 of 11 decided · page 1 of 2" in await first_page("megan")
    assert "0 of 1 decided" in await first_page("nestor")

    # Lead 02's reports all signed in lately: "Keep all recommended" keeps those 50, no others.
    message_id, card = review_card_of(await sb.person("lead02").messages())
    keep_all = next(a for a in actions_of(card) if a["title"] == "Keep all recommended")
    await sb.client.press("lead02", message_id, keep_all)
    for _ in range(3):
        await sb.run_jobs()
    [definition] = [
        d for d in sb.running.twins.graph.state.access_reviews if d.role_id == SECURITY_READER
    ]
    kept = {d.principal_id for d in definition.instances[-1].decisions if d.decision == "Approve"}
    assert kept == {f"00000000-0000-4000-9000-{n:012d}" for n in range(2, PEOPLE + 1, 10)}
    assert "50 of 50 decided" in await first_page("lead02")
