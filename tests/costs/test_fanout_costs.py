"""What sending the approval cards of one request costs, counted exactly: a card's database
statements do not grow with the number of approvers.

Each approval card carries Teams' `refresh` with the Teams ids of every approver. Read one
conversation at a time, that was one statement per approver for every card: 2,500 reads for the
cards of a group of 50, most of a fan-out's time (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import yaml

from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from bot.sandbox.teams.ids import user_mri
from bot.sandbox.teams.person import Person
from bot.sandbox.tenant import DEFAULT_TENANT_PATH, DemoTenant
from bot.store.jobs import Job
from bot.workflow.outbox import JobKind
from tests.costs.conftest import Costs, Turns
from tests.store.conftest import database_url  # noqa: F401

SMALL = ("Exchange Administrator", "megan", 2)  # role, requester, approvers in its group
LARGE = ("SharePoint Administrator", "joni", 9)


def approver(group: int, n: int) -> str:
    return f"approver{group}x{n}"


def tenant() -> DemoTenant:
    """The demo tenant with two roles approved by groups of 2 and 9 people."""
    data = yaml.safe_load(DEFAULT_TENANT_PATH.read_text(encoding="utf-8"))
    for role, requester, size in (SMALL, LARGE):
        members = [approver(size, n) for n in range(size)]
        for n, handle in enumerate(members):
            data["users"].append(
                {
                    "handle": handle,
                    "id": f"00000000-0000-4000-b000-{size:06d}{n:06d}",
                    "display_name": f"Approver {size}/{n}",
                }
            )
        group = f"Approvers of {size}"
        data["groups"].append(
            {
                "id": f"5f1c0a7e-0000-4000-8000-{size:012d}",
                "display_name": group,
                "members": members,
            }
        )
        data["eligibilities"].append({"user": requester, "role": role})
        data["policies"] = [p for p in data["policies"] if p["role"] != role]
        data["policies"].append(
            {
                "role": role,
                "max_duration": "PT4H",
                "require_mfa": False,
                "require_justification": True,
                "approval": {"groups": [group]},
            }
        )
    return DemoTenant.model_validate(data)


@pytest.fixture
async def turns(database_url: str) -> AsyncIterator[Turns]:  # noqa: F811
    async with (
        sandbox(
            tenant=tenant(),
            database_url=database_url,
            run_scheduler=False,
            audit_anchor_minutes=0,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Turns(running, client)


async def card_costs(turns: Turns, role: str, requester: str, size: int) -> list[Costs]:
    """Everyone installs the app, `requester` asks for `role`; then each approval card's job
    runs on its own, counted."""
    for handle in [requester, *(approver(size, n) for n in range(size))]:
        await turns.client.install(handle)
    services = turns.running.services
    kind = str(JobKind.SEND_APPROVAL_CARD)
    async with services.db.transaction() as tx:
        earlier = {job.id for job in await tx.jobs.pending(kind)}
    person = Person(turns.client, requester)
    await person.say(f"activate {role} for 1h because INC-7 fan-out")
    await person.press("Ask for approval")
    async with services.db.transaction() as tx:
        jobs: list[Job] = [job for job in await tx.jobs.pending(kind) if job.id not in earlier]
    assert len(jobs) == size
    costs = []
    for job in jobs:
        with turns.counted() as cost:
            await services.scheduler.runner.run(job)
        costs.append(cost)
    return costs


async def test_an_approval_card_costs_the_same_statements_whatever_the_group_size(
    turns: Turns,
) -> None:
    small = await card_costs(turns, *SMALL)
    large = await card_costs(turns, *LARGE)

    shapes = {tuple(s[:40] for s in cost.statements) for cost in small + large}
    assert len(shapes) == 1, shapes
    [statements] = shapes
    assert sum(s.startswith("SELECT conversations.") for s in statements) == 2, statements
    # drawing the card (request, sent check, Teams ids), the conversation to send in, recording
    # the sent card with its audit entry: one transaction each
    assert {cost.transactions for cost in small + large} == {3}


async def test_each_approval_card_names_every_approver_for_refresh(turns: Turns) -> None:
    role, requester, size = LARGE
    await card_costs(turns, role, requester, size)
    tenant = turns.running.twins.tenant
    teams_ids = [user_mri(tenant.tenant_id, tenant.user(approver(size, n)).id) for n in range(size)]

    for n in range(size):
        [card] = [
            card
            for message in await turns.client.messages(approver(size, n))
            for card in message.get("cards") or []
            if "refresh" in card
        ]
        assert card["refresh"]["userIds"] == teams_ids
