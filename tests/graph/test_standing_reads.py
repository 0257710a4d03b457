"""GraphStanding against the sandbox's Entra and Graph twins over loopback: standing access is
read with one call per page of each collection, never one per person; and what it reads (origin,
since, last sign-in, the policy's limit) is what the tenant holds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.graph.http import GraphHttp
from bot.graph.standing import APP_SIGN_IN_UNKNOWN, SIGN_IN_UNKNOWN, GraphStanding
from bot.graph.tokens import AppTokenProvider
from bot.sandbox.entra import GRAPH_RESOURCE, EntraTwin
from bot.sandbox.graph import GraphTwin
from bot.sandbox.tenant import AssignmentSpec, DemoTenant, TenantUser, load_tenant
from tests.graph.test_against_twins import serve

EXCHANGE = "29232cdf-9323-42fd-ade2-1d097af3e4de"
ROLES = ("Exchange Administrator", "User Administrator")
PAGE = 100  # the Graph twin's largest page here, so that paging is exercised


def crowded(people: int) -> DemoTenant:
    tenant = load_tenant()
    users = [
        TenantUser(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"standing-reads-{n}")),
            handle=f"crowd{n}",
            upn=f"crowd{n}@{tenant.domain}",
            display_name=f"Crowd {n:04}",
        )
        for n in range(people)
    ]
    grants = [AssignmentSpec(user=u.handle, role=r) for u in users for r in ROLES]
    return DemoTenant.model_validate(
        {
            **tenant.model_dump(),
            "users": [*(u.model_dump() for u in tenant.users), *(u.model_dump() for u in users)],
            "assignments": [
                *(a.model_dump() for a in tenant.assignments),
                *(g.model_dump() for g in grants),
            ],
        }
    )


def without_audit_log() -> DemoTenant:
    """The demo tenant where pimbot's app may not read sign-in activity (AuditLog.Read.All)."""
    tenant = load_tenant()
    app = tenant.apps[0]
    kept = [p for p in app.application_permissions if p != "AuditLog.Read.All"]
    app = app.model_copy(update={"application_permissions": kept})
    return tenant.model_copy(update={"apps": [app, *tenant.apps[1:]]})


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def reads(request: pytest.FixtureRequest) -> AsyncIterator[tuple[GraphStanding, GraphTwin]]:
    param = getattr(request, "param", 0)
    tenant = without_audit_log() if param == "no AuditLog.Read.All" else crowded(int(param))
    clock = Clock()
    entra = EntraTwin(tenant, now=clock)
    graph = GraphTwin(
        tenant,
        verify_token=lambda token: entra.verify(token, GRAPH_RESOURCE),
        now=clock,
        page_size=PAGE,
    )
    async with serve(entra.app) as login_url, serve(graph.app) as graph_url:
        entra.base_url = login_url
        app = tenant.pimbot_app
        tokens = AppTokenProvider(app.client_id, app.client_secret, tenant.tenant_id, login_url)
        http = GraphHttp(graph_url, tokens)
        try:
            yield GraphStanding(http, tenant_id=tenant.tenant_id, now=clock), graph
        finally:
            await http.aclose()


def pages(items: int) -> int:
    return max(1, -(-items // PAGE))


@pytest.mark.parametrize("reads", [300], indirect=True)
async def test_standing_access_is_read_a_page_at_a_time_not_a_person_at_a_time(
    reads: tuple[GraphStanding, GraphTwin],
) -> None:
    standing, graph = reads
    tenant = graph.tenant
    snapshot = await standing.standing_assignments(datetime.now(UTC))
    assert len(snapshot.assignments) == len(tenant.assignments) == 11 + 300 * len(ROLES)
    assignments = len(tenant.assignments)
    expected = (
        pages(assignments)  # roleAssignmentScheduleInstances, with $expand=principal
        + pages(assignments)  # roleAssignmentSchedules (since when)
        + 1  # roleDefinitions
        + pages(len(tenant.users))  # users' signInActivity
        + 1  # self-activation requests
        + 1  # apps' sign-in activity report (two apps hold roles), not one call per app
    )
    assert len(graph.calls) == expected  # 600 people would take as many calls as 300 pages do


async def test_what_graph_tells_of_each_standing_assignment(
    reads: tuple[GraphStanding, GraphTwin],
) -> None:
    standing, graph = reads
    tenant = graph.tenant
    snapshot = await standing.standing_assignments(datetime.now(UTC))
    by_name = {(a.principal.display_name, a.role.display_name): a for a in snapshot.assignments}
    lynne = by_name[("Lynne Robbins", "Exchange Administrator")]
    grady = by_name[("Grady Archie", "Exchange Administrator")]
    assert (lynne.origin, grady.origin) == ("direct", "pim")
    assert grady.since == datetime(2024, 1, 1, tzinfo=UTC) and grady.end is None
    assert grady.last_sign_in == tenant.user("grady").last_sign_in
    assert grady.principal_type == "user" and grady.last_activation is None
    assert snapshot.unknown == ()
    current = await standing.active_assignment(tenant.user("grady").id, EXCHANGE)
    assert current is not None and current.assignment_id == grady.assignment_id
    assert await standing.active_assignment(tenant.user("adele").id, EXCHANGE) is None
    assert await standing.is_eligible(tenant.user("adele").id, EXCHANGE)
    limit = await standing.eligibility_limit(EXCHANGE)
    assert limit.maximum == timedelta(days=365) and not limit.expiration_required


async def test_an_app_holding_a_role_is_a_service_principal_with_its_last_sign_in(
    reads: tuple[GraphStanding, GraphTwin],
) -> None:
    standing, graph = reads
    tenant = graph.tenant
    snapshot = await standing.standing_assignments(datetime.now(UTC))
    by_name = {a.principal.display_name: a for a in snapshot.assignments}
    legacy = by_name["Legacy Provisioning Script"]
    hr_sync = by_name["Contoso HR Sync"]
    assert (legacy.principal_type, hr_sync.principal_type) == ("servicePrincipal",) * 2
    assert (legacy.role.display_name, legacy.origin) == ("Application Administrator", "direct")
    assert legacy.last_sign_in == tenant.app_principal("Legacy Provisioning Script").last_sign_in
    assert hr_sync.last_sign_in == tenant.app_principal("Contoso HR Sync").last_sign_in
    assert legacy.principal.upn == ""
    current = await standing.active_assignment(legacy.principal.id, legacy.role.id)
    assert current is not None and current.principal_type == "servicePrincipal"


@pytest.mark.parametrize("reads", ["no AuditLog.Read.All"], indirect=True)
async def test_when_graph_refuses_sign_in_activity_the_snapshot_says_so_and_lists_the_rest(
    reads: tuple[GraphStanding, GraphTwin],
) -> None:
    standing, graph = reads
    snapshot = await standing.standing_assignments(datetime.now(UTC))
    assert set(snapshot.unknown) == {SIGN_IN_UNKNOWN, APP_SIGN_IN_UNKNOWN}
    refused = [c for c in graph.calls if c.path.endswith("servicePrincipalSignInActivities")]
    assert [c.status for c in refused] == [403]
    assert len(snapshot.assignments) == len(graph.tenant.assignments)
    assert {a.last_sign_in for a in snapshot.assignments} == {None}
