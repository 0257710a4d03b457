"""PIM's schedules and their instances for directory roles, eligible and active:
`roleManagement/directory/role{Eligibility,Assignment}Schedule{s,Instances}`, each also
`filterByCurrentUser(on='principal')`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_ASSIGNMENTS, READ_ELIGIBILITIES
from bot.sandbox.graph.context import Expander, TwinContext
from bot.sandbox.graph.errors import GraphHttpError
from bot.sandbox.graph.odata import Expand, equality_value, parse_filter
from bot.sandbox.graph.router import BY_CURRENT_USER, ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.graph.shapes import Json

routes = Routes()
_DIRECTORY = "/roleManagement/directory"


def _instance_expanders(twin: TwinContext) -> dict[str, Expander]:
    def activated_using(item: Json, _: Expand) -> Json | None:
        schedule = next(
            (s for s in twin.in_force("assignment") if s.assignment_id == item["id"]), None
        )
        if schedule is None or schedule.activated_using is None:
            return None
        eligibility = next(
            (s for s in twin.in_force("eligibility") if s.id == schedule.activated_using),
            None,
        )
        return shapes.eligibility_instance(eligibility) if eligibility else None

    return {**twin.directory_expanders(), "activatedUsing": activated_using}


def _filtered_principal(request: GraphRequest) -> str | None:
    """The principal of a top-level `principalId eq '…'` in the request's `$filter`, if any. Only
    that principal's schedules are read then, as Graph's index on the principal does, so that
    the twin answers one person's schedules as fast in a tenant of 100,000 assignments as in the
    demo tenant. The whole filter still applies to what is read (and a filter that does not
    parse is refused there, as before)."""
    text = next((v for k, v in request.query.items() if k.lower() == "$filter"), None)
    try:
        principal = equality_value(parse_filter(text), "principalId")
    except GraphHttpError:
        return None
    return principal if isinstance(principal, str) else None


def _schedules_response(
    twin: TwinContext,
    request: GraphRequest,
    match: re.Match[str],
    *,
    entity_set: str,
    schedules: Callable[[str | None], list[Schedule]],
    shape: Callable[[Schedule], Json],
    properties: Sequence[str],
    type_name: str,
    expanders: Mapping[str, Expander] | None = None,
) -> GraphResponse:
    context = f"roleManagement/directory/{entity_set}"
    principal = None if match.groupdict().get("id") else _filtered_principal(request)
    items = [shape(schedule) for schedule in schedules(principal)]
    on = match.groupdict().get("on")
    if on is not None:
        user_id = twin.current_user(request, on, ("principal",))
        items = [i for i in items if str(i["principalId"]).lower() == user_id.lower()]
        context = f"Collection(microsoft.graph.{type_name})"
        items = [{"@odata.type": f"#microsoft.graph.{type_name}", **i} for i in items]
    object_id = match.groupdict().get("id")
    if object_id is not None:
        item = twin.find(items, object_id, type_name)
        return twin.entity(
            request,
            context,
            item,
            properties=properties,
            type_name=type_name,
            expanders=expanders or twin.directory_expanders(),
        )
    return twin.collection(
        request,
        context,
        items,
        properties=properties,
        type_name=type_name,
        expanders=expanders or twin.directory_expanders(),
    )


@routes.route("GET", f"{_DIRECTORY}/roleEligibilityScheduleInstances")
@routes.route("GET", f"{_DIRECTORY}/roleEligibilityScheduleInstances/{ID}")
@routes.route("GET", f"{_DIRECTORY}/roleEligibilityScheduleInstances{BY_CURRENT_USER}")
def eligibility_instances(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ELIGIBILITIES)
    return _schedules_response(
        twin,
        request,
        match,
        entity_set="roleEligibilityScheduleInstances",
        schedules=lambda principal: twin.in_force("eligibility", principal),
        shape=shapes.eligibility_instance,
        properties=shapes.ELIGIBILITY_INSTANCE_PROPERTIES,
        type_name="unifiedRoleEligibilityScheduleInstance",
    )


@routes.route("GET", f"{_DIRECTORY}/roleAssignmentScheduleInstances")
@routes.route("GET", f"{_DIRECTORY}/roleAssignmentScheduleInstances/{ID}")
@routes.route("GET", f"{_DIRECTORY}/roleAssignmentScheduleInstances{BY_CURRENT_USER}")
def assignment_instances(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ASSIGNMENTS)
    return _schedules_response(
        twin,
        request,
        match,
        entity_set="roleAssignmentScheduleInstances",
        schedules=lambda principal: twin.in_force("assignment", principal),
        shape=shapes.assignment_instance,
        properties=shapes.ASSIGNMENT_INSTANCE_PROPERTIES,
        type_name="unifiedRoleAssignmentScheduleInstance",
        expanders=_instance_expanders(twin),
    )


@routes.route("GET", f"{_DIRECTORY}/roleEligibilitySchedules")
@routes.route("GET", f"{_DIRECTORY}/roleEligibilitySchedules/{ID}")
@routes.route("GET", f"{_DIRECTORY}/roleEligibilitySchedules{BY_CURRENT_USER}")
def eligibility_schedules(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ELIGIBILITIES)
    return _schedules_response(
        twin,
        request,
        match,
        entity_set="roleEligibilitySchedules",
        schedules=lambda principal: twin.live("eligibility", principal),
        shape=shapes.schedule,
        properties=[p for p in shapes.SCHEDULE_PROPERTIES if p != "assignmentType"],
        type_name="unifiedRoleEligibilitySchedule",
    )


@routes.route("GET", f"{_DIRECTORY}/roleAssignmentSchedules")
@routes.route("GET", f"{_DIRECTORY}/roleAssignmentSchedules/{ID}")
@routes.route("GET", f"{_DIRECTORY}/roleAssignmentSchedules{BY_CURRENT_USER}")
def assignment_schedules(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    request.caller.require(READ_ASSIGNMENTS)
    return _schedules_response(
        twin,
        request,
        match,
        entity_set="roleAssignmentSchedules",
        schedules=lambda principal: twin.live("assignment", principal),
        shape=shapes.schedule,
        properties=shapes.SCHEDULE_PROPERTIES,
        type_name="unifiedRoleAssignmentSchedule",
    )
