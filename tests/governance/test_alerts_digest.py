"""The alerts digest end to end: every PIMBOT_ALERTS_EVERY pimbot asks PIM to scan, and tells each
admin in their 1:1 chat what is new since the last round, only when something is; the first round
only notes what is there. Exactly once: a round run twice (a replica dying after its transaction)
queues nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.governance.alerts_digest import CHANNEL_JOB, DIGEST_JOB, AlertsDigest
from bot.governance.wiring import governance_config
from bot.graph.admins import GraphAdminDirectory
from bot.graph.alerts import GraphAlerts
from bot.sandbox.entra import GRAPH_RESOURCE
from bot.sandbox.runner import sandbox
from bot.sandbox.teams.client import SandboxClient
from tests.e2e.conftest import Sandbox
from tests.governance.test_settings_journey import PIM_APPROVERS
from tests.support.clock import FakeClock

DIGEST = "New in PIM's alerts"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            admin_group_id=PIM_APPROVERS,
            alerts_every="P1D",
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def assign_outside_pim(sb: Sandbox, handle: str) -> None:
    """Someone gives a role directly (roleAssignments), not through PIM."""
    twins = sb.running.twins
    token = twins.entra.app_token(twins.tenant.apps[0], GRAPH_RESOURCE)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{twins.graph_url}/v1.0/roleManagement/directory/roleAssignments",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "principalId": twins.tenant.user(handle).id,
                "roleDefinitionId": EXCHANGE_ADMIN,
                "directoryScopeId": "/",
            },
        )
    assert answer.status_code == 201, answer.text


async def next_round(sb: Sandbox) -> None:
    sb.clock.advance(days=1, minutes=1)
    await sb.run_jobs()
    await sb.run_jobs()  # the messages it queued


async def digests(sb: Sandbox, handle: str) -> list[str]:
    return [m["text"] for m in await sb.person(handle).messages() if DIGEST in m["text"]]


async def test_admins_are_told_what_is_new_and_only_that(box: Sandbox) -> None:
    await next_round(box)
    assert await digests(box, "megan") == []  # the first round notes what is there
    await assign_outside_pim(box, "miriam")  # who signs in: one new finding
    await next_round(box)
    for admin in ("megan", "nestor", "lidia"):
        [digest] = await digests(box, admin)
        assert "Roles assigned outside PIM: Miriam Graham — Exchange Administrator" in digest
        assert "(1)" in digest
    assert await digests(box, "adele") == []  # not an admin
    await next_round(box)
    assert len(await digests(box, "megan")) == 1  # nothing new: nothing sent
    async with box.running.services.db.transaction() as tx:
        rounds = [e for e in await tx.audit.entries() if e.action == "alerts.digest"]
    assert [e.details["new"] for e in rounds] == [1]


async def test_a_round_run_twice_queues_its_messages_once(box: Sandbox) -> None:
    await next_round(box)
    await assign_outside_pim(box, "diego")
    box.clock.advance(days=1, minutes=1)
    async with box.running.services.db.transaction() as tx:
        [job] = [j for j in await tx.jobs.pending(DIGEST_JOB)]
    services = box.running.services
    digest = AlertsDigest(
        services.db,
        GraphAlerts(services.graph, now=box.clock),
        GraphAdminDirectory(services.graph, tenant_id=services.settings.graph_tenant_id),
        governance_config(services.settings),
        box.clock,
    )
    await digest.run(job)
    await digest.run(job)  # as if the replica died before marking the job done
    async with box.running.services.db.transaction() as tx:
        pending = await tx.jobs.pending()
    to_megan = [j for j in pending if j.kind == "message" and DIGEST in j.payload.get("text", "")]
    assert (
        len(
            [
                j
                for j in to_megan
                if j.payload["person_id"] == box.running.twins.tenant.user("megan").id
            ]
        )
        == 1
    )
    assert len([j for j in pending if j.kind == DIGEST_JOB]) == 2  # this round (not done) and next


def test_the_interval_must_be_a_duration() -> None:
    from bot.settings import Settings

    with pytest.raises(ValueError, match="PIMBOT_ALERTS_EVERY"):
        Settings.model_validate({"alerts_every": "daily"})
    assert Settings.model_validate({"alerts_every": "pt6h"}).alerts_every == "PT6H"


ALERTS_CHANNEL = "19:pimbot-alerts@thread.tacv2"


@pytest.fixture
async def channel_box(tmp_path: Path) -> AsyncIterator[Sandbox]:
    clock = FakeClock()
    async with (
        sandbox(
            database_url=f"sqlite:///{tmp_path / 'pimbot.db'}",
            state_dir=tmp_path,
            now=clock,
            run_scheduler=False,
            admin_group_id=PIM_APPROVERS,
            alerts_every="P1D",
            alerts_channel=ALERTS_CHANNEL,
        ) as running,
        SandboxClient(running.twins.service_url) as client,
    ):
        yield Sandbox(running, client, clock)


async def channel_digests(sb: Sandbox) -> list[str]:
    return [
        m["text"]
        for m in await sb.client.channel_messages(ALERTS_CHANNEL)
        if DIGEST in m.get("text", "")
    ]


async def test_with_an_alerts_channel_the_digest_goes_there_once_not_to_the_admins(
    channel_box: Sandbox,
) -> None:
    await channel_box.client.install("megan")  # a conversation: the tenant's service URL
    await next_round(channel_box)
    assert await channel_digests(channel_box) == []  # the first round notes what is there
    await assign_outside_pim(channel_box, "miriam")
    await next_round(channel_box)
    [digest] = await channel_digests(channel_box)
    assert "Roles assigned outside PIM: Miriam Graham — Exchange Administrator" in digest
    for admin in ("megan", "nestor", "lidia"):
        assert await digests(channel_box, admin) == []
    await next_round(channel_box)
    assert len(await channel_digests(channel_box)) == 1  # nothing new: nothing posted
    async with channel_box.running.services.db.transaction() as tx:
        [entry] = [e for e in await tx.audit.entries() if e.action == "alerts.digest"]
    assert entry.details["channel"] == ALERTS_CHANNEL
    assert entry.details["admins"] == 0


async def test_a_round_run_twice_posts_in_the_channel_once(channel_box: Sandbox) -> None:
    await channel_box.client.install("megan")
    await next_round(channel_box)
    await assign_outside_pim(channel_box, "diego")
    channel_box.clock.advance(days=1, minutes=1)
    async with channel_box.running.services.db.transaction() as tx:
        [job] = [j for j in await tx.jobs.pending(DIGEST_JOB)]
    services = channel_box.running.services
    digest = AlertsDigest(
        services.db,
        GraphAlerts(services.graph, now=channel_box.clock),
        GraphAdminDirectory(services.graph, tenant_id=services.settings.graph_tenant_id),
        governance_config(services.settings),
        channel_box.clock,
    )
    await digest.run(job)
    await digest.run(job)  # as if the replica died before marking the job done
    async with services.db.transaction() as tx:
        pending = await tx.jobs.pending()
    assert len([j for j in pending if j.kind == CHANNEL_JOB]) == 1
    assert not [j for j in pending if j.kind == "message" and DIGEST in j.payload.get("text", "")]
    await channel_box.run_jobs()  # the round runs again (still pending): it queues nothing new
    assert len(await channel_digests(channel_box)) == 1


def test_the_alerts_channel_is_a_setting() -> None:
    from bot.settings import Settings

    settings = Settings.model_validate({"PIMBOT_ALERTS_CHANNEL": " 19:x@thread.tacv2 "})
    assert governance_config(settings).alerts_channel == "19:x@thread.tacv2"
    assert governance_config(Settings.model_validate({})).alerts_channel == ""
