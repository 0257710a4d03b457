"""`roleManagement/directory/roleEligibilityScheduleRequests`: making someone eligible for a role
(`adminAssign`) or taking it away (`adminRemove`), and reading those requests back. PIM's rules
for them are in `bot/sandbox/graph/eligibility_requests.py`."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_ELIGIBILITIES
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.eligibility_requests import EligibilityRequests
from bot.sandbox.graph.errors import not_found
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes

routes = Routes()
_REQUESTS = "roleManagement/directory/roleEligibilityScheduleRequests"
_TYPE = "unifiedRoleEligibilityScheduleRequest"
_FILTERABLE = ("id", "principalId", "roleDefinitionId", "status", "action", "directoryScopeId")


@routes.route("GET", f"/{_REQUESTS}")
def list_requests(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ELIGIBILITIES)
    return twin.collection(
        request,
        _REQUESTS,
        [shapes.schedule_request(r) for r in twin.roles.state.eligibility_requests],
        properties=shapes.REQUEST_PROPERTIES,
        filterable=_FILTERABLE,
        type_name=_TYPE,
    )


@routes.route("POST", f"/{_REQUESTS}")
def create_request(twin: TwinContext, request: GraphRequest, _: re.Match[str]) -> GraphResponse:
    rules = EligibilityRequests(twin.roles, twin.roles.audit)
    created = rules.submit(request.caller, request.body)
    return GraphResponse(
        201,
        {
            "@odata.context": f"{request.service_root}/$metadata#{_REQUESTS}/$entity",
            **shapes.schedule_request(created),
        },
    )


@routes.route("GET", f"/{_REQUESTS}/{ID}")
def get_request(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    request.caller.require(READ_ELIGIBILITIES)
    found = next((r for r in twin.roles.state.eligibility_requests if r.id == match["id"]), None)
    if found is None:
        raise not_found(f"The request '{match['id']}' does not exist.")
    return twin.entity(
        request,
        _REQUESTS,
        shapes.schedule_request(found),
        properties=shapes.REQUEST_PROPERTIES,
        type_name=_TYPE,
    )
