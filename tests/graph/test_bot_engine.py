"""BotEngine: app-only adminAssign / adminExtend / adminRemove and the end time Graph reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from bot.domain import ActivationRequest, Person, RequestState, Role, Ticket
from bot.graph.assignments import AssignmentWindow, schedule_request_body
from bot.graph.bot_engine import BotEngine
from bot.graph.errors import (
    GraphError,
    PolicyValidationFailed,
    RoleAssignmentDoesNotExist,
    RoleAssignmentExists,
)
from tests.graph.fakes import GRAPH, graph_error, graph_http

REQUESTS = f"{GRAPH}/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
INSTANCES = f"{GRAPH}/v1.0/roleManagement/directory/roleAssignmentScheduleInstances"
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
USER = "071cc716-8147-4397-a5ba-b2105951cc0b"
ROLE = "8424c6f0-a189-499e-bbd0-26c1753c96d4"

# The selfActivate example of Graph's "Create roleAssignmentScheduleRequests" page; pimbot
# sends the adminAssign twin of it.
DOCUMENTED_EXAMPLE: dict[str, Any] = {
    "action": "selfActivate",
    "principalId": "071cc716-...",
    "roleDefinitionId": "8424c6f0-...",
    "directoryScopeId": "/",
    "justification": "I need access ...",
    "scheduleInfo": {
        "startDateTime": "2022-04-14T00:00:00.000Z",
        "expiration": {"type": "AfterDuration", "duration": "PT5H"},
    },
    "ticketInfo": {"ticketNumber": "CONTOSO:Normal-67890", "ticketSystem": "MS Project"},
}


def make_request(**changes: Any) -> ActivationRequest:
    fields: dict[str, Any] = {
        "id": "req-1",
        "tenant_id": "tenant-1",
        "requester": Person(id=USER, tenant_id="tenant-1", display_name="Ada"),
        "role": Role(id=ROLE, display_name="Attribute Definition Administrator"),
        "duration": timedelta(hours=5),
        "justification": "I need access ...",
        "ticket": Ticket(number="CONTOSO:Normal-67890", system="MS Project"),
        "state": RequestState.ACTIVATING,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(changes)
    return ActivationRequest(**fields)


def shape(value: Any) -> Any:
    """Keys all the way down, values replaced by their JSON kind."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return type(value).__name__


def created(
    status: str = "Provisioned", schedule_info: dict[str, Any] | None = None, **extra: Any
) -> httpx.Response:
    return httpx.Response(
        201,
        headers={"request-id": "rid-1"},
        json={
            "id": "graph-req-1",
            "status": status,
            "action": "adminAssign",
            "principalId": USER,
            "roleDefinitionId": ROLE,
            "directoryScopeId": "/",
            "targetScheduleId": "graph-req-1",
            "createdBy": {"application": {"id": "app", "displayName": "pimbot"}, "user": None},
            "scheduleInfo": schedule_info
            if schedule_info is not None
            else {
                "startDateTime": "2024-05-01T09:00:01.5Z",
                "recurrence": None,
                "expiration": {"type": "afterDuration", "endDateTime": None, "duration": "PT5H"},
            },
            "ticketInfo": {"ticketNumber": None, "ticketSystem": None},
            **extra,
        },
    )


def instances(*items: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"value": list(items)})


def instance(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "inst-1",
        "principalId": USER,
        "roleDefinitionId": ROLE,
        "directoryScopeId": "/",
        "startDateTime": "2024-05-01T09:00:02Z",
        "endDateTime": "2024-05-01T14:00:02Z",
        "assignmentType": "Assigned",
        "memberType": "Direct",
        "roleAssignmentScheduleId": "graph-req-1",
    }
    item.update(changes)
    return item


def test_the_activation_body_has_exactly_the_documented_shape() -> None:
    body = schedule_request_body("adminAssign", make_request(), NOW)

    assert body == {
        "action": "adminAssign",
        "principalId": USER,
        "roleDefinitionId": ROLE,
        "directoryScopeId": "/",
        "justification": "I need access ...",
        "ticketInfo": {"ticketNumber": "CONTOSO:Normal-67890", "ticketSystem": "MS Project"},
        "scheduleInfo": {
            "startDateTime": "2024-05-01T09:00:00Z",
            "expiration": {"type": "afterDuration", "duration": "PT5H"},
        },
    }
    assert shape(body) == shape(DOCUMENTED_EXAMPLE)


