"""The writes of a fix of a computed PIM alert (`bot.governance.ports.AlertFixWrites`): take an
eligibility away (`roleEligibilityScheduleRequests`, `adminRemove`), take an app's active
assignment away (`roleAssignmentScheduleRequests`, `adminRemove`), and turn on MFA for
activation in a role's policy (PATCH of the `Enablement_EndUser_Assignment` rule).

Graph offers the PATCH of a policy rule to signed-in admins only (delegated
RoleManagementPolicy.ReadWrite.Directory, with an active Privileged Role Administrator or Global
Administrator role): built over the app's own client it is refused, so that fix runs with the
deciding admin's token (pim engine).
"""

from __future__ import annotations

from bot.governance.policy_ports import PolicyRefused, PolicyWriteFailed
from bot.graph.assignments import TENANT_SCOPE, remove_assignment
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.models import RoleAssignmentScheduleRequest, RoleAssignmentScheduleRequestResponse
from bot.graph.odata import odata_string
from bot.graph.role_policies import (
    DIRECTORY_SCOPE,
    POLICY_ASSIGNMENTS,
    GraphRolePolicies,
    settings_from_rules,
)
from bot.graph.standing import ELIGIBILITY_REQUESTS


class GraphAlertFixes:
    def __init__(self, http: GraphHttp) -> None:
        self._http = http

    async def remove_eligibility(self, principal_id: str, role_id: str, justification: str) -> str:
        body = RoleAssignmentScheduleRequest(
            action="adminRemove",
            principal_id=principal_id,
            role_definition_id=role_id,
            directory_scope_id=TENANT_SCOPE,
            justification=justification,
        ).to_wire()
        answer, _ = await self._http.post_json(ELIGIBILITY_REQUESTS, body)
        return RoleAssignmentScheduleRequestResponse.model_validate(answer).id

    async def remove_assignment(self, principal_id: str, role_id: str, justification: str) -> str:
        return await remove_assignment(self._http, principal_id, role_id, justification)

    async def require_mfa(self, role_id: str) -> bool:
        """Turn on MFA for activating the role; False when its policy asks for MFA (or an
        authentication context) already. Raises PolicyWriteFailed when Graph refuses."""
        params = {
            "$filter": f"{DIRECTORY_SCOPE} and roleDefinitionId eq {odata_string(role_id)}",
            "$expand": "policy($expand=rules)",
        }
        try:
            page = await self._http.get_json(POLICY_ASSIGNMENTS, params)
        except GraphError as exc:
            raise PolicyWriteFailed(PolicyRefused(exc.status, exc.code, exc.message)) from exc
        for assignment in page.get("value") or []:
            policy = assignment.get("policy") if isinstance(assignment, dict) else None
            if not isinstance(policy, dict):
                continue
            settings = settings_from_rules(policy.get("rules") or [])
            activation = settings.activation
            if activation.require_mfa or activation.authentication_context:
                return False
            wanted = settings.model_copy(
                update={"activation": activation.model_copy(update={"require_mfa": True})}
            )
            policy_id = str(policy.get("id") or assignment.get("policyId"))
            await GraphRolePolicies(self._http).write(policy_id, wanted)
            return True
        raise PolicyWriteFailed(
            PolicyRefused(404, "PolicyMissing", f"PIM has no policy for the role {role_id}")
        )
