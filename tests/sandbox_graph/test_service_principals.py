"""The Graph twin's service principals: Microsoft Graph's names every application permission the
demo tenant's apps hold (an app role assignment the twin cannot name would silently not be listed,
and `pimbot doctor` would report a granted permission as missing); apps holding directory roles
are directory objects typed as service principals, their role assignments expand to them, their
sign-ins come from the beta sign-in activity report, and PIM makes no eligibility for them. Shapes
are checked with Microsoft's own Graph beta SDK models."""

from __future__ import annotations

import base64
import uuid

import pytest
from msgraph_beta.generated.models.service_principal import ServicePrincipal
from msgraph_beta.generated.models.service_principal_sign_in_activity import (
    ServicePrincipalSignInActivity,
)

from bot.sandbox.entra import service_principal_id
from bot.sandbox.graph.resources.service_principals import GRAPH_APP_ROLES
from bot.sandbox.tenant import AssignmentSpec, DemoTenant, load_tenant
from tests.governance.sdk_shapes import unknown_properties
from tests.sandbox_graph.conftest import (
    APP_ADMIN,
    INSTANCES,
    PIMBOT_ROLES,
    REQUESTS,
    USER_ADMIN,
    Graph,
    error_of,
    ok,
)


def test_every_application_permission_of_the_demo_apps_is_one_graph_names() -> None:
    held = {name for app in load_tenant().apps for name in app.application_permissions}
    assert held - set(GRAPH_APP_ROLES) == set()


# --- service principals holding directory roles ---------------------------------------------------

STALE_APP = "Legacy Provisioning Script"
BUSY_APP = "Contoso HR Sync"
SIGN_INS = "/beta/reports/servicePrincipalSignInActivities"


def sp_id(tenant: DemoTenant, name: str) -> str:
    return service_principal_id(tenant.app_principal(name).client_id)


async def test_a_service_principal_is_a_directory_object_typed_as_one(graph: Graph) -> None:
    stale = sp_id(graph.tenant, STALE_APP)
    refused = await graph.get(f"/v1.0/directoryObjects/{stale}")  # pimbot's app: no Directory.*
    assert (await error_of(refused, 403))["code"] == "Authorization_RequestDenied"
    reader = graph.tokens.app([*PIMBOT_ROLES, "Directory.Read.All"])
    body = await ok(await graph.get(f"/v1.0/directoryObjects/{stale}", token=reader))
    assert body["@odata.type"] == "#microsoft.graph.servicePrincipal"
    assert (body["id"], body["displayName"]) == (stale, STALE_APP)
    assert body["appId"] == graph.tenant.app_principal(STALE_APP).client_id
    assert unknown_properties(body, ServicePrincipal) == []
    selected = await ok(
        await graph.get(
            f"/v1.0/directoryObjects/{stale}", token=reader, params={"$select": "id,appId"}
        )
    )
    assert set(selected) == {"@odata.context", "@odata.type", "id", "appId"}
    adele = await ok(await graph.get(f"/v1.0/directoryObjects/{graph.uid('adele')}", token=reader))
    assert adele["@odata.type"] == "#microsoft.graph.user"
    missing = await graph.get(f"/v1.0/directoryObjects/{uuid.uuid4()}", token=reader)
    assert (await error_of(missing, 404))["code"] == "Request_ResourceNotFound"


async def test_service_principals_list_the_apps_holding_roles(graph: Graph) -> None:
    reader = graph.tokens.app(["Application.Read.All"])
    body = await ok(
        await graph.get(
            "/v1.0/servicePrincipals",
            token=reader,
            params={"$filter": f"displayName eq '{STALE_APP}'", "$select": "id,appId"},
        )
    )
    assert [item["id"] for item in body["value"]] == [sp_id(graph.tenant, STALE_APP)]


