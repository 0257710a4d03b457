"""PIM-native approvals [beta]: read an approval's steps and decide the current one, always with
the approver's own delegated token (Graph supports no application permission for this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.graph.http import GraphHttp
from bot.graph.odata import path_segment

APPROVALS = "/roleManagement/directory/roleAssignmentApprovals"
BETA = "beta"


@dataclass(frozen=True)
class ApprovalStep:
    id: str
    status: str  # InProgress | Initializing | Completed | Expired
    review_result: str  # NotReviewed | Approved | Denied
    assigned_to_me: bool
    justification: str = ""
    reviewed_by: str = ""  # display name of whoever decided


@dataclass(frozen=True)
class Approval:
    id: str
    steps: tuple[ApprovalStep, ...]

    @property
    def current(self) -> ApprovalStep | None:
        return next((s for s in self.steps if s.status == "InProgress"), None)

    @property
    def timed_out(self) -> bool:
        return any(s.status == "Expired" for s in self.steps)

    @property
    def decided(self) -> ApprovalStep | None:
        """The step that settled the outcome (the last one reviewed)."""
        reviewed = [s for s in self.steps if s.review_result in ("Approved", "Denied")]
        return reviewed[-1] if reviewed else None


def _step(item: dict[str, Any]) -> ApprovalStep:
    reviewers = item.get("reviewedBy") or []
    first = reviewers[0] if isinstance(reviewers, list) and reviewers else {}
    name = str(first.get("displayName") or "") if isinstance(first, dict) else ""
    return ApprovalStep(
        id=str(item.get("id") or ""),
        status=str(item.get("status") or ""),
        review_result=str(item.get("reviewResult") or "NotReviewed"),
        assigned_to_me=bool(item.get("assignedToMe")),
        justification=str(item.get("justification") or ""),
        reviewed_by=name,
    )


async def read_approval(graph: GraphHttp, approval_id: str) -> Approval:
    payload = await graph.get_json(
        f"{APPROVALS}/{path_segment(approval_id)}", {"$expand": "steps"}, version=BETA
    )
    steps = payload.get("steps") or []
    return Approval(
        id=str(payload.get("id") or approval_id),
        steps=tuple(_step(s) for s in steps if isinstance(s, dict)),
    )


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
