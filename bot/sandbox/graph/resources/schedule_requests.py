"""`roleManagement/directory/roleAssignmentScheduleRequests`: asking PIM to activate, assign,
extend or remove a role, listing and reading those requests, and cancelling one."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_ASSIGNMENTS, WRITE_ASSIGNMENT_REQUESTS
from bot.sandbox.graph.context import Expander, TwinContext
from bot.sandbox.graph.errors import not_found
from bot.sandbox.graph.odata import Expand
from bot.sandbox.graph.router import BY_CURRENT_USER, ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json

routes = Routes()
_REQUESTS = "roleManagement/directory/roleAssignmentScheduleRequests"
_FILTERABLE = (
    "id",
    "principalId",
    "roleDefinitionId",
    "status",
    "targetScheduleId",
    "directoryScopeId",
    "appScopeId",
    "createdBy",
    "action",
)


def _expanders(twin: TwinContext) -> dict[str, Expander]:
    def target_schedule(item: Json, _: Expand) -> Json | None:
        schedule = next(
            (s for s in twin.roles.state.schedules if s.id == item.get("targetScheduleId")),
            None,
        )
        return shapes.schedule(schedule) if schedule else None

    return {**twin.directory_expanders(), "targetSchedule": target_schedule}


@routes.route("GET", f"/{_REQUESTS}")
@routes.route("GET", f"/{_REQUESTS}{BY_CURRENT_USER}")
def list_requests(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ASSIGNMENTS)
    stored = list(twin.roles.state.requests)
    context = _REQUESTS
    on = match.groupdict().get("on")
    if on is not None:
        user_id = twin.current_user(request, on, ("principal", "approver")).lower()
        if on.lower() == "principal":
            stored = [r for r in stored if r.principal_id.lower() == user_id]
        else:
            approvals = {
                a.request_id
                for a in twin.roles.state.approvals
                if twin.roles.approver_of(a, user_id)
            }
            stored = [r for r in stored if r.id in approvals]
        context = "Collection(microsoft.graph.unifiedRoleAssignmentScheduleRequest)"
    return twin.collection(
        request,
        context,
        [shapes.schedule_request(r) for r in stored],
        properties=shapes.REQUEST_PROPERTIES,
        filterable=_FILTERABLE,
        type_name="unifiedRoleAssignmentScheduleRequest",
        expanders=_expanders(twin),
    )


@routes.route("POST", f"/{_REQUESTS}")
def create_request(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    created = twin.roles.submit(request.caller, request.body)
    return GraphResponse(
        201,
        {
            "@odata.context": f"{request.service_root}/$metadata#{_REQUESTS}/$entity",
            **shapes.schedule_request(created),
        },
    )


@routes.route("GET", f"/{_REQUESTS}/{ID}")
def get_request(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ASSIGNMENTS)
    stored = twin.roles.state.request(match["id"])
    if stored is None:
        raise not_found(f"The request '{match['id']}' does not exist.")
    return twin.entity(
        request,
        _REQUESTS,
        shapes.schedule_request(stored),
        properties=shapes.REQUEST_PROPERTIES,
        type_name="unifiedRoleAssignmentScheduleRequest",
        expanders=_expanders(twin),
    )


@routes.route("POST", f"/{_REQUESTS}/{ID}/cancel")
def cancel_request(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(WRITE_ASSIGNMENT_REQUESTS)
    twin.roles.cancel(request.caller, match["id"])
    return GraphResponse(204)