def test_without_a_justification_the_body_still_carries_one_for_the_admin_policy() -> None:
    body = schedule_request_body("adminAssign", make_request(justification="", ticket=None), NOW)

    assert body["justification"] == "Activated through pimbot (request req-1)"
    assert "ticketInfo" not in body


def test_a_naive_start_is_taken_as_utc() -> None:
    body = schedule_request_body("adminAssign", make_request(), datetime(2024, 5, 1, 9, 0))
    assert body["scheduleInfo"]["startDateTime"] == "2024-05-01T09:00:00Z"  # type: ignore[index]


@respx.mock
async def test_activate_posts_admin_assign_and_takes_the_provisioned_window_as_answered() -> None:
    """A provisioned answer carries the schedule in force: no second round trip reads it back."""
    post = respx.post(REQUESTS).mock(return_value=created())
    read_back = respx.get(url__startswith=INSTANCES).mock(return_value=instances(instance()))

    async with graph_http() as http:
        result = await BotEngine(http, now=lambda: NOW).activate(make_request())

    assert json.loads(post.calls[0].request.content) == schedule_request_body(
        "adminAssign", make_request(), NOW
    )
    assert not read_back.called
    assert result.graph_request_id == "graph-req-1"
    assert result.status == "Provisioned"
    assert result.start == datetime(2024, 5, 1, 9, 0, 1, 500000, tzinfo=UTC)
    assert result.end == datetime(2024, 5, 1, 14, 0, 1, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "schedule_info"),
    [
        ("PendingProvisioning", None),
        ("Granted", None),
        ("Provisioned", {}),
        ("Provisioned", {"startDateTime": "2024-05-01T09:00:01.5Z"}),
        (
            "Provisioned",
            {"startDateTime": "2024-05-01T09:00:01.5Z", "expiration": {"type": "notSpecified"}},
        ),
    ],
)
@respx.mock
async def test_an_answer_without_the_schedule_in_force_is_read_back_and_the_instance_wins(
    status: str, schedule_info: dict[str, Any] | None
) -> None:
    respx.post(REQUESTS).mock(return_value=created(status=status, schedule_info=schedule_info))
    read_back = respx.get(url__startswith=INSTANCES).mock(return_value=instances(instance()))

    async with graph_http() as http:
        result = await BotEngine(http, now=lambda: NOW).activate(make_request())

    assert read_back.calls[0].request.url.params["$filter"] == (
        f"principalId eq '{USER}' and roleDefinitionId eq '{ROLE}'"
    )
    assert result.start == datetime(2024, 5, 1, 9, 0, 2, tzinfo=UTC)
    assert result.end == datetime(2024, 5, 1, 14, 0, 2, tzinfo=UTC)


@respx.mock
async def test_without_an_instance_the_end_is_the_answers_start_plus_its_duration() -> None:
    respx.post(REQUESTS).mock(return_value=created(status="PendingProvisioning"))
    respx.get(url__startswith=INSTANCES).mock(return_value=instances())

    async with graph_http() as http:
        result = await BotEngine(http, now=lambda: NOW).activate(make_request())

    assert result.start == datetime(2024, 5, 1, 9, 0, 1, 500000, tzinfo=UTC)
    assert result.end == datetime(2024, 5, 1, 14, 0, 1, 500000, tzinfo=UTC)


@respx.mock
async def test_an_end_date_time_in_the_answer_wins_over_its_duration() -> None:
    respx.post(REQUESTS).mock(
        return_value=created(
            schedule_info={
                "startDateTime": "2024-05-01T09:00:00Z",
                "expiration": {
                    "type": "afterDuration",
                    "endDateTime": "2024-05-01T13:00:00Z",
                    "duration": "PT5H",
                },
            }
        )
    )

    async with graph_http() as http:
        result = await BotEngine(http, now=lambda: NOW).activate(make_request())

    assert result.end == datetime(2024, 5, 1, 13, 0, tzinfo=UTC)


@respx.mock
async def test_the_instance_of_this_request_wins_over_other_instances() -> None:
    respx.post(REQUESTS).mock(return_value=created(status="PendingProvisioning"))
    respx.get(url__startswith=INSTANCES).mock(
        return_value=instances(
            instance(id="other", roleAssignmentScheduleId="x", endDateTime="2024-05-02T00:00:00Z"),
            instance(),
            instance(id="au", directoryScopeId="/administrativeUnits/1", endDateTime=None),
        )
    )

    async with graph_http() as http:
        result = await BotEngine(http, now=lambda: NOW).activate(make_request())

    assert result.end == datetime(2024, 5, 1, 14, 0, 2, tzinfo=UTC)


