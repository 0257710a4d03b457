"""The tenant's service principals as Graph's directory holds them: one per app registration and
managed identity of the demo tenant, and Microsoft Graph's own (whose `appRoles` name every
application permission). The resources that serve them (`/servicePrincipals`,
`/directoryObjects/{id}`, a role assignment's expanded `principal`, the sign-in activity report)
all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.sandbox.entra import service_principal_id
from bot.sandbox.tenant import DemoTenant, ManagedIdentitySpec

Json = dict[str, Any]
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # owner of Microsoft's first-party apps
SERVICE_PRINCIPAL_TYPE = "#microsoft.graph.servicePrincipal"
SERVICE_PRINCIPAL_FIELDS = (
    "id",
    "appId",
    "displayName",
    "servicePrincipalType",
    "accountEnabled",
    "appOwnerOrganizationId",
    "appRoles",
)

# Microsoft Graph's application permissions (app roles) by name: their ids as in Microsoft
# Graph's service principal of every tenant (Microsoft Graph permissions reference).
GRAPH_APP_ROLES = {
    "AccessReview.ReadWrite.All": "ef5f7d5c-338f-44b0-86c3-351f46c8bb5f",
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "DelegatedPermissionGrant.Read.All": "81b4724a-58aa-41c1-8a55-84ef97466587",
    "AppRoleAssignment.ReadWrite.All": "06b708a9-e830-4db3-a914-8e69da51d44f",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "RoleAssignmentSchedule.Read.Directory": "d5fe8ce8-684c-4c83-a52c-46e882ce4be1",
    "RoleAssignmentSchedule.ReadWrite.Directory": "dd199f4a-f148-40a4-a2ec-f0069cc799ec",
    "RoleAssignmentSchedule.Remove.Directory": "d3495511-98b7-4df3-b317-4e35c19f6129",
    "RoleEligibilitySchedule.Read.Directory": "ff278e11-4a33-4d0c-83d2-d01dc58929a5",
    "RoleEligibilitySchedule.ReadWrite.Directory": "fee28b28-e1f3-4841-818e-2704dc62245f",
    "RoleManagement.Read.All": "c7fbd983-d9aa-4fa7-84b8-17382c103bc4",
    "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
    "RoleManagement.ReadWrite.Directory": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "RoleManagementAlert.Read.Directory": "ef31918f-2d50-4755-8943-b8638c0a077e",
    "RoleManagementAlert.ReadWrite.Directory": "11059518-d6a6-4851-98ed-509268489c4a",
    "RoleManagementPolicy.Read.Directory": "fdc4c997-9942-4479-bfcb-75a36d1138df",
    "RoleManagementPolicy.ReadWrite.Directory": "31e08e0a-d3f7-4ca2-ac39-7343fb83e8ad",
    "TeamsAppInstallation.ReadWriteSelfForUser.All": "908de74d-f8b2-4d6b-a9ed-2a17b3b78179",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "User.ReadBasic.All": "97235f07-e226-4f63-ace3-39588e11d3a1",
    "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
}


@dataclass(frozen=True)
class ServicePrincipal:
    json: Json  # Graph's servicePrincipal, without `@odata.type`
    permissions: tuple[str, ...]
    delegated: tuple[str, ...] = ()
    last_sign_in: datetime | None = None  # the sign-in activity report's lastSignInActivity

    @property
    def id(self) -> str:
        return str(self.json["id"])

    @property
    def app_id(self) -> str:
        return str(self.json["appId"])


def service_principals(tenant: DemoTenant) -> list[ServicePrincipal]:
    graph: Json = {
        "id": service_principal_id(MICROSOFT_GRAPH_APP_ID),
        "appId": MICROSOFT_GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "appOwnerOrganizationId": MICROSOFT_TENANT,
        "appRoles": [
            {
                "allowedMemberTypes": ["Application"],
                "description": f"Application permission {name} of Microsoft Graph.",
                "displayName": name,
                "id": role_id,
                "isEnabled": True,
                "origin": "Application",
                "value": name,
            }
            for name, role_id in GRAPH_APP_ROLES.items()
        ],
    }
    principals = [ServicePrincipal(graph, ())]
    for app in tenant.apps:
        principals.append(
            ServicePrincipal(
                {
                    "id": service_principal_id(app.client_id),
                    "appId": app.client_id,
                    "displayName": app.display_name,
                    "servicePrincipalType": "Application",
                    "accountEnabled": True,
                    "appOwnerOrganizationId": tenant.tenant_id,
                    "appRoles": [],
                },
                tuple(app.application_permissions),
                tuple(app.delegated_permissions),
                app.last_sign_in,
            )
        )
    for identity in tenant.managed_identities:
        principals.append(
            ServicePrincipal(
                {
                    "id": identity.principal_id,
                    "appId": identity.client_id,
                    "displayName": identity.display_name,
                    "servicePrincipalType": "ManagedIdentity",
                    "accountEnabled": True,
                    "appOwnerOrganizationId": None,
                    "appRoles": [],
                },
                tuple(identity.application_permissions),
                last_sign_in=identity.last_sign_in,
            )
        )
    return principals


def find_service_principal(tenant: DemoTenant, object_id: str) -> ServicePrincipal | None:
    """The service principal with this object id (case-insensitive), or None."""
    wanted = object_id.lower()
    for principal in service_principals(tenant):
        if principal.id.lower() == wanted:
            return principal
    return None


def principal_id_of(tenant: DemoTenant, ref: str) -> str:
    """The object id of the service principal of the app or managed identity `ref` names (display
    name or client id); KeyError when there is none."""
    found = tenant.app_principal(ref)
    if isinstance(found, ManagedIdentitySpec):
        return found.principal_id
    return service_principal_id(found.client_id)


def directory_object(principal: ServicePrincipal) -> Json:
    """As `/directoryObjects/{id}` or an expanded `principal` returns it: typed."""
    return {"@odata.type": SERVICE_PRINCIPAL_TYPE, **principal.json}
