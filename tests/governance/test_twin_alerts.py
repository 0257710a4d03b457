"""The Graph twin's PIM alerts (beta `identityGovernance/roleManagementAlerts`), as Microsoft
documents them: every alert with its definition, configuration and incidents, found by a scan and
kept until the next `refresh`; configurations changed by PATCH with the derived `@odata.type`;
incidents remediated as the portal's Fix does. Shapes checked with Microsoft's Graph SDK models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from msgraph_beta.generated.models.unified_role_management_alert import (
    UnifiedRoleManagementAlert,
)
from msgraph_beta.generated.models.unified_role_management_alert_configuration import (
    UnifiedRoleManagementAlertConfiguration,
)

from bot.sandbox.tenant import DemoTenant, load_tenant
from tests.governance.sdk_shapes import unknown_properties
from tests.sandbox_graph.conftest import START, Graph, error_of, ok, start_graph
from tests.support.clock import FakeClock

BASE = "/beta/identityGovernance/roleManagementAlerts"
SCOPE = {"$filter": "scopeId eq '/' and scopeType eq 'DirectoryRole'"}
EXPAND = {**SCOPE, "$expand": "alertDefinition,alertConfiguration,alertIncidents"}
ALERT_ADMIN = "RoleManagementAlert.ReadWrite.Directory"
READER = ["RoleManagementAlert.Read.Directory"]


@pytest.fixture
async def graph() -> AsyncIterator[Graph]:
    tenant: DemoTenant = load_tenant()
    started = await start_graph(tenant, FakeClock(START))
    started.default_token = started.tokens.app(READER)
    yield started
    await started.client.close()


def alert_id(graph: Graph, name: str) -> str:
    return f"DirectoryRole_{graph.tenant.tenant_id}_{name}"


async def alerts(graph: Graph) -> dict[str, dict[str, Any]]:
    body = await ok(await graph.get(f"{BASE}/alerts", params=EXPAND))
    return {a["id"].rsplit("_", 1)[-1]: a for a in body["value"]}


async def test_the_demo_tenant_raises_every_alert_pimbot_fixes(graph: Graph) -> None:
    found = await alerts(graph)
    assert len(found) == 7
    names = {a: found[a]["incidentCount"] for a in found if found[a]["isActive"]}
    assert set(names) == {
        "TooManyGlobalAdminsAssignedToTenantAlert",
        "RolesAssignedOutsidePimAlert",
        "NoMfaOnRoleActivationAlert",
        "StaleSignInAlert",
        "RedundantAssignmentAlert",
    }
    too_many = found["TooManyGlobalAdminsAssignedToTenantAlert"]
    assert too_many["alertConfiguration"]["globalAdminCountThreshold"] == 4
    assert {i["assigneeDisplayName"] for i in too_many["alertIncidents"]} == {
        "Adele Vance",  # eligible
        "Break Glass 1",
        "Break Glass 2",
        "Miriam Graham",
        "Lee Gu",
    }
    outside = found["RolesAssignedOutsidePimAlert"]["alertIncidents"]
    assert {(i["assigneeDisplayName"], i["roleDisplayName"]) for i in outside} == {
        ("Lee Gu", "Global Administrator"),
        ("Lynne Robbins", "Exchange Administrator"),
        ("Pradeep Gupta", "User Administrator"),
        ("Legacy Provisioning Script", "Application Administrator"),  # an app, named as one
    }
    no_mfa = {i["roleDisplayName"] for i in found["NoMfaOnRoleActivationAlert"]["alertIncidents"]}
    assert no_mfa == {"Exchange Administrator", "User Administrator", "Application Administrator"}
    stale = {i["assigneeDisplayName"] for i in found["StaleSignInAlert"]["alertIncidents"]}
    # In March both apps signed in since (the demo tenant's dates are December's).
    assert stale == {"Break Glass 2", "Lee Gu", "Lynne Robbins", "Pradeep Gupta"}


async def test_a_service_principal_that_does_not_sign_in_is_a_potential_stale_account() -> None:
    """PIM's StaleSignInAlert is about accounts that "might be service or shared accounts": on the
    demo tenant's date the app Legacy Provisioning Script (last sign-in in April) is one, with no
    user principal name (which applies to users only); Contoso HR Sync signed in last night."""
    graph = await start_graph(load_tenant(), FakeClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC)))
    try:
        found = await ok(
            await graph.get(f"{BASE}/alerts", params=EXPAND, token=graph.tokens.app(READER))
        )
        [alert] = [a for a in found["value"] if a["id"].endswith("_StaleSignInAlert")]
        stale = {i["assigneeDisplayName"]: i for i in alert["alertIncidents"]}
        assert "Contoso HR Sync" not in stale
        legacy = stale["Legacy Provisioning Script"]
        assert legacy["assigneeUserPrincipalName"] is None
        assert legacy["roleDisplayName"] == "Application Administrator"
        assert legacy["lastSignInDateTime"] == "2026-04-20T03:10:00Z"
    finally:
        await graph.client.close()


async def test_every_shape_is_one_the_graph_sdk_knows(graph: Graph) -> None:
    for alert in (await alerts(graph)).values():
        assert unknown_properties(alert, UnifiedRoleManagementAlert) == []
    configurations = await ok(await graph.get(f"{BASE}/alertConfigurations", params=SCOPE))
    for configuration in configurations["value"]:
        assert unknown_properties(configuration, UnifiedRoleManagementAlertConfiguration) == []


async def test_lists_need_the_scope_filter_and_the_permission(graph: Graph) -> None:
    await error_of(await graph.get(f"{BASE}/alerts"), 400)
    no_permission = graph.tokens.app(["RoleManagement.Read.Directory"])
    await error_of(await graph.get(f"{BASE}/alerts", params=SCOPE, token=no_permission), 403)
    await error_of(await graph.get("/v1.0/identityGovernance/roleManagementAlerts/alerts"), 400)


async def test_incidents_change_only_when_the_alert_is_refreshed(graph: Graph) -> None:
    stale = alert_id(graph, "RedundantAssignmentAlert")
    writer = graph.tokens.app([ALERT_ADMIN])
    assert (await alerts(graph))["RedundantAssignmentAlert"]["incidentCount"] == 13
    longer = await graph.call(
        "PATCH",
        f"{BASE}/alertConfigurations/{stale}",
        token=writer,
        json={
            "@odata.type": "#microsoft.graph.redundantAssignmentAlertConfiguration",
            "duration": "P3650D",
        },
    )
    assert longer.status == 204
    assert (await alerts(graph))["RedundantAssignmentAlert"]["incidentCount"] == 13  # not scanned
    refreshed = await graph.post(f"{BASE}/alerts/{stale}/refresh", token=writer)
    assert refreshed.status == 202
    operation = await ok(await graph.get(refreshed.headers["Location"]))
    assert operation["status"] == "succeeded"
    after = (await alerts(graph))["RedundantAssignmentAlert"]
    assert (after["incidentCount"], after["isActive"]) == (0, False)
    await error_of(await graph.post(f"{BASE}/alerts/refresh", token=writer, json={}), 400)
    everything = await graph.post(
        f"{BASE}/alerts/refresh", token=writer, json={"scopeId": "/", "scopeType": "DirectoryRole"}
    )
    assert everything.status == 202
    await error_of(await graph.post(f"{BASE}/alerts/{stale}/refresh"), 403)  # read-only app


def test_the_shape_check_finds_a_property_the_sdk_does_not_know() -> None:
    alert = {"id": "a", "isActive": True, "alertIncidents": [{"id": "i", "surprise": 1}]}
    assert unknown_properties(alert, UnifiedRoleManagementAlert) == [
        "UnifiedRoleManagementAlert.alertIncidents[0].surprise"
    ]


async def test_a_configuration_is_changed_by_patch_with_its_type(graph: Graph) -> None:
    config_id = alert_id(graph, "TooManyGlobalAdminsAssignedToTenantAlert")
    path = f"{BASE}/alertConfigurations/{config_id}"
    writer = graph.tokens.app([ALERT_ADMIN])
    await error_of(
        await graph.call("PATCH", path, token=writer, json={"globalAdminCountThreshold": 5}), 400
    )
    changed = await graph.call(
        "PATCH",
        path,
        token=writer,
        json={
            "@odata.type": "#microsoft.graph.tooManyGlobalAdminsAssignedToTenantAlertConfiguration",
            "globalAdminCountThreshold": 5,
        },
    )
    assert changed.status == 204
    await graph.post(f"{BASE}/alerts/{config_id}/refresh", token=writer)
    assert not (await alerts(graph))["TooManyGlobalAdminsAssignedToTenantAlert"]["isActive"]


async def test_remediating_an_incident_does_the_fix_and_drops_it(graph: Graph) -> None:
    name = "RolesAssignedOutsidePimAlert"
    found = (await alerts(graph))[name]
    incident = next(
        i for i in found["alertIncidents"] if i["assigneeDisplayName"] == "Lynne Robbins"
    )
    path = f"{BASE}/alerts/{alert_id(graph, name)}/alertIncidents/{incident['id']}/remediate"
    admin = graph.tokens.user("breakglass1", scp=ALERT_ADMIN)
    await error_of(await graph.post(path, token=graph.tokens.user("adele", scp=ALERT_ADMIN)), 403)
    assert (await graph.post(path, token=admin)).status == 204
    assert (await alerts(graph))[name]["incidentCount"] == 3
    assert not any(s.assignment_id == incident["id"] for s in graph.twin.state.schedules)
    await error_of(await graph.post(path, token=admin), 404)


async def test_remediating_no_mfa_turns_mfa_on_in_the_roles_policy(graph: Graph) -> None:
    name = "NoMfaOnRoleActivationAlert"
    found = (await alerts(graph))[name]
    exchange = next(
        i for i in found["alertIncidents"] if i["roleDisplayName"] == "Exchange Administrator"
    )
    path = f"{BASE}/alerts/{alert_id(graph, name)}/alertIncidents/{exchange['id']}/remediate"
    admin = graph.tokens.user("breakglass1", scp=ALERT_ADMIN)
    assert (await graph.post(path, token=admin)).status == 204
    policy = next(p for p in graph.twin.state.policies if p.role_id == exchange["roleTemplateId"])
    rule = next(r for r in policy.rules if r["id"] == "Enablement_EndUser_Assignment")
    assert "MultiFactorAuthentication" in rule["enabledRules"]