@respx.mock
async def test_a_failed_read_back_keeps_the_activation_and_the_derived_end() -> None:
    respx.post(REQUESTS).mock(return_value=created(status="PendingProvisioning"))
    respx.get(url__startswith=INSTANCES).mock(return_value=graph_error("accessDenied", status=403))

    async with graph_http() as http:
        result = await BotEngine(http, now=lambda: NOW).activate(make_request())

    assert result.status == "PendingProvisioning"
    assert result.end == datetime(2024, 5, 1, 14, 0, 1, 500000, tzinfo=UTC)


@respx.mock
async def test_extend_posts_admin_extend_from_now_until_the_current_end_plus_the_duration() -> None:
    later = NOW + timedelta(hours=4)
    post = respx.post(REQUESTS).mock(return_value=created())
    respx.get(url__startswith=INSTANCES).mock(return_value=instances(instance()))  # ends 14:00:02

    async with graph_http() as http:
        await BotEngine(http, now=lambda: later).extend(make_request(duration=timedelta(hours=2)))

    body = json.loads(post.calls[0].request.content)
    assert body["action"] == "adminExtend"
    assert body["scheduleInfo"] == {
        "startDateTime": "2024-05-01T13:00:00Z",
        "expiration": {"type": "afterDateTime", "endDateTime": "2024-05-01T16:00:02Z"},
    }


@respx.mock
async def test_extend_without_a_time_bound_assignment_is_role_assignment_does_not_exist() -> None:
    post = respx.post(REQUESTS).mock(return_value=created())
    respx.get(url__startswith=INSTANCES).mock(return_value=instances())

    async with graph_http() as http:
        with pytest.raises(RoleAssignmentDoesNotExist):
            await BotEngine(http, now=lambda: NOW).extend(make_request())
    assert not post.called


@respx.mock
async def test_deactivate_posts_admin_remove() -> None:
    post = respx.post(REQUESTS).mock(return_value=created(status="Revoked", schedule_info={}))

    async with graph_http() as http:
        await BotEngine(http, now=lambda: NOW).deactivate(USER, ROLE)

    assert json.loads(post.calls[0].request.content) == {
        "action": "adminRemove",
        "principalId": USER,
        "roleDefinitionId": ROLE,
        "directoryScopeId": "/",
        "justification": "Deactivated through pimbot",
    }


@pytest.mark.parametrize(
    ("code", "message", "error_class"),
    [
        ("RoleAssignmentExists", "The Role assignment already exists.", RoleAssignmentExists),
        (
            "RoleAssignmentRequestPolicyValidationFailed",
            'The following policy rules failed: ["ExpirationRule"]',
            PolicyValidationFailed,
        ),
    ],
)
@respx.mock
async def test_graph_refusals_reach_the_caller_as_their_own_class(
    code: str, message: str, error_class: type[GraphError]
) -> None:
    respx.post(REQUESTS).mock(return_value=graph_error(code, message))

    async with graph_http() as http:
        with pytest.raises(error_class):
            await BotEngine(http, now=lambda: NOW).activate(make_request())


@respx.mock
async def test_a_request_that_graph_reports_as_failed_is_an_error() -> None:
    respx.post(REQUESTS).mock(return_value=created(status="Failed"))

    async with graph_http() as http:
        with pytest.raises(GraphError, match="Failed"):
            await BotEngine(http, now=lambda: NOW).activate(make_request())


@respx.mock
async def test_current_assignment_reads_the_schedule_instance_or_reports_none() -> None:
    respx.get(url__startswith=INSTANCES).mock(
        side_effect=[instances(instance()), instances(), instances(instance(endDateTime=None))]
    )

    async with graph_http() as http:
        engine = BotEngine(http, now=lambda: NOW)
        active = await engine.current_assignment(USER, ROLE)
        gone = await engine.current_assignment(USER, ROLE)
        permanent = await engine.current_assignment(USER, ROLE)

    assert active == AssignmentWindow(
        start=datetime(2024, 5, 1, 9, 0, 2, tzinfo=UTC),
        end=datetime(2024, 5, 1, 14, 0, 2, tzinfo=UTC),
        assignment_type="Assigned",
    )
    assert gone is None
    assert permanent is not None and permanent.end is None
