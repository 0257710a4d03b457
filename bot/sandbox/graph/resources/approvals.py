"""`roleManagement/directory/roleAssignmentApprovals` (beta): an approval of a schedule request,
its steps, and an approver's decision on a step."""

from __future__ import annotations

import re

from bot.sandbox.graph import shapes
from bot.sandbox.graph.auth import READ_ASSIGNMENTS
from bot.sandbox.graph.context import TwinContext
from bot.sandbox.graph.errors import not_found
from bot.sandbox.graph.router import ID, GraphRequest, GraphResponse, Routes
from bot.sandbox.graph.shapes import Json

routes = Routes()
_APPROVALS = "/roleManagement/directory/roleAssignmentApprovals"
_STEP = "(?P<step>[^/]+)"


def _approval_json(
    twin: TwinContext, request: GraphRequest, approval_id: str
) -> tuple[Json, list[Json]]:
    request.caller.require(READ_ASSIGNMENTS)
    approval = twin.roles.state.approval(approval_id)
    if approval is None:
        raise not_found(f"The approval '{approval_id}' does not exist.")
    steps = [shapes.approval_step(s, request.caller.user_id) for s in approval.steps]
    return shapes.approval(approval), steps


@routes.route("GET", f"{_APPROVALS}/{ID}", versions=("beta",))
def get_approval(twin: TwinContext, request: GraphRequest, match: re.Match[str]) -> GraphResponse:
    approval, steps = _approval_json(twin, request, match["id"])
    return twin.entity(
        request,
        "roleManagement/directory/roleAssignmentApprovals",
        approval,
        properties=("id",),
        type_name="approval",
        expanders={"steps": lambda _item, _option: steps},
    )


@routes.route("GET", f"{_APPROVALS}/{ID}/steps", versions=("beta",))
def list_approval_steps(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    _, steps = _approval_json(twin, request, match["id"])
    return twin.collection(
        request,
        f"roleManagement/directory/roleAssignmentApprovals('{match['id']}')/steps",
        steps,
        properties=tuple(steps[0]) if steps else ("id",),
        type_name="approvalStep",
    )


@routes.route("GET", f"{_APPROVALS}/{ID}/steps/{_STEP}", versions=("beta",))
def get_approval_step(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    _, steps = _approval_json(twin, request, match["id"])
    step = twin.find(steps, match["step"], "approval step")
    return twin.entity(
        request,
        f"roleManagement/directory/roleAssignmentApprovals('{match['id']}')/steps",
        step,
        properties=tuple(step),
        type_name="approvalStep",
    )


@routes.route("PATCH", f"{_APPROVALS}/{ID}/steps/{_STEP}", versions=("beta",))
def decide_approval_step(
    twin: TwinContext, request: GraphRequest, match: re.Match[str]
) -> GraphResponse:
    twin.roles.decide(request.caller, match["id"], match["step"], request.body)
    return GraphResponse(204)
