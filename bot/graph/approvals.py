"""PIM-native approvals [beta]: read an approval's steps and decide the current one, always with
the approver's own delegated token (Graph supports no application permission for this)."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationError

from bot.domain import Approval, ApprovalStep, ApprovalStepStatus, ReviewResult
from bot.graph import models
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.odata import path_segment

APPROVALS = "/roleManagement/directory/roleAssignmentApprovals"
BETA = "beta"

_STEP_STATUSES = {
    "Initializing": ApprovalStepStatus.NOT_STARTED,
    "InProgress": ApprovalStepStatus.IN_PROGRESS,
    "Completed": ApprovalStepStatus.COMPLETED,
    "Expired": ApprovalStepStatus.EXPIRED,
}
_REVIEW_RESULTS = {"Approved": ReviewResult.APPROVED, "Denied": ReviewResult.DENIED}


def approval_from(payload: models.Approval) -> Approval:
    return Approval(id=payload.id, steps=tuple(_step(step) for step in payload.steps))


def _step(step: models.ApprovalStep) -> ApprovalStep:
    reviewer = step.reviewed_by[0] if step.reviewed_by else None
    return ApprovalStep(
        id=step.id,
        status=_STEP_STATUSES.get(step.status or "", ApprovalStepStatus.UNKNOWN),
        review_result=_REVIEW_RESULTS.get(step.review_result or "", ReviewResult.NOT_REVIEWED),
        assigned_to_me=bool(step.assigned_to_me),
        justification=step.justification or "",
        reviewed_by=(reviewer.display_name or "") if reviewer else "",
    )


async def read_approval(graph: GraphHttp, approval_id: str) -> Approval:
    payload = await graph.get_json(
        f"{APPROVALS}/{path_segment(approval_id)}", {"$expand": "steps"}, version=BETA
    )
    try:
        parsed = models.Approval.model_validate(
            {**payload, "id": payload.get("id") or approval_id, "steps": payload.get("steps") or []}
        )
    except ValidationError as exc:
        raise GraphError(200, "InvalidResponse", f"unexpected approval: {exc}") from exc
    return approval_from(parsed)


async def decide_step(
    graph: GraphHttp,
    approval_id: str,
    step_id: str,
    verdict: Literal["approve", "deny"],
    justification: str,
) -> None:
    """PATCH the step; 204 on success. A 409 (decided by someone else first) is raised as a
    GraphError for the caller to show as the current outcome."""
    body = {"reviewResult": "Approve" if verdict == "approve" else "Deny"}
    if justification:
        body["justification"] = justification
    await graph.patch_json(
        f"{APPROVALS}/{path_segment(approval_id)}/steps/{path_segment(step_id)}",
        body,
        version=BETA,
    )
