"""A workflow wired to in-memory Graph and Teams, on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    Actor,
    ApproverKind,
    ApproverRef,
    CardMessage,
    Outcome,
    Person,
    RequestState,
)
from bot.scheduler import Scheduler
from bot.store import Database
from bot.workflow.context import Deps, WorkflowConfig
from bot.workflow.engines.bot import BotFlow
from bot.workflow.jobs import JobRunner
from bot.workflow.service import Workflow
from tests.store.conftest import database_url, db  # noqa: F401
from tests.support.clock import FakeClock
from tests.workflow.fakes import (
    ADELE,
    EXCHANGE,
    GLOBAL,
    LIDIA,
    MALLORY,
    MEGAN,
    NESTOR,
    SECURITY,
    TENANT,
    USER_ADMIN,
    FakeDirectory,
    FakeEngine,
    FakeMessenger,
    FakeSso,
)


@dataclass
class World:
    clock: FakeClock
    db: Database
    directory: FakeDirectory
    engine: FakeEngine
    messenger: FakeMessenger
    workflow: Workflow
    scheduler: Scheduler

    def actor(self, who: Person, tz: str | None = None) -> Actor:
        return Actor(person=who, teams_id=f"29:{who.id}", timezone=tz)

    async def say(self, who: Person, text: str) -> Outcome:
        return await self.workflow.on_text(self.actor(who), text)

    async def press(self, who: Person, data: dict[str, Any]) -> Outcome:
        return await self.workflow.on_action(self.actor(who), data)

    async def run_jobs(self) -> int:
        return await self.scheduler.run_once()

    async def request(self, request_id: str) -> ActivationRequest:
        async with self.db.transaction() as tx:
            found = await tx.requests.get(request_id)
        assert found is not None
        return found

    async def only_request(self, who: Person) -> ActivationRequest:
        async with self.db.transaction() as tx:
            every = await tx.requests.list_in_states(list(RequestState))
        found = [r for r in every if r.requester.id == who.id]
        assert len(found) == 1, found
        return found[0]

    async def submit(self, who: Person, role_id: str, **fields: str) -> Outcome:
        """Fill the activation form the way a person would and press its button."""
        form = await self.form_for(who, role_id)
        data = {**_submit_data(form), **fields}
        return await self.press(who, data)

    async def form_for(self, who: Person, role_id: str) -> dict[str, Any]:
        role = next(r for r in self.directory.roles if r.id == role_id)
        outcome = await self.say(who, f"activate {role.display_name}")
        cards = [m.card for m in outcome.replies if isinstance(m, CardMessage)]
        assert cards, outcome
        return cards[0]


def _submit_data(card: dict[str, Any]) -> dict[str, Any]:
    """The data of the card's submit button, with every input at its default value."""
    data: dict[str, Any] = {}
    for element in _walk(card.get("body", [])):
        if str(element.get("type", "")).startswith("Input.") and "value" in element:
            data[element["id"]] = element["value"]
    action = next(a for a in card["actions"] if a.get("data", {}).get("verb") == "request.submit")
    return {**data, **action["data"]}


def _walk(elements: list[Any]) -> Iterator[dict[str, Any]]:
    for element in elements:
        if isinstance(element, dict):
            yield element
            for key in ("items", "columns", "body"):
                yield from _walk(element.get(key, []))


@pytest.fixture
async def world(db: Database) -> World:  # noqa: F811
    clock = FakeClock()
    directory = FakeDirectory(now=clock)
    for p in (ADELE, MEGAN, NESTOR, LIDIA, MALLORY):
        directory.people[p.id] = p
    directory.eligible[ADELE.id] = [EXCHANGE, USER_ADMIN, SECURITY]
    directory.eligible[MEGAN.id] = [EXCHANGE]
    directory.groups["leads"] = [NESTOR, LIDIA, ADELE]
    directory.policies[EXCHANGE.id] = ActivationPolicy(
        role_id=EXCHANGE.id,
        max_duration=timedelta(hours=4),
        require_justification=True,
        require_approval=True,
        approvers=(
            ApproverRef(kind=ApproverKind.USER, id=MEGAN.id),
            ApproverRef(kind=ApproverKind.GROUP, id="leads"),
        ),
    )
    directory.policies[USER_ADMIN.id] = ActivationPolicy(
        role_id=USER_ADMIN.id, max_duration=timedelta(hours=8)
    )
    directory.policies[SECURITY.id] = ActivationPolicy(
        role_id=SECURITY.id,
        max_duration=timedelta(hours=4),
        require_mfa=True,
        require_justification=True,
        require_ticket=True,
    )
    directory.policies[GLOBAL.id] = ActivationPolicy(role_id=GLOBAL.id)
    engine = FakeEngine(directory)
    messenger = FakeMessenger()
    deps = Deps(
        db=db,
        directory=directory,
        messenger=messenger,
        sso=FakeSso(),
        config=WorkflowConfig(tenant_id=TENANT, expiry_warning=timedelta(minutes=15)),
        now=clock,
    )
    flow = BotFlow(deps, engine)
    runner = JobRunner(deps)
    runner.add_handlers(flow.jobs())
    scheduler = Scheduler(db, runner, now=clock)
    return World(clock, db, directory, engine, messenger, Workflow(deps, flow), scheduler)
