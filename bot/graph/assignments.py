"""Role assignments: the schedule requests pimbot sends and the schedule instances that show
what Graph granted, tenant-wide (directory scope `/`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain import ActivationRequest, PimRequestStatus
from bot.graph.http import GraphHttp
from bot.graph.models import (
    AssignmentScheduleInstance,
    ExpirationPattern,
    RequestSchedule,
    RoleAssignmentScheduleRequest,
    RoleAssignmentScheduleRequestResponse,
    TicketInfo,
)
from bot.graph.odata import odata_string

ASSIGNMENT_INSTANCES = "/roleManagement/directory/roleAssignmentScheduleInstances"
ASSIGNMENT_REQUESTS = "/roleManagement/directory/roleAssignmentScheduleRequests"
TENANT_SCOPE = "/"


@dataclass(frozen=True)
class AssignmentWindow:
    """An active assignment as Graph's schedule instance reports it. `end` None: permanent."""

    start: datetime | None
    end: datetime | None
    assignment_type: str | None = None


def end_key(end: datetime | None) -> datetime:
    """An end for sorting: no end lasts longest."""
    return end if end is not None else datetime.max.replace(tzinfo=UTC)


async def read_current_assignment(
    http: GraphHttp,
    principal_id: str,
    role_id: str,
    target_schedule_id: str | None = None,
) -> AssignmentWindow | None:
    """The principal's own tenant-wide assignment instance for the role, as Graph reports it.

    When several exist (a permanent and a time-bound one), the one created by
    `target_schedule_id` wins, else the one that lasts longest.
    """
    params = {
        "$filter": (
            f"principalId eq {odata_string(principal_id)} "
            f"and roleDefinitionId eq {odata_string(role_id)}"
        )
    }
    instances = [
        instance
        async for item in http.get_all(ASSIGNMENT_INSTANCES, params)
        if (instance := AssignmentScheduleInstance.model_validate(item)).principal_id
        == principal_id
        and instance.role_definition_id == role_id
        and (instance.directory_scope_id or TENANT_SCOPE) == TENANT_SCOPE
    ]
    if not instances:
        return None
    chosen = next(
        (
            instance
            for instance in instances
            if target_schedule_id and instance.role_assignment_schedule_id == target_schedule_id
        ),
        None,
    ) or max(instances, key=lambda instance: end_key(instance.end_date_time))
    return AssignmentWindow(chosen.start_date_time, chosen.end_date_time, chosen.assignment_type)


def schedule_request_body(
    action: str, request: ActivationRequest, start: datetime, end: datetime | None = None
) -> dict[str, object]:
    """The `roleAssignmentScheduleRequests` body that assigns the role for the requested duration
    from `start`, or (with `end`) schedules it from `start` until `end`, as an app-only admin
    action."""
    ticket = (
        TicketInfo(ticket_number=request.ticket.number, ticket_system=request.ticket.system)
        if request.ticket
        else None
    )
    body = RoleAssignmentScheduleRequest(
        action=action,
        principal_id=request.requester.id,
        role_definition_id=request.role.id,
        directory_scope_id=TENANT_SCOPE,
        # The default admin policy (Enablement_Admin_Assignment) requires a justification.
        justification=request.justification or f"Activated through pimbot (request {request.id})",
        ticket_info=ticket,
        schedule_info=RequestSchedule(
            start_date_time=_as_utc(start),
            expiration=ExpirationPattern(type="afterDuration", duration=request.duration)
            if end is None
            else ExpirationPattern(type="afterDateTime", end_date_time=_as_utc(end)),
        ),
    )
    return body.to_wire()


def removal_body(action: str, principal_id: str, role_id: str) -> dict[str, object]:
    """The body that ends the principal's assignment of the role (`adminRemove`,
    `selfDeactivate`)."""
    return RoleAssignmentScheduleRequest(
        action=action,
        principal_id=principal_id,
        role_definition_id=role_id,
        directory_scope_id=TENANT_SCOPE,
        justification="Deactivated through pimbot",
    ).to_wire()


async def remove_assignment(
    http: GraphHttp, principal_id: str, role_id: str, justification: str
) -> str:
    """End the principal's active assignment of the role (`adminRemove`); the request's id."""
    body = RoleAssignmentScheduleRequest(
        action="adminRemove",
        principal_id=principal_id,
        role_definition_id=role_id,
        directory_scope_id=TENANT_SCOPE,
        justification=justification,
    ).to_wire()
    answer, _ = await http.post_json(ASSIGNMENT_REQUESTS, body)
    return RoleAssignmentScheduleRequestResponse.model_validate(answer).id


def window_from_response(
    response: RoleAssignmentScheduleRequestResponse, start: datetime, duration: timedelta
) -> tuple[datetime | None, datetime | None]:
    """(start, end) as the schedule request's answer implies them: its endDateTime, or its start
    plus its duration; what was asked for where Graph's answer says nothing."""
    info = response.schedule_info
    actual_start = info.start_date_time if info and info.start_date_time else start
    expiration = info.expiration if info else None
    if expiration and expiration.end_date_time:
        return actual_start, expiration.end_date_time
    if expiration and expiration.duration is not None:
        return actual_start, actual_start + expiration.duration
    if expiration and expiration.type.lower() == "noexpiration":
        return actual_start, None
    return actual_start, actual_start + duration


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_REQUEST_STATUSES = {
    "PendingApproval": PimRequestStatus.AWAITING_APPROVAL,
    "PendingAdminDecision": PimRequestStatus.AWAITING_ADMIN,
    "Granted": PimRequestStatus.GRANTED,
    "PendingProvisioning": PimRequestStatus.GRANTED,
    "PendingScheduleCreation": PimRequestStatus.GRANTED,
    "ScheduleCreated": PimRequestStatus.GRANTED,
    "Provisioned": PimRequestStatus.PROVISIONED,
    "Denied": PimRequestStatus.DENIED,
    "Canceled": PimRequestStatus.CANCELED,
}


def request_status(graph_status: str) -> PimRequestStatus:
    """A schedule request's status in pimbot's terms. `Failed`, `Revoked` and any status Graph
    may add later grant nothing: failed."""
    return _REQUEST_STATUSES.get(graph_status, PimRequestStatus.FAILED)