async def test_an_apps_role_assignment_expands_its_principal_as_a_service_principal(
    graph: Graph,
) -> None:
    stale = sp_id(graph.tenant, STALE_APP)
    body = await ok(
        await graph.get(
            INSTANCES,
            params={"$filter": f"principalId eq '{stale}'", "$expand": "principal"},
        )
    )
    [instance] = body["value"]
    assert instance["roleDefinitionId"] == APP_ADMIN
    assert instance["startDateTime"] is None  # assigned directly, outside PIM
    assert instance["principal"]["@odata.type"] == "#microsoft.graph.servicePrincipal"
    assert instance["principal"]["displayName"] == STALE_APP
    busy = sp_id(graph.tenant, BUSY_APP)
    body = await ok(
        await graph.get(
            "/v1.0/roleManagement/directory/roleAssignmentSchedules",
            params={"$filter": f"principalId eq '{busy}'", "$expand": "principal"},
        )
    )
    [schedule] = body["value"]
    assert (schedule["roleDefinitionId"], schedule["memberType"]) == (USER_ADMIN, "Direct")
    assert schedule["principal"]["appId"] == graph.tenant.app_principal(BUSY_APP).client_id


async def test_the_sign_in_activity_report_tells_when_each_app_last_signed_in(
    graph: Graph,
) -> None:
    auditor = graph.tokens.app(["AuditLog.Read.All"])
    body = await ok(await graph.get(SIGN_INS, token=auditor))
    by_app = {item["appId"]: item for item in body["value"]}
    stale = graph.tenant.app_principal(STALE_APP)
    assert by_app[stale.client_id]["lastSignInActivity"]["lastSignInDateTime"] == (
        "2026-04-20T03:10:00Z"
    )
    assert graph.tenant.pimbot_app.client_id not in by_app  # no sign-in recorded in the file
    for item in body["value"]:
        assert base64.b64decode(item["id"]).decode() == item["appId"]
        assert unknown_properties(item, ServicePrincipalSignInActivity) == []
    one = await ok(
        await graph.get(
            SIGN_INS, token=auditor, params={"$filter": f"appId eq '{stale.client_id}'"}
        )
    )
    assert [item["appId"] for item in one["value"]] == [stale.client_id]
    item_id = one["value"][0]["id"]
    single = await ok(await graph.get(f"{SIGN_INS}/{item_id}", token=auditor))
    assert single["appId"] == stale.client_id
    # Beta only, and it needs AuditLog.Read.All (or Directory.Read.All).
    assert (await graph.get(SIGN_INS.replace("/beta/", "/v1.0/"), token=auditor)).status in (
        400,
        404,
    )
    refused = await graph.get(SIGN_INS, token=graph.tokens.app(["User.Read.All"]))
    assert (await error_of(refused, 403))["code"] == "Authorization_RequestDenied"


async def test_an_app_cannot_be_made_eligible_but_its_assignment_can_be_removed(
    graph: Graph,
) -> None:
    """Graph: an eligibility's principal "can be a user or a role-assignable group. You can grant
    only active assignments service principals." Removing the app's active assignment works as
    for anyone (adminRemove)."""
    stale = sp_id(graph.tenant, STALE_APP)
    admin = graph.tokens.app(["RoleManagement.ReadWrite.Directory"])
    eligible = await graph.post(
        "/v1.0/roleManagement/directory/roleEligibilityScheduleRequests",
        token=admin,
        json={
            "action": "adminAssign",
            "principalId": stale,
            "roleDefinitionId": APP_ADMIN,
            "directoryScopeId": "/",
            "justification": "try",
            "scheduleInfo": {"expiration": {"type": "noExpiration"}},
        },
    )
    error = await error_of(eligible, 400)
    assert "service principal" in error["message"]
    assert not [
        s for s in graph.twin.state.schedules if s.principal_id == stale and s.kind != "assignment"
    ]
    removed = await graph.post(
        REQUESTS,
        token=admin,
        json={
            "action": "adminRemove",
            "principalId": stale,
            "roleDefinitionId": APP_ADMIN,
            "directoryScopeId": "/",
            "justification": "stale app",
        },
    )
    assert (await ok(removed, 201))["status"] == "Revoked"
    assert not [s for s in graph.twin.state.schedules if s.principal_id == stale]
    principal = graph.twin.state.audits[-1]["targetResources"][1]
    assert (principal["id"], principal["type"]) == (stale, "ServicePrincipal")
    assert principal["displayName"] == STALE_APP


def test_an_assignment_names_a_user_or_an_app_never_both() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        AssignmentSpec(user="grady", app=STALE_APP, role="Exchange Administrator")
    with pytest.raises(ValueError, match="exactly one"):
        AssignmentSpec(role="Exchange Administrator")
    data = load_tenant().model_dump()
    data["assignments"].append({"app": "No Such App", "role": "Global Administrator"})
    with pytest.raises(ValueError, match="No Such App"):
        DemoTenant.model_validate(data)
