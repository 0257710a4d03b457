"""`GraphPimDirectory`: the read side of PIM through Graph (roles, eligibility, active
assignments, policies, people), in `bot.domain` types."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from bot.domain import ActivationPolicy, ActiveRole, ApproverRef, EligibleRole, Person, Role
from bot.graph.assignments import ASSIGNMENT_INSTANCES, TENANT_SCOPE, end_key
from bot.graph.batch import CollectionRead, get_collections
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp, JsonObject
from bot.graph.models import (
    AssignmentScheduleInstance,
    EligibilityScheduleInstance,
    RoleDefinition,
    RoleManagementPolicyAssignment,
    ScheduleInstanceBase,
)
from bot.graph.odata import odata_string
from bot.graph.people import (
    enabled_users_of,
    groups_from,
    groups_read,
    person_from,
    read_user,
    role_assignable_groups,
)
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
    active roles (and their groups' active roles) are read fresh every time, together in one
    round trip (`bot.graph.batch`)."""

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
            return await self._fresh_eligible(principal_id)
        groups = await self._groups_of(principal_id)
        read = await self._read(principal_id, groups, eligible=True, active=False)
        return await self._eligible(read.own_eligible, read.group_eligible)

    async def held_roles(self, principal_id: str) -> tuple[list[EligibleRole], list[ActiveRole]]:
        """`eligible_roles` and `active_roles` together: the person's groups from the cache, then
        every read in one round trip (a `$batch`)."""
        groups = await self._groups_of(principal_id)
        read = await self._read(principal_id, groups, eligible=True, active=True)
        eligible = await self._eligible(read.own_eligible, read.group_eligible)
        active = await self._active(read.own_active, read.group_active)
        return eligible, active

    async def active_roles(self, principal_id: str) -> list[ActiveRole]:
        groups = await self._groups_of(principal_id)
        read = await self._read(principal_id, groups, eligible=False, active=True)
        return await self._active(read.own_active, read.group_active)

    async def _fresh_eligible(self, principal_id: str) -> list[EligibleRole]:
        """Everything read now, nothing from a cache: the person's groups, their own
        eligibilities and each group's, in one round trip when the groups are those seen last
        time (their eligibilities are asked for alongside the membership, and only the groups
        the membership names count); a group new since then costs a second round trip."""
        guessed = self._groups.last(principal_id) or []
        reads = [groups_read(principal_id), _own_read(ELIGIBILITY_INSTANCES, principal_id)]
        reads += [_own_read(ELIGIBILITY_INSTANCES, group_id) for group_id in guessed]
        results = await get_collections(self._http, reads)
        groups = groups_from(results[0], principal_id)
        self._groups.put(principal_id, groups)
        own = _instances_of(EligibilityScheduleInstance, results[1])
        by_group = dict(zip(guessed, results[2:], strict=True))
        missing = [group_id for group_id in groups if group_id not in by_group]
        if missing:
            more = await get_collections(
                self._http, [_own_read(ELIGIBILITY_INSTANCES, g) for g in missing]
            )
            by_group.update(zip(missing, more, strict=True))
        group_eligible = [
            _instances_of(EligibilityScheduleInstance, by_group[group_id]) for group_id in groups
        ]
        return await self._eligible(own, group_eligible)

    async def _read(
        self, principal_id: str, group_ids: list[str], *, eligible: bool, active: bool
    ) -> _HeldRead:
        """The person's own eligibilities and active assignments (each asked for), and their
        groups': active ones read now, eligible ones from the cache (read in the same round trip
        when not cached). Every read in one `$batch` (a plain GET when there is only one)."""
        reads: list[CollectionRead] = []
        if eligible:
            reads.append(_own_read(ELIGIBILITY_INSTANCES, principal_id))
        if active:
            reads.append(_own_read(ASSIGNMENT_INSTANCES, principal_id))
            reads += [_own_read(ASSIGNMENT_INSTANCES, group_id) for group_id in group_ids]
        cached: dict[str, list[EligibilityScheduleInstance]] = {}
        uncached: list[str] = []
        if eligible:
            for group_id in group_ids:
                hit = self._group_eligibilities.peek(group_id)
                if hit is None:
                    uncached.append(group_id)
                else:
                    cached[group_id] = hit
            reads += [_own_read(ELIGIBILITY_INSTANCES, group_id) for group_id in uncached]
        results = iter(await get_collections(self._http, reads))
        read = _HeldRead()
        if eligible:
            read.own_eligible = _instances_of(EligibilityScheduleInstance, next(results))
        if active:
            read.own_active = _instances_of(AssignmentScheduleInstance, next(results))
            read.group_active = [
                _instances_of(AssignmentScheduleInstance, next(results)) for _ in group_ids
            ]
        for group_id in uncached:
            instances = _instances_of(EligibilityScheduleInstance, next(results))
            self._group_eligibilities.put(group_id, instances)
            cached[group_id] = instances
        if eligible:
            read.group_eligible = [cached[group_id] for group_id in group_ids]
        return read

    async def _eligible(
        self,
        own: list[EligibilityScheduleInstance],
        by_group: list[list[EligibilityScheduleInstance]],
    ) -> list[EligibleRole]:
        instances = _tenant_wide(own, by_group)
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

    async def _active(
        self,
        own: list[AssignmentScheduleInstance],
        by_group: list[list[AssignmentScheduleInstance]],
    ) -> list[ActiveRole]:
        instances = _tenant_wide(own, by_group)
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


@dataclass
class _HeldRead:
    """What one `_read` brought back, per kind: the person's own instances and each group's."""

    own_eligible: list[EligibilityScheduleInstance] = field(default_factory=list)
    group_eligible: list[list[EligibilityScheduleInstance]] = field(default_factory=list)
    own_active: list[AssignmentScheduleInstance] = field(default_factory=list)
    group_active: list[list[AssignmentScheduleInstance]] = field(default_factory=list)


def _own_read(path: str, principal_id: str) -> CollectionRead:
    """A principal's schedule instances (a person's, or a group's), with the role expanded."""
    return CollectionRead(
        path,
        {"$filter": f"principalId eq {odata_string(principal_id)}", "$expand": "roleDefinition"},
    )


def _instances_of(model: type[_Instance], result: list[JsonObject] | GraphError) -> list[_Instance]:
    if isinstance(result, GraphError):
        raise result
    return [model.model_validate(item) for item in result]


def _tenant_wide(
    own: Sequence[_Instance], by_group: Iterable[Sequence[_Instance]]
) -> list[tuple[_Instance, str]]:
    """Instances of the principal (member type as Graph says) and of their role-assignable
    groups (member type "Group"), tenant-wide ones only."""
    found = [(instance, instance.member_type or "Direct") for instance in own]
    for group_instances in by_group:
        found.extend((instance, "Group") for instance in group_instances)
    return [(i, m) for i, m in found if (i.directory_scope_id or TENANT_SCOPE) == TENANT_SCOPE]


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
