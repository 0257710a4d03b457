"""`GraphPimDirectory`: the read side of PIM through Graph (roles, eligibility, active
assignments, policies, people), in `bot.domain` types."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar, cast

from bot.domain import ActivationPolicy, ActiveRole, ApproverRef, EligibleRole, Person, Role
from bot.graph.assignments import ASSIGNMENT_INSTANCES, TENANT_SCOPE, end_key
from bot.graph.http import GraphHttp
from bot.graph.models import (
    AssignmentScheduleInstance,
    EligibilityScheduleInstance,
    RoleDefinition,
    RoleManagementPolicyAssignment,
    ScheduleInstanceBase,
)
from bot.graph.odata import odata_string
from bot.graph.people import enabled_users_of, person_from, read_user, role_assignable_groups
from bot.graph.policy import activation_policy_from_rules
from bot.graph.ttl_cache import TtlCache

logger = logging.getLogger(__name__)

ROLE_DEFINITIONS = "/roleManagement/directory/roleDefinitions"
ELIGIBILITY_INSTANCES = "/roleManagement/directory/roleEligibilityScheduleInstances"
POLICY_ASSIGNMENTS = "/policies/roleManagementPolicyAssignments"

_Instance = TypeVar("_Instance", bound=ScheduleInstanceBase)


class GraphPimDirectory:
    """`PimDirectory` over Graph. Roles are cached ~10 minutes; policies, a person's
    role-assignable groups, the eligibilities of those groups (shared by all their members) and
    the people behind a policy's approvers ~60 seconds: a turn reads each at most once, and an
    administrator's change in Entra shows within a minute. A person's own eligibilities and
    active roles are read fresh every time."""

    def __init__(
        self,
        http: GraphHttp,
        *,
        tenant_id: str,
        now: Callable[[], datetime] = partial(datetime.now, UTC),
        clock: Callable[[], float] = time.monotonic,
        roles_ttl: float = 600.0,
        policy_ttl: float = 60.0,
        groups_ttl: float = 60.0,
        approvers_ttl: float = 60.0,
    ) -> None:
        self._http = http
        self._tenant_id = tenant_id
        self._now = now
        self._roles: TtlCache[str, list[Role]] = TtlCache(roles_ttl, clock)
        self._policies: TtlCache[str, ActivationPolicy] = TtlCache(policy_ttl, clock)
        self._groups: TtlCache[str, list[str]] = TtlCache(groups_ttl, clock)
        self._group_eligibilities: TtlCache[str, list[EligibilityScheduleInstance]] = TtlCache(
            groups_ttl, clock
        )
        self._approvers: TtlCache[tuple[ApproverRef, ...], list[Person]] = TtlCache(
            approvers_ttl, clock
        )

    async def list_roles(self) -> list[Role]:
        return list(await self._roles.get("all", self._load_roles))

    async def _load_roles(self) -> list[Role]:
        params = {"$select": "id,displayName,description,isEnabled,templateId"}
        roles = [
            _role(RoleDefinition.model_validate(item))
            async for item in self._http.get_all(ROLE_DEFINITIONS, params)
        ]
        return sorted(roles, key=lambda role: role.display_name.lower())

    async def eligible_roles(self, principal_id: str, *, fresh: bool = False) -> list[EligibleRole]:
        if fresh:
            groups = await role_assignable_groups(self._http, principal_id)
        else:
            groups = await self._groups_of(principal_id)
        return await self._eligible(principal_id, groups, fresh=fresh)

    async def held_roles(self, principal_id: str) -> tuple[list[EligibleRole], list[ActiveRole]]:
        """`eligible_roles` and `active_roles` together, from one read of the person's groups."""
        groups = await self._groups_of(principal_id)
        eligible, active = await asyncio.gather(
            self._eligible(principal_id, groups), self._active(principal_id, groups)
        )
        return eligible, active

    async def _eligible(
        self, principal_id: str, group_ids: list[str], *, fresh: bool = False
    ) -> list[EligibleRole]:
        instances = await self._instances_with_groups(
            ELIGIBILITY_INSTANCES, EligibilityScheduleInstance, principal_id, group_ids, fresh
        )
        now = self._now()
        best: dict[str, tuple[EligibilityScheduleInstance, str]] = {}
        for instance, member_type in instances:
            if instance.end_date_time and instance.end_date_time <= now:
                continue  # ended; Graph removes such instances shortly
            current = best.get(instance.role_definition_id)
            if current is None or _outlasts(instance, member_type, *current):
                best[instance.role_definition_id] = (instance, member_type)
        roles = await self._roles_for(instance for instance, _ in best.values())
        eligible = [
            EligibleRole(
                role=roles[instance.role_definition_id],
                end=instance.end_date_time,
                member_type=member_type,
            )
            for instance, member_type in best.values()
        ]
        return sorted(eligible, key=lambda item: item.role.display_name.lower())

    async def active_roles(self, principal_id: str) -> list[ActiveRole]:
        groups = await self._groups_of(principal_id)
        return await self._active(principal_id, groups)

    async def _active(self, principal_id: str, group_ids: list[str]) -> list[ActiveRole]:
        instances = await self._instances_with_groups(
            ASSIGNMENT_INSTANCES, AssignmentScheduleInstance, principal_id, group_ids
        )
        best: dict[str, tuple[AssignmentScheduleInstance, str]] = {}
        for instance, member_type in instances:
            current = best.get(instance.role_definition_id)
            if current is None or _more_own(instance, member_type, *current):
                best[instance.role_definition_id] = (instance, member_type)
        roles = await self._roles_for(instance for instance, _ in best.values())
        active = [
            ActiveRole(
                role=roles[instance.role_definition_id],
                start=instance.start_date_time,
                end=instance.end_date_time,
                assignment_type="Activated"
                if instance.assignment_type == "Activated"
                else "Assigned",
            )
            for instance, _ in best.values()
        ]
        return sorted(active, key=lambda item: item.role.display_name.lower())

    async def activation_policy(self, role_id: str) -> ActivationPolicy:
        return await self._policies.get(role_id, lambda: self._load_policy(role_id))

    async def _load_policy(self, role_id: str) -> ActivationPolicy:
        params = {
            "$filter": (
                "scopeId eq '/' and scopeType eq 'DirectoryRole' "
                f"and roleDefinitionId eq {odata_string(role_id)}"
            ),
            "$expand": "policy($expand=rules)",
        }
        page = await self._http.get_json(POLICY_ASSIGNMENTS, params)
        assignments = [
            RoleManagementPolicyAssignment.model_validate(item) for item in page.get("value") or []
        ]
        policy = next((a.policy for a in assignments if a.policy is not None), None)
        if policy is None:
            logger.warning("no PIM policy found for role %s; using Microsoft's defaults", role_id)
        return activation_policy_from_rules(role_id, policy.rules if policy else [])

    async def resolve_approvers(
        self, approvers: Sequence[ApproverRef], *, fresh: bool = False
    ) -> list[Person]:
        refs = tuple(approvers)
        if fresh:
            return await self._load_approvers(refs)
        return list(await self._approvers.get(refs, lambda: self._load_approvers(refs)))

    async def _load_approvers(self, approvers: Sequence[ApproverRef]) -> list[Person]:
        batches = await asyncio.gather(*(enabled_users_of(self._http, ref) for ref in approvers))
        people: dict[str, Person] = {}
        for batch in batches:
            for user in batch:
                people.setdefault(user.id, person_from(user, self._tenant_id))
        return list(people.values())

    async def get_person(self, user_id: str) -> Person | None:
        user = await read_user(self._http, user_id)
        return person_from(user, self._tenant_id) if user else None

    # --- helpers -------------------------------------------------------------------------------

    async def _groups_of(self, principal_id: str) -> list[str]:
        return list(
            await self._groups.get(
                principal_id, lambda: role_assignable_groups(self._http, principal_id)
            )
        )

    async def _instances_with_groups(
        self,
        path: str,
        model: type[_Instance],
        principal_id: str,
        group_ids: list[str],
        fresh: bool = False,
    ) -> list[tuple[_Instance, str]]:
        """Instances for the principal (member type as Graph says) and for their role-assignable
        groups `group_ids` (member type "Group")."""
        lists = await asyncio.gather(
            _instances(self._http, path, model, principal_id),
            *(self._group_instances(path, model, group_id, fresh) for group_id in group_ids),
        )
        found = [(instance, instance.member_type or "Direct") for instance in lists[0]]
        for group_instances in lists[1:]:
            found.extend((instance, "Group") for instance in group_instances)
        return [(i, m) for i, m in found if (i.directory_scope_id or TENANT_SCOPE) == TENANT_SCOPE]

    async def _group_instances(
        self, path: str, model: type[_Instance], group_id: str, fresh: bool
    ) -> list[_Instance]:
        if fresh or model is not EligibilityScheduleInstance:
            return await _instances(self._http, path, model, group_id)
        cached = await self._group_eligibilities.get(
            group_id,
            lambda: _instances(self._http, path, EligibilityScheduleInstance, group_id),
        )
        return cast(list[_Instance], list(cached))

    async def _roles_for(self, instances: Iterable[ScheduleInstanceBase]) -> dict[str, Role]:
        """Roles of instances: from the expanded roleDefinition, else from the role list."""
        roles: dict[str, Role] = {}
        missing: list[str] = []
        for instance in instances:
            if instance.role_definition is not None:
                roles[instance.role_definition_id] = _role(instance.role_definition)
            else:
                missing.append(instance.role_definition_id)
        if missing:
            known = {role.id: role for role in await self.list_roles()}
            for role_id in missing:
                roles[role_id] = known.get(role_id) or Role(id=role_id, display_name=role_id)
        return roles


