"""`roleManagement/directory/roleDefinitions`: the tenant's directory roles."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_ROLE_DEFINITIONS
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import directory_not_found
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes

routes = Routes()
_ROLE_DEFINITIONS = "roleManagement/directory/roleDefinitions"


@routes.route("GET", f"/{_ROLE_DEFINITIONS}")
def list_role_definitions(
    twin: TwinContext, request: GraphRequest, _: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ROLE_DEFINITIONS)
    return twin.collection(
        request,
        _ROLE_DEFINITIONS,
        [shapes.role_definition(role) for role in twin.tenant.roles],
        properties=shapes.ROLE_DEFINITION_PROPERTIES,
        filterable=("id", "displayName", "isBuiltIn", "templateId"),
        type_name="unifiedRoleDefinition",
    )


@routes.route("GET", f"/{_ROLE_DEFINITIONS}/{ID}")
def get_role_definition(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ROLE_DEFINITIONS)
    try:
        role = twin.tenant.role(match["id"])
    except KeyError:
        raise directory_not_found(match["id"]) from None
    if role.id.lower() != match["id"].lower():
        raise directory_not_found(match["id"])  # by id only, not by name
    return twin.entity(
        request,
        _ROLE_DEFINITIONS,
        shapes.role_definition(role),
        properties=shapes.ROLE_DEFINITION_PROPERTIES,
        type_name="unifiedRoleDefinition",
    )
