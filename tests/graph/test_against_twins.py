"""GraphPimDirectory and BotEngine against the sandbox's Entra and Graph twins over loopback:
msal gets an app-only token from the Entra twin; the Graph twin checks it and applies PIM's rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from bot.domain import ActivationRequest, ApproverKind, Person, RequestState, Role, Ticket
from bot.graph.bot_engine import BotEngine
from bot.graph.directory import GraphPimDirectory
from bot.graph.errors import RoleAssignmentExists
from bot.graph.http import GraphHttp
from bot.graph.tokens import AppTokenProvider
from bot.sandbox.entra import GRAPH_RESOURCE, EntraTwin
from bot.sandbox.graph import GraphTwin
from bot.sandbox.tenant import DemoTenant, load_tenant

EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
APPLICATION_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sandbox:
    tenant: DemoTenant
    graph: GraphTwin
    directory: GraphPimDirectory
    engine: BotEngine
    clock: Clock


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    tenant = load_tenant()
    clock = Clock()
    entra = EntraTwin(tenant, now=clock)
    graph = GraphTwin(
        tenant, verify_token=lambda token: entra.verify(token, GRAPH_RESOURCE), now=clock
    )
    async with serve(entra.app) as login_url, serve(graph.app) as graph_url:
        entra.base_url = login_url
        app = tenant.pimbot_app
        tokens = AppTokenProvider(app.client_id, app.client_secret, tenant.tenant_id, login_url)
        http = GraphHttp(graph_url, tokens)
        try:
            yield Sandbox(
                tenant,
                graph,
                GraphPimDirectory(http, tenant_id=tenant.tenant_id, now=clock),
                BotEngine(http, now=clock),
                clock,
            )
        finally:
            await http.aclose()


def person(tenant: DemoTenant, handle: str) -> Person:
    user = tenant.user(handle)
    return Person(id=user.id, tenant_id=tenant.tenant_id, display_name=user.display_name)


def request_for(
    sandbox: Sandbox, handle: str, role_id: str, duration: timedelta, **extra: Any
) -> ActivationRequest:
    now = sandbox.clock()
    return ActivationRequest(
        id="req-1",
        tenant_id=sandbox.tenant.tenant_id,
        requester=person(sandbox.tenant, handle),
        role=Role(id=role_id, display_name=role_id),
        duration=duration,
        justification="Mailbox migration",
        state=RequestState.ACTIVATING,
        created_at=now,
        updated_at=now,
        **extra,
    )


async def test_the_directory_reads_roles_eligibility_policy_and_approvers(sandbox: Sandbox) -> None:
    roles = await sandbox.directory.list_roles()
    eligible = await sandbox.directory.eligible_roles(sandbox.tenant.user("adele").id)
    policy = await sandbox.directory.activation_policy(EXCHANGE_ADMIN)
    approvers = await sandbox.directory.resolve_approvers(policy.approvers)

    assert "Exchange Administrator" in [role.display_name for role in roles]
    assert "Exchange Administrator" in [item.role.display_name for item in eligible]
    assert policy.max_duration == timedelta(hours=4)
    assert policy.require_approval and policy.require_justification and not policy.require_mfa
    assert {ref.kind for ref in policy.approvers} == {ApproverKind.USER}
    assert sorted(p.display_name for p in approvers) == ["Megan Bowen", "Nestor Wilke"]


async def test_group_approvers_resolve_to_their_transitive_members(sandbox: Sandbox) -> None:
    policy = await sandbox.directory.activation_policy("62e90394-69f5-4237-9190-012177145e10")
    approvers = await sandbox.directory.resolve_approvers(policy.approvers)

    assert sorted(p.display_name for p in approvers) == [
        "Lidia Holloway",
        "Megan Bowen",
        "Nestor Wilke",
    ]


async def test_activate_then_deactivate_through_graph(sandbox: Sandbox) -> None:
    adele = sandbox.tenant.user("adele").id
    request = request_for(
        sandbox,
        "adele",
        APPLICATION_ADMIN,
        timedelta(hours=2),
        ticket=Ticket(number="CHG-1", system="ServiceNow"),
    )

    result = await sandbox.engine.activate(request)

    assert result.status in {"Provisioned", "Granted"}
    assert result.start is not None and result.end is not None
    assert result.end - result.start == timedelta(hours=2)
    window = await sandbox.engine.current_assignment(adele, APPLICATION_ADMIN)
    assert window is not None and window.end == result.end
    active = await sandbox.directory.active_roles(adele)
    assert [(a.role.id, a.end) for a in active] == [(APPLICATION_ADMIN, result.end)]

    with pytest.raises(RoleAssignmentExists):
        await sandbox.engine.activate(request)

    sandbox.clock.now += timedelta(minutes=10)
    await sandbox.engine.deactivate(adele, APPLICATION_ADMIN)

    assert await sandbox.engine.current_assignment(adele, APPLICATION_ADMIN) is None


async def test_extend_moves_the_end_and_graph_ends_the_assignment_on_time(
    sandbox: Sandbox,
) -> None:
    adele = sandbox.tenant.user("adele").id
    ticket = Ticket(number="CHG-2", system="ServiceNow")
    first = await sandbox.engine.activate(
        request_for(sandbox, "adele", APPLICATION_ADMIN, timedelta(hours=1), ticket=ticket)
    )
    sandbox.clock.now += timedelta(minutes=50)

    extended = await sandbox.engine.extend(
        request_for(sandbox, "adele", APPLICATION_ADMIN, timedelta(hours=2), ticket=ticket)
    )

    assert first.end is not None and extended.end is not None
    assert extended.end > first.end
    window = await sandbox.engine.current_assignment(adele, APPLICATION_ADMIN)
    assert window is not None and window.end == extended.end

    sandbox.clock.now = extended.end + timedelta(seconds=1)
    assert await sandbox.engine.current_assignment(adele, APPLICATION_ADMIN) is None