async def _instances(
    http: GraphHttp, path: str, model: type[_Instance], principal_id: str
) -> list[_Instance]:
    params = {
        "$filter": f"principalId eq {odata_string(principal_id)}",
        "$expand": "roleDefinition",
    }
    return [model.model_validate(item) async for item in http.get_all(path, params)]


def _role(definition: RoleDefinition) -> Role:
    return Role(
        id=definition.id,
        display_name=definition.display_name or definition.id,
        description=definition.description or "",
    )


def _outlasts(
    candidate: ScheduleInstanceBase,
    candidate_member_type: str,
    current: ScheduleInstanceBase,
    current_member_type: str,
) -> bool:
    """Of two instances of one role, keep the one that lasts longer; on a tie, the direct one."""
    candidate_key = (end_key(candidate.end_date_time), candidate_member_type == "Direct")
    current_key = (end_key(current.end_date_time), current_member_type == "Direct")
    return candidate_key > current_key


def _more_own(
    candidate: ScheduleInstanceBase,
    candidate_member_type: str,
    current: ScheduleInstanceBase,
    current_member_type: str,
) -> bool:
    """Of two active instances of one role, keep the principal's own (their activation, whose
    end the scheduler follows) over one through a group; then the one that lasts longer."""
    candidate_key = (candidate_member_type == "Direct", end_key(candidate.end_date_time))
    current_key = (current_member_type == "Direct", end_key(current.end_date_time))
    return candidate_key > current_key
