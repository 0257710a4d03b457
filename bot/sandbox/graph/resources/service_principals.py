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

from bot.sandbox.entra import service_principal_id
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError
from bot.sandbox.graph.principals import (
    GRAPH_APP_ROLES,
    MICROSOFT_GRAPH_APP_ID,
    SERVICE_PRINCIPAL_FIELDS,
    ServicePrincipal,
    find_service_principal,
    service_principals,
)
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json
from bot.sandbox.tenant import DemoTenant

routes = Routes()
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

SERVICE_PRINCIPAL_PROPERTIES = SERVICE_PRINCIPAL_FIELDS
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


def _assignments(tenant: DemoTenant, principal: ServicePrincipal) -> list[Json]:
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


def _principal(twin: TwinContext, object_id: str) -> ServicePrincipal:
    found = find_service_principal(twin.tenant, object_id)
    if found is not None:
        return found
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
        [p.json for p in service_principals(twin.tenant)],
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
