"""The Graph twin's service principals and their app role assignments: which application
permissions each app of the tenant has been granted with admin consent.

- `GET /servicePrincipals` (with `$filter=appId eq '…'`): the tenant's apps, its managed
  identities, and Microsoft Graph itself, whose `appRoles` name every application permission by
  its id (the ids are Microsoft's, the same in every tenant).
- `GET /servicePrincipals/{id}`, `GET /servicePrincipals/{id}/appRoleAssignments`: what a
  principal holds; one assignment per consented permission, `resourceId` Microsoft Graph's
  service principal. An app's `application_permissions` in the tenant file are exactly its
  assignments, and they are also what its app-only tokens carry in `roles`.
- `GET /servicePrincipals/{id}/oauth2PermissionGrants`: the delegated permissions an admin
  consented to for all users (`consentType: AllPrincipals`), the app's `delegated_permissions`,
  which the Entra twin's on-behalf-of exchange honours.

Reading principals and assignments needs `Application.Read.All` (or a higher permission),
reading delegated grants `Directory.Read.All` (or higher), as Graph documents them. Object ids
are those of the Entra twin's tokens (`oid` of an app-only token is its service principal).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from bot.sandbox.entra import service_principal_id
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json
from bot.sandbox.tenant import DemoTenant

routes = Routes()
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
READ_SERVICE_PRINCIPALS = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
READ_DELEGATED_GRANTS = (
    "Directory.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.ReadWrite.All",
)
READ_APP_ROLE_ASSIGNMENTS = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
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

SERVICE_PRINCIPAL_PROPERTIES = (
    "id",
    "appId",
    "displayName",
    "servicePrincipalType",
    "accountEnabled",
    "appOwnerOrganizationId",
    "appRoles",
)
APP_ROLE_ASSIGNMENT_PROPERTIES = (
    "id",
    "appRoleId",
    "createdDateTime",
    "deletedDateTime",
    "principalDisplayName",
    "principalId",
    "principalType",
    "resourceDisplayName",
    "resourceId",
)
_MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # owner of Microsoft's first-party apps


@dataclass(frozen=True)
class _Principal:
    json: Json
    permissions: tuple[str, ...]
    delegated: tuple[str, ...] = ()


def _principals(tenant: DemoTenant) -> list[_Principal]:
    graph: Json = {
        "id": service_principal_id(MICROSOFT_GRAPH_APP_ID),
        "appId": MICROSOFT_GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "servicePrincipalType": "Application",
        "accountEnabled": True,
        "appOwnerOrganizationId": _MICROSOFT_TENANT,
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
    principals = [_Principal(graph, ())]
    for app in tenant.apps:
        principals.append(
            _Principal(
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
            )
        )
    for identity in tenant.managed_identities:
        principals.append(
            _Principal(
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
            )
        )
    return principals


def _assignments(tenant: DemoTenant, principal: _Principal) -> list[Json]:
    graph_id = service_principal_id(MICROSOFT_GRAPH_APP_ID)
    return [
        {
            "id": str(uuid.uuid5(uuid.UUID(graph_id), f"{principal.json['id']}:{name}")),
            "appRoleId": GRAPH_APP_ROLES[name],
            "createdDateTime": "2026-01-05T09:00:00Z",
            "deletedDateTime": None,
            "principalDisplayName": principal.json["displayName"],
            "principalId": principal.json["id"],
            "principalType": "ServicePrincipal",
            "resourceDisplayName": "Microsoft Graph",
            "resourceId": graph_id,
        }
        for name in principal.permissions
        if name in GRAPH_APP_ROLES
    ]


def _principal(twin: TwinContext, object_id: str) -> _Principal:
    for principal in _principals(twin.tenant):
        if str(principal.json["id"]).lower() == object_id.lower():
            return principal
    raise GraphHttpError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


@routes.route("GET", "/servicePrincipals")
def list_service_principals(
    twin: TwinContext, request: GraphRequest, _: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_SERVICE_PRINCIPALS)
    return twin.collection(
        request,
        "servicePrincipals",
        [p.json for p in _principals(twin.tenant)],
        properties=SERVICE_PRINCIPAL_PROPERTIES,
        filterable=("id", "appId", "displayName", "servicePrincipalType"),
        type_name="servicePrincipal",
    )


@routes.route("GET", f"/servicePrincipals/{ID}")
def get_service_principal(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_SERVICE_PRINCIPALS)
    return twin.entity(
        request,
        "servicePrincipals",
        _principal(twin, match["id"]).json,
        properties=SERVICE_PRINCIPAL_PROPERTIES,
        type_name="servicePrincipal",
    )


@routes.route("GET", f"/servicePrincipals/{ID}/appRoleAssignments")
def list_app_role_assignments(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_APP_ROLE_ASSIGNMENTS)
    principal = _principal(twin, match["id"])
    return twin.collection(
        request,
        f"servicePrincipals('{principal.json['id']}')/appRoleAssignments",
        _assignments(twin.tenant, principal),
        properties=APP_ROLE_ASSIGNMENT_PROPERTIES,
        filterable=("resourceId", "appRoleId"),
        type_name="appRoleAssignment",
    )


@routes.route("GET", f"/servicePrincipals/{ID}/oauth2PermissionGrants")
def list_delegated_grants(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_DELEGATED_GRANTS)
    principal = _principal(twin, match["id"])
    client_id = str(principal.json["id"])
    graph_id = service_principal_id(MICROSOFT_GRAPH_APP_ID)
    grants = (
        [
            {
                "id": str(uuid.uuid5(uuid.UUID(graph_id), f"grant:{client_id}")),
                "clientId": client_id,
                "consentType": "AllPrincipals",
                "principalId": None,
                "resourceId": graph_id,
                "scope": " ".join(principal.delegated),
            }
        ]
        if principal.delegated
        else []
    )
    return twin.collection(
        request,
        "oauth2PermissionGrants",
        grants,
        properties=("id", "clientId", "consentType", "principalId", "resourceId", "scope"),
        filterable=("clientId", "consentType", "resourceId"),
        type_name="oAuth2PermissionGrant",
    )
