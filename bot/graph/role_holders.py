"""One role's PIM settings and who holds it, for `settings <role>`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from bot.domain import Role
from bot.governance.domain import HoldKind, RoleHolder, RolePolicy
from bot.governance.policy_ports import PolicyRefused
from bot.graph.assignments import ASSIGNMENT_INSTANCES, TENANT_SCOPE
from bot.graph.directory import ELIGIBILITY_INSTANCES, POLICY_ASSIGNMENTS, GraphPimDirectory
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.odata import odata_string
from bot.graph.role_policies import DIRECTORY_SCOPE, settings_from_rules

_PRINCIPAL_TYPES = {
    "#microsoft.graph.user": "user",
    "#microsoft.graph.group": "group",
    "#microsoft.graph.servicePrincipal": "servicePrincipal",
}


class GraphRoleSettings:
    """`RoleSettingsSource` over Graph, with the bot's read permissions."""

    def __init__(self, http: GraphHttp, directory: GraphPimDirectory) -> None:
        self._http = http
        self._directory = directory

    async def roles(self) -> list[Role]:
        return await self._directory.list_roles()

    async def policy(self, role_id: str) -> RolePolicy | None:
        params = {
            "$filter": f"{DIRECTORY_SCOPE} and roleDefinitionId eq {odata_string(role_id)}",
            "$expand": "policy($expand=rules)",
        }
        try:
            page = await self._http.get_json(POLICY_ASSIGNMENTS, params)
        except GraphError as exc:
            raise PolicyRefused(exc.status, exc.code, exc.message) from exc
        for assignment in page.get("value") or []:
            policy = assignment.get("policy") if isinstance(assignment, dict) else None
            if isinstance(policy, dict):
                names = {role.id: role.display_name for role in await self.roles()}
                return RolePolicy(
                    role_id=role_id,
                    role_name=names.get(role_id, role_id),
                    policy_id=str(policy.get("id") or assignment.get("policyId")),
                    settings=settings_from_rules(policy.get("rules") or []),
                )
        return None

    async def holders(self, role_id: str) -> list[RoleHolder]:
        params = {
            "$filter": f"roleDefinitionId eq {odata_string(role_id)}",
            "$expand": "principal",
        }
        try:
            eligible, active = await asyncio.gather(
                self._all(ELIGIBILITY_INSTANCES, params), self._all(ASSIGNMENT_INSTANCES, params)
            )
        except GraphError as exc:
            raise PolicyRefused(exc.status, exc.code, exc.message) from exc
        holders = [_holder(item, "eligible") for item in eligible]
        holders += [
            _holder(item, "active" if item.get("assignmentType") == "Activated" else "standing")
            for item in active
        ]
        return sorted(
            (h for h in holders if h is not None),
            key=lambda h: (h.holds, h.name.lower(), h.principal_id),
        )

    async def _all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        return [
            item
            async for item in self._http.get_all(path, params)
            if (item.get("directoryScopeId") or TENANT_SCOPE) == TENANT_SCOPE
        ]


def _holder(item: dict[str, Any], holds: HoldKind) -> RoleHolder | None:
    principal_id = item.get("principalId")
    if not isinstance(principal_id, str):
        return None
    principal = item.get("principal") if isinstance(item.get("principal"), dict) else {}
    assert isinstance(principal, dict)
    end = item.get("endDateTime")
    return RoleHolder(
        principal_id=principal_id,
        name=str(principal.get("displayName") or principal_id),
        principal_type=_PRINCIPAL_TYPES.get(str(principal.get("@odata.type")), "unknown"),
        holds=holds,
        end=datetime.fromisoformat(end.replace("Z", "+00:00")) if isinstance(end, str) else None,
    )
