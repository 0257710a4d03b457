"""What PIM reports (schedule requests, approvals, requests waiting for an approver), read from
Graph's shapes into pimbot's terms: the workflow never sees Graph's status strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from bot.domain import (
    ApprovalStepStatus,
    AwaitingDecision,
    GraphError,
    PimRequestStatus,
    ReviewResult,
)
from bot.graph.approvals import read_approval
from bot.graph.assignments import request_status
from bot.graph.delegated import DelegatedPim, read_request
from tests.graph.fakes import GRAPH, graph_http

REQUESTS = f"{GRAPH}/v1.0/roleManagement/directory/roleAssignmentScheduleRequests"
APPROVALS = f"{GRAPH}/beta/roleManagement/directory/roleAssignmentApprovals"
NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("graph_status", "status"),
    [
        ("PendingApproval", PimRequestStatus.AWAITING_APPROVAL),
        ("PendingAdminDecision", PimRequestStatus.AWAITING_ADMIN),
        ("Granted", PimRequestStatus.GRANTED),
        ("PendingProvisioning", PimRequestStatus.GRANTED),
        ("PendingScheduleCreation", PimRequestStatus.GRANTED),
        ("ScheduleCreated", PimRequestStatus.GRANTED),
        ("Provisioned", PimRequestStatus.PROVISIONED),
        ("Denied", PimRequestStatus.DENIED),
        ("Canceled", PimRequestStatus.CANCELED),
        ("Failed", PimRequestStatus.FAILED),
        ("Revoked", PimRequestStatus.FAILED),
        ("SomethingGraphAddsLater", PimRequestStatus.FAILED),
    ],
)
def test_every_documented_request_status_has_a_meaning(
    graph_status: str, status: PimRequestStatus
) -> None:
    assert request_status(graph_status) is status


def test_only_the_two_waiting_statuses_are_pending() -> None:
    assert {s for s in PimRequestStatus if s.is_pending} == {
        PimRequestStatus.AWAITING_APPROVAL,
        PimRequestStatus.AWAITING_ADMIN,
    }


@respx.mock
async def test_a_request_read_back_keeps_graphs_own_status_word_and_its_window() -> None:
    respx.get(f"{REQUESTS}/graph-req-1").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "graph-req-1",
                "status": "PendingApproval",
                "approvalId": "approval-1",
                "scheduleInfo": {
                    "startDateTime": "2024-05-01T09:00:00Z",
                    "expiration": {"type": "afterDateTime", "endDateTime": "2024-05-01T17:00:00Z"},
                },
            },
        )
    )
    async with graph_http() as http:
        state = await read_request(http, "graph-req-1")
    assert state.id == "graph-req-1"
    assert state.status is PimRequestStatus.AWAITING_APPROVAL
    assert state.graph_status == "PendingApproval"
    assert state.approval_id == "approval-1"
    assert state.start == NOW
    assert state.end == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)


def step(**fields: Any) -> dict[str, Any]:
    return {"id": "step-1", "assignedToMe": False, **fields}


@respx.mock
async def test_an_approvals_steps_are_read_in_pimbots_terms() -> None:
    respx.get(f"{APPROVALS}/approval-1").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "approval-1",
                "steps": [
                    step(
                        id="s1",
                        status="Completed",
                        reviewResult="Approved",
                        justification="ok",
                        reviewedBy=[{"id": "megan", "displayName": "Megan Bowen"}],
                    ),
                    step(
                        id="s2", status="InProgress", reviewResult="NotReviewed", assignedToMe=True
                    ),
                    step(id="s3", status="Initializing"),
                ],
            },
        )
    )
    async with graph_http() as http:
        approval = await read_approval(http, "approval-1")
    first, second, third = approval.steps
    assert (first.status, first.review_result) == (
        ApprovalStepStatus.COMPLETED,
        ReviewResult.APPROVED,
    )
    assert (first.reviewed_by, first.justification) == ("Megan Bowen", "ok")
    assert (second.status, second.assigned_to_me) == (ApprovalStepStatus.IN_PROGRESS, True)
    assert third.status is ApprovalStepStatus.NOT_STARTED
    assert third.review_result is ReviewResult.NOT_REVIEWED
    assert approval.decided == first
    assert not approval.timed_out


@respx.mock
async def test_an_expired_stage_is_a_timeout_and_an_unknown_status_is_not_in_progress() -> None:
    respx.get(f"{APPROVALS}/approval-1").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "approval-1",
                "steps": [step(id="s1", status="Expired"), step(id="s2", status="Paused")],
            },
        )
    )
    async with graph_http() as http:
        approval = await read_approval(http, "approval-1")
    assert approval.timed_out
    assert approval.steps[1].status is ApprovalStepStatus.UNKNOWN
    assert approval.decided is None


@respx.mock
async def test_an_approval_graph_cannot_describe_is_a_graph_error() -> None:
    respx.get(f"{APPROVALS}/approval-1").mock(
        return_value=httpx.Response(200, json={"id": "approval-1", "steps": [{"status": 3}]})
    )
    async with graph_http() as http:
        with pytest.raises(GraphError) as raised:
            await read_approval(http, "approval-1")
    assert raised.value.code == "InvalidResponse"


@respx.mock
async def test_requests_waiting_for_an_approver_are_named_without_graphs_shapes() -> None:
    route = respx.get(url__startswith=f"{REQUESTS}/filterByCurrentUser").mock(
        return_value=httpx.Response(
            200,
            json={
                "value": [
                    {
                        "id": "graph-req-1",
                        "status": "PendingApproval",
                        "principal": {"id": "adele", "displayName": "Adele Vance"},
                        "roleDefinition": {"id": "role-1", "displayName": "Exchange Administrator"},
                    },
                    {"id": "graph-req-2", "status": "PendingApproval"},
                ]
            },
        )
    )
    async with httpx.AsyncClient() as client:
        pim = DelegatedPim(GRAPH, now=lambda: NOW, client=client)
        waiting = await pim.waiting_for_me("token-of-megan")
    assert waiting == [
        AwaitingDecision(
            graph_request_id="graph-req-1",
            requester_name="Adele Vance",
            role_name="Exchange Administrator",
        ),
        AwaitingDecision(graph_request_id="graph-req-2"),
    ]
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer token-of-megan"
    assert sent.url.params["$expand"] == "roleDefinition,principal"


@respx.mock
async def test_a_request_list_graph_cannot_describe_is_a_graph_error() -> None:
    respx.get(url__startswith=f"{REQUESTS}/filterByCurrentUser").mock(
        return_value=httpx.Response(200, json={"value": [{"id": "r", "principal": "Adele"}]})
    )
    async with httpx.AsyncClient() as client:
        pim = DelegatedPim(GRAPH, now=lambda: NOW, client=client)
        with pytest.raises(GraphError) as raised:
            await pim.waiting_for_me("token-of-megan")
    assert raised.value.code == "InvalidResponse"


@respx.mock
async def test_a_time_without_an_offset_is_utc_and_an_unreadable_request_is_a_graph_error() -> None:
    respx.get(f"{REQUESTS}/graph-req-1").mock(
        return_value=httpx.Response(
            200,
            json={
                "id": "graph-req-1",
                "status": "Provisioned",
                "scheduleInfo": {"startDateTime": "2024-05-01T09:00:00"},
            },
        )
    )
    respx.get(f"{REQUESTS}/graph-req-2").mock(
        return_value=httpx.Response(200, json={"id": "graph-req-2"})
    )
    async with graph_http() as http:
        state = await read_request(http, "graph-req-1")
        with pytest.raises(GraphError) as raised:
            await read_request(http, "graph-req-2")
    assert (state.status, state.start, state.end) == (PimRequestStatus.PROVISIONED, NOW, None)
    assert raised.value.code == "InvalidResponse"
