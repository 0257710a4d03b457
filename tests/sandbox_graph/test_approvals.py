"""PIM approvals for directory roles [beta]: who may decide, exactly once, and what happens
after (PIM's own approval of a selfActivate request, decided through its approval steps)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .conftest import (
    APPROVALS,
    EXCHANGE,
    GLOBAL_ADMIN,
    INSTANCES,
    REQUESTS,
    SECURITY_READER,
    Graph,
    activation,
    error_of,
    ok,
    patch_rule,
)


async def _request_exchange(graph: Graph, handle: str = "alex") -> dict[str, Any]:
    return await ok(
        await graph.post(
            REQUESTS,
            token=graph.tokens.user(handle),
            json=activation(graph.uid(handle), EXCHANGE),
        ),
        201,
    )


async def _approval(graph: Graph, approval_id: str, as_handle: str) -> dict[str, Any]:
    return await ok(
        await graph.get(
            f"{APPROVALS}/{approval_id}",
            token=graph.tokens.user(as_handle),
            params={"$expand": "steps"},
        )
    )


async def _decide(
    graph: Graph, approval_id: str, step_id: str, as_handle: str, result: str = "Approve"
) -> Any:
    return await graph.call(
        "PATCH",
        f"{APPROVALS}/{approval_id}/steps/{step_id}",
        token=graph.tokens.user(as_handle),
        json={"reviewResult": result, "justification": "Looks right"},
    )


async def test_activation_needing_approval_waits_with_an_approval(graph: Graph) -> None:
    request = await _request_exchange(graph)
    assert request["status"] == "PendingApproval"
    assert request["approvalId"] == request["id"]
    assert request["targetScheduleId"] is None
    approval = await _approval(graph, request["approvalId"], "megan")
    [step] = approval["steps"]
    assert step["status"] == "InProgress"
    assert step["reviewResult"] == "NotReviewed"
    assert step["assignedToMe"] is True
    not_mine = await _approval(graph, request["approvalId"], "lidia")
    assert not_mine["steps"][0]["assignedToMe"] is False
    instances = await ok(
        await graph.get(INSTANCES, params={"$filter": f"principalId eq '{graph.uid('alex')}'"})
    )
    assert instances["value"] == []


async def test_approver_approves_and_the_role_becomes_active(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "megan"))["steps"][0]["id"]
    graph.clock.advance(minutes=10)
    response = await _decide(graph, request["id"], step_id, "megan")
    assert response.status == 204
    decided = await ok(await graph.get(f"{REQUESTS}/{request['id']}"))
    assert decided["status"] == "Provisioned"
    [instance] = (
        await ok(
            await graph.get(INSTANCES, params={"$filter": f"principalId eq '{graph.uid('alex')}'"})
        )
    )["value"]
    assert instance["assignmentType"] == "Activated"
    assert instance["startDateTime"] == "2026-03-02T09:10:00Z"  # from the approval on
    assert instance["endDateTime"] == "2026-03-02T10:10:00Z"
    step = (await _approval(graph, request["id"], "megan"))["steps"][0]
    assert step["reviewResult"] == "Approved"
    assert step["reviewedBy"] == [{"id": graph.uid("megan"), "displayName": "Megan Bowen"}]


async def test_approver_cannot_decide_twice(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "megan"))["steps"][0]["id"]
    assert (await _decide(graph, request["id"], step_id, "megan")).status == 204
    late = await _decide(graph, request["id"], step_id, "nestor", "Deny")
    assert (await error_of(late, 409))["code"] == "Conflict"
    assert (await ok(await graph.get(f"{REQUESTS}/{request['id']}")))["status"] == "Provisioned"


async def test_denial_ends_the_request(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "nestor"))["steps"][0]["id"]
    assert (await _decide(graph, request["id"], step_id, "nestor", "Deny")).status == 204
    assert (await ok(await graph.get(f"{REQUESTS}/{request['id']}")))["status"] == "Denied"


async def test_someone_who_is_not_an_approver_cannot_decide(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "megan"))["steps"][0]["id"]
    response = await _decide(graph, request["id"], step_id, "lidia")
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_requester_cannot_approve_their_own_request(graph: Graph) -> None:
    approvers = graph.tenant.group("PIM Approvers").id
    response = await patch_rule(
        graph,
        SECURITY_READER,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "setting": {
                "isApprovalRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [
                    {
                        "approvalStageTimeOutInDays": 1,
                        "isApproverJustificationRequired": True,
                        "primaryApprovers": [
                            {"@odata.type": "#microsoft.graph.groupMembers", "groupId": approvers}
                        ],
                    }
                ],
            },
        },
    )
    assert response.status == 204, await response.text()
    request = await ok(
        await graph.post(
            REQUESTS,
            token=graph.tokens.user("megan"),
            json=activation(graph.uid("megan"), SECURITY_READER),
        ),
        201,
    )
    step = (await _approval(graph, request["id"], "megan"))["steps"][0]
    assert step["assignedToMe"] is True  # megan is in PIM Approvers…
    own = await _decide(graph, request["id"], step["id"], "megan")
    error = await error_of(own, 403)  # …but not for her own request
    assert error["message"] == "Requestors cannot approve their own request."
    assert (await _decide(graph, request["id"], step["id"], "nestor")).status == 204


async def test_group_approvers_are_expanded_through_nested_groups(graph: Graph) -> None:
    adele = graph.uid("adele")
    request = await ok(
        await graph.post(
            REQUESTS,
            token=graph.tokens.user("adele"),
            json=activation(adele, GLOBAL_ADMIN, ticket="CHG-7"),
        ),
        201,
    )
    assert request["status"] == "PendingApproval"
    step = (await _approval(graph, request["id"], "lidia"))["steps"][0]
    assert step["assignedToMe"] is True  # PIM Approvers ⊃ Security Leads ⊃ lidia
    pending = await ok(
        await graph.get(
            REQUESTS + "/filterByCurrentUser(on='approver')",
            token=graph.tokens.user("lidia"),
            params={"$filter": "status eq 'PendingApproval'"},
        )
    )
    assert [r["id"] for r in pending["value"]] == [request["id"]]
    assert (await _decide(graph, request["id"], step["id"], "lidia")).status == 204


async def test_approval_stage_times_out_and_the_request_is_denied(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "megan"))["steps"][0]["id"]
    graph.clock.advance(timedelta(days=1))
    timed_out = await ok(await graph.get(f"{REQUESTS}/{request['id']}"))
    assert timed_out["status"] == "Denied"
    step = (await _approval(graph, request["id"], "megan"))["steps"][0]
    assert step["status"] == "Expired"
    late = await _decide(graph, request["id"], step_id, "megan")
    assert late.status == 409


async def test_approver_must_give_a_justification(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "megan"))["steps"][0]["id"]
    response = await graph.call(
        "PATCH",
        f"{APPROVALS}/{request['id']}/steps/{step_id}",
        token=graph.tokens.user("megan"),
        json={"reviewResult": "Approve"},
    )
    await error_of(response, 400)


async def test_unknown_approval_or_step_is_not_found(graph: Graph) -> None:
    request = await _request_exchange(graph)
    missing = await graph.get(
        f"{APPROVALS}/00000000-0000-0000-0000-000000000009", token=graph.tokens.user("megan")
    )
    await error_of(missing, 404)
    wrong_step = await _decide(graph, request["id"], "no-such-step", "megan")
    await error_of(wrong_step, 404)


async def test_approvals_cannot_be_decided_app_only(graph: Graph) -> None:
    request = await _request_exchange(graph)
    step_id = (await _approval(graph, request["id"], "megan"))["steps"][0]["id"]
    response = await graph.call(
        "PATCH",
        f"{APPROVALS}/{request['id']}/steps/{step_id}",
        json={"reviewResult": "Approve", "justification": "app"},
    )
    assert (await error_of(response, 403))["code"] == "Authorization_RequestDenied"


async def test_approvals_are_beta_only(graph: Graph) -> None:
    request = await _request_exchange(graph)
    response = await graph.get(
        f"/v1.0/roleManagement/directory/roleAssignmentApprovals/{request['id']}",
        token=graph.tokens.user("megan"),
    )
    error = await error_of(response, 400)
    assert error["code"] == "BadRequest"
    assert error["message"] == "Resource not found for the segment 'roleAssignmentApprovals'."


async def test_a_pending_request_can_be_cancelled_by_its_requester(graph: Graph) -> None:
    request = await _request_exchange(graph)
    cancel = await graph.post(f"{REQUESTS}/{request['id']}/cancel", token=graph.tokens.user("alex"))
    assert cancel.status == 204
    assert (await ok(await graph.get(f"{REQUESTS}/{request['id']}")))["status"] == "Canceled"


async def test_two_stage_approval_needs_both_stages_in_order(graph: Graph) -> None:
    megan, lidia = graph.uid("megan"), graph.uid("lidia")

    def stage(user_id: str) -> dict[str, Any]:
        return {
            "approvalStageTimeOutInDays": 1,
            "isApproverJustificationRequired": True,
            "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": user_id}],
        }

    response = await patch_rule(
        graph,
        EXCHANGE,
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "setting": {
                "isApprovalRequired": True,
                "approvalMode": "Serial",
                "approvalStages": [stage(megan), stage(lidia)],
            },
        },
    )
    assert response.status == 204, await response.text()
    request = await _request_exchange(graph)
    first, second = (await _approval(graph, request["id"], "lidia"))["steps"]
    assert (first["status"], second["status"]) == ("InProgress", "Initializing")
    too_early = await _decide(graph, request["id"], second["id"], "lidia")
    await error_of(too_early, 400)
    assert (await _decide(graph, request["id"], first["id"], "megan")).status == 204
    assert (await ok(await graph.get(f"{REQUESTS}/{request['id']}")))["status"] == (
        "PendingApproval"
    )
    assert (await _decide(graph, request["id"], second["id"], "lidia")).status == 204
    assert (await ok(await graph.get(f"{REQUESTS}/{request['id']}")))["status"] == "Provisioned"
