"""`roleManagement/directory/roleAssignments`: active role assignments as the directory sees
them, and assigning or removing one directly (outside PIM's schedule requests)."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_DIRECT_ASSIGNMENTS
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import GraphHttpError, directory_not_found
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes

routes = Routes()
_ROLE_ASSIGNMENTS = "roleManagement/directory/roleAssignments"


@routes.route("GET", f"/{_ROLE_ASSIGNMENTS}")
def list_role_assignments(
    twin: TwinContext, request: GraphRequest, _: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_DIRECT_ASSIGNMENTS)
    return twin.collection(
        request,
        _ROLE_ASSIGNMENTS,
        [shapes.role_assignment(s) for s in twin.in_force("assignment")],
        properties=shapes.ROLE_ASSIGNMENT_PROPERTIES,
        type_name="unifiedRoleAssignment",
        expanders=twin.directory_expanders(),
    )


@routes.route("GET", f"/{_ROLE_ASSIGNMENTS}/{ID}")
def get_role_assignment(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_DIRECT_ASSIGNMENTS)
    items = [shapes.role_assignment(s) for s in twin.in_force("assignment")]
    try:
        item = twin.find(items, match["id"], "role assignment")
    except GraphHttpError:
        raise directory_not_found(match["id"]) from None
    return twin.entity(
        request,
        _ROLE_ASSIGNMENTS,
        item,
        properties=shapes.ROLE_ASSIGNMENT_PROPERTIES,
        type_name="unifiedRoleAssignment",
        expanders=twin.directory_expanders(),
    )


@routes.route("POST", f"/{_ROLE_ASSIGNMENTS}")
def create_role_assignment(
    twin: TwinContext, request: GraphRequest, _: re.Match[str]
) -> GraphResponse:
    schedule = twin.roles.assign_directly(request.caller, request.body)
    return GraphResponse(
        201,
        {
            "@odata.context": f"{request.service_root}/$metadata#{_ROLE_ASSIGNMENTS}/$entity",
            **shapes.role_assignment(schedule),
        },
    )


@routes.route("DELETE", f"/{_ROLE_ASSIGNMENTS}/{ID}")
def delete_role_assignment(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    twin.roles.remove_directly(request.caller, match["id"])
    return GraphResponse(204)
