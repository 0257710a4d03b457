"""PIM through Graph: `GraphPimDirectory` (read side) and `BotEngine` (app-only activation).

Both speak `bot.domain` types outward; Graph's wire shapes stay in `bot.graph.models`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from bot.domain import (
    ActivationPolicy,
    ActivationRequest,
    ActiveRole,
    ApproverKind,
    ApproverRef,
    EligibleRole,
    Person,
    Role,
)
from bot.graph.errors import GraphError, RoleAssignmentDoesNotExist
from bot.graph.http import GraphHttp
from bot.graph.models import (
    AssignmentScheduleInstance,
    EligibilityScheduleInstance,
    ExpirationPattern,
    Group,
    RequestSchedule,
    RoleAssignmentScheduleRequest,
    RoleAssignmentScheduleRequestResponse,
    RoleDefinition,
    RoleManagementPolicyAssignment,
    ScheduleInstanceBase,
    TicketInfo,
    User,
)
from bot.graph.policy import activation_policy_from_rules
from bot.workflow.ports import ActivationResult

logger = logging.getLogger(__name__)

ROLE_DEFINITIONS = "/roleManagement/directory/roleDefinitions"
ELIGIBILITY_INSTANCES = "/roleManagement/directory/roleEligibilityScheduleInstances"
ASSIGNMENT_INSTANCES = "/roleManagement/directory/roleAssignmentScheduleInstances"
ASSIGNMENT_REQUESTS = "/roleManagement/directory/roleAssignmentScheduleRequests"
POLICY_ASSIGNMENTS = "/policies/roleManagementPolicyAssignments"
TENANT_SCOPE = "/"
PERSON_FIELDS = "id,displayName,userPrincipalName,accountEnabled"
# Request statuses after which nothing was or will be granted.
UNSUCCESSFUL_STATUSES = frozenset({"Failed", "Denied", "Canceled", "Revoked"})

Now = Callable[[], datetime]
K = TypeVar("K")
V = TypeVar("V")
_Instance = TypeVar("_Instance", bound=ScheduleInstanceBase)


def utc_now() -> datetime:
    return datetime.now(UTC)


def odata_string(value: str) -> str:
    """An OData string literal: single quotes, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def path_segment(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class AssignmentWindow:
    """An active assignment as Graph's schedule instance reports it. `end` None: permanent."""

    start: datetime | None
    end: datetime | None
    assignment_type: str | None = None


class _TtlCache(Generic[K, V]):
    """Values kept for `ttl` seconds; one load per key at a time."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._values: dict[K, tuple[float, V]] = {}
        self._locks: dict[K, asyncio.Lock] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        hit = self._values.get(key)
        if hit and self._clock() < hit[0]:
            return hit[1]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._values.get(key)
            if hit and self._clock() < hit[0]:
                return hit[1]
            value = await load()
            self._values[key] = (self._clock() + self._ttl, value)
            return value

    def clear(self) -> None:
        self._values.clear()


# --- read side ---------------------------------------------------------------------------------


class GraphPimDirectory:
    """`PimDirectory` over Graph. Roles are cached ~10 minutes, policies ~60 seconds."""

    def __init__(
        self,
        http: GraphHttp,
        *,
        tenant_id: str,
        now: Now = utc_now,
        clock: Callable[[], float] = time.monotonic,
        roles_ttl: float = 600.0,
        policy_ttl: float = 60.0,
    ) -> None:
        self._http = http
        self._tenant_id = tenant_id
        self._now = now
        self._roles: _TtlCache[str, list[Role]] = _TtlCache(roles_ttl, clock)
        self._policies: _TtlCache[str, ActivationPolicy] = _TtlCache(policy_ttl, clock)

    async def list_roles(self) -> list[Role]:
        return list(await self._roles.get("all", self._load_roles))

    async def _load_roles(self) -> list[Role]:
        params = {"$select": "id,displayName,description,isEnabled,templateId"}
        roles = [
            _role(RoleDefinition.model_validate(item))
            async for item in self._http.get_all(ROLE_DEFINITIONS, params)
        ]
        return sorted(roles, key=lambda role: role.display_name.lower())

    async def eligible_roles(self, principal_id: str) -> list[EligibleRole]:
        return await self._eligible(principal_id, await self._role_assignable_groups(principal_id))

    async def held_roles(self, principal_id: str) -> tuple[list[EligibleRole], list[ActiveRole]]:
        """`eligible_roles` and `active_roles` together, from one read of the person's groups."""
        groups = await self._role_assignable_groups(principal_id)
        eligible, active = await asyncio.gather(
            self._eligible(principal_id, groups), self._active(principal_id, groups)
        )
        return eligible, active

    async def _eligible(self, principal_id: str, group_ids: list[str]) -> list[EligibleRole]:
        instances = await self._instances_with_groups(
            ELIGIBILITY_INSTANCES, EligibilityScheduleInstance, principal_id, group_ids
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
        return await self._active(principal_id, await self._role_assignable_groups(principal_id))

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

    async def current_assignment(self, principal_id: str, role_id: str) -> AssignmentWindow | None:
        """The principal's own active assignment of the role, or None when there is none."""
        return await read_current_assignment(self._http, principal_id, role_id)

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

    async def resolve_approvers(self, approvers: Sequence[ApproverRef]) -> list[Person]:
        batches = await asyncio.gather(*(self._people_of(ref) for ref in approvers))
        people: dict[str, Person] = {}
        for batch in batches:
            for person in batch:
                people.setdefault(person.id, person)
        return list(people.values())

    async def get_person(self, user_id: str) -> Person | None:
        user = await self._get_user(user_id)
        return self._person(user) if user else None

    # --- helpers -------------------------------------------------------------------------------

    async def _people_of(self, ref: ApproverRef) -> list[Person]:
        if ref.kind is ApproverKind.USER:
            user = await self._get_user(ref.id)
            return [self._person(user)] if user and user.account_enabled is not False else []
        params: dict[str, str | int] = {"$select": PERSON_FIELDS, "$top": 999}
        path = f"/groups/{path_segment(ref.id)}/transitiveMembers/microsoft.graph.user"
        try:
            members = [User.model_validate(item) async for item in self._http.get_all(path, params)]
        except GraphError as exc:
            if exc.status != 404:
                raise
            logger.warning("approver group %s no longer exists", ref.id)
            return []
        return [self._person(user) for user in members if user.account_enabled is not False]

    async def _get_user(self, user_id: str) -> User | None:
        try:
            body = await self._http.get_json(
                f"/users/{path_segment(user_id)}", {"$select": PERSON_FIELDS}
            )
        except GraphError as exc:
            if exc.status == 404:
                return None  # deleted, or never existed
            raise
        return User.model_validate(body)

    def _person(self, user: User) -> Person:
        return Person(
            id=user.id,
            tenant_id=self._tenant_id,
            display_name=user.display_name or "",
            upn=user.user_principal_name or "",
        )

    async def _role_assignable_groups(self, principal_id: str) -> list[str]:
        """Groups (transitively) holding the principal that can carry roles: PIM eligibilities
        and assignments given to such a group count for its members."""
        path = f"/users/{path_segment(principal_id)}/transitiveMemberOf/microsoft.graph.group"
        params: dict[str, str | int] = {"$select": "id,displayName,isAssignableToRole", "$top": 999}
        try:
            groups = [Group.model_validate(item) async for item in self._http.get_all(path, params)]
        except GraphError as exc:
            if exc.status not in (400, 403, 404):
                raise
            # Not permitted (no GroupMember.Read.All) or not offered: direct ones still count.
            logger.warning(
                "cannot list the groups of %s (%s %s); group-inherited roles are left out",
                principal_id,
                exc.status,
                exc.code,
            )
            return []
        return [group.id for group in groups if group.is_assignable_to_role]

    async def _instances_with_groups(
        self, path: str, model: type[_Instance], principal_id: str, group_ids: list[str]
    ) -> list[tuple[_Instance, str]]:
        """Instances for the principal (member type as Graph says) and for their role-assignable
        groups `group_ids` (member type "Group")."""
        lists = await asyncio.gather(
            _instances(self._http, path, model, principal_id),
            *(_instances(self._http, path, model, group_id) for group_id in group_ids),
        )
        found = [(instance, instance.member_type or "Direct") for instance in lists[0]]
        for group_instances in lists[1:]:
            found.extend((instance, "Group") for instance in group_instances)
        return [(i, m) for i, m in found if (i.directory_scope_id or TENANT_SCOPE) == TENANT_SCOPE]

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


def _end_key(end: datetime | None) -> datetime:
    return end if end is not None else datetime.max.replace(tzinfo=UTC)


def _outlasts(
    candidate: ScheduleInstanceBase,
    candidate_member_type: str,
    current: ScheduleInstanceBase,
    current_member_type: str,
) -> bool:
    """Of two instances of one role, keep the one that lasts longer; on a tie, the direct one."""
    candidate_key = (_end_key(candidate.end_date_time), candidate_member_type == "Direct")
    current_key = (_end_key(current.end_date_time), current_member_type == "Direct")
    return candidate_key > current_key


def _more_own(
    candidate: ScheduleInstanceBase,
    candidate_member_type: str,
    current: ScheduleInstanceBase,
    current_member_type: str,
) -> bool:
    """Of two active instances of one role, keep the principal's own (their activation, whose
    end the scheduler follows) over one through a group; then the one that lasts longer."""
    candidate_key = (candidate_member_type == "Direct", _end_key(candidate.end_date_time))
    current_key = (current_member_type == "Direct", _end_key(current.end_date_time))
    return candidate_key > current_key


async def read_current_assignment(
    http: GraphHttp,
    principal_id: str,
    role_id: str,
    target_schedule_id: str | None = None,
) -> AssignmentWindow | None:
    """The principal's own tenant-wide assignment instance for the role, as Graph reports it.

    When several exist (a permanent and a time-bound one), the one created by
    `target_schedule_id` wins, else the one that lasts longest.
    """
    params = {
        "$filter": (
            f"principalId eq {odata_string(principal_id)} "
            f"and roleDefinitionId eq {odata_string(role_id)}"
        )
    }
    instances = [
        instance
        async for item in http.get_all(ASSIGNMENT_INSTANCES, params)
        if (instance := AssignmentScheduleInstance.model_validate(item)).principal_id
        == principal_id
        and instance.role_definition_id == role_id
        and (instance.directory_scope_id or TENANT_SCOPE) == TENANT_SCOPE
    ]
    if not instances:
        return None
    chosen = next(
        (
            instance
            for instance in instances
            if target_schedule_id and instance.role_assignment_schedule_id == target_schedule_id
        ),
        None,
    ) or max(instances, key=lambda instance: _end_key(instance.end_date_time))
    return AssignmentWindow(chosen.start_date_time, chosen.end_date_time, chosen.assignment_type)


# --- write side --------------------------------------------------------------------------------


def schedule_request_body(
    action: str, request: ActivationRequest, start: datetime, end: datetime | None = None
) -> dict[str, object]:
    """The `roleAssignmentScheduleRequests` body that assigns the role for the requested duration
    from `start`, or (with `end`) schedules it from `start` until `end`, as an app-only admin
    action."""
    ticket = (
        TicketInfo(ticket_number=request.ticket.number, ticket_system=request.ticket.system)
        if request.ticket
        else None
    )
    body = RoleAssignmentScheduleRequest(
        action=action,
        principal_id=request.requester.id,
        role_definition_id=request.role.id,
        directory_scope_id=TENANT_SCOPE,
        # The default admin policy (Enablement_Admin_Assignment) requires a justification.
        justification=request.justification or f"Activated through pimbot (request {request.id})",
        ticket_info=ticket,
        schedule_info=RequestSchedule(
            start_date_time=_as_utc(start),
            expiration=ExpirationPattern(type="afterDuration", duration=request.duration)
            if end is None
            else ExpirationPattern(type="afterDateTime", end_date_time=_as_utc(end)),
        ),
    )
    return body.to_wire()


def window_from_response(
    response: RoleAssignmentScheduleRequestResponse, start: datetime, duration: timedelta
) -> tuple[datetime | None, datetime | None]:
    """(start, end) as the schedule request's answer implies them: its endDateTime, or its start
    plus its duration; what was asked for where Graph's answer says nothing."""
    info = response.schedule_info
    actual_start = info.start_date_time if info and info.start_date_time else start
    expiration = info.expiration if info else None
    if expiration and expiration.end_date_time:
        return actual_start, expiration.end_date_time
    if expiration and expiration.duration is not None:
        return actual_start, actual_start + expiration.duration
    if expiration and expiration.type.lower() == "noexpiration":
        return actual_start, None
    return actual_start, actual_start + duration


class BotEngine:
    """`Engine` for the bot engine: pimbot has approved; Graph is told with app-only admin
    actions (`adminAssign`, `adminExtend`, `adminRemove`) on time-bound active assignments."""

    def __init__(self, http: GraphHttp, *, now: Now = utc_now) -> None:
        self._http = http
        self._now = now

    async def activate(self, request: ActivationRequest) -> ActivationResult:
        return await self._schedule("adminAssign", request)

    async def extend(self, request: ActivationRequest) -> ActivationResult:
        """Add the request's duration to the end of the current assignment. `adminExtend` replaces
        the schedule, so it is sent from now until the current end plus the duration (PIM checks
        that span against the policy's longest assignment)."""
        current = await read_current_assignment(self._http, request.requester.id, request.role.id)
        if current is None or current.end is None:
            raise RoleAssignmentDoesNotExist(
                400, "RoleAssignmentDoesNotExist", "no time-bound assignment to extend"
            )
        return await self._schedule("adminExtend", request, end=current.end + request.duration)

    async def deactivate(self, principal_id: str, role_id: str) -> None:
        body = RoleAssignmentScheduleRequest(
            action="adminRemove",
            principal_id=principal_id,
            role_definition_id=role_id,
            directory_scope_id=TENANT_SCOPE,
            justification="Deactivated through pimbot",
        ).to_wire()
        payload, _ = await self._http.post_json(ASSIGNMENT_REQUESTS, body)
        logger.info(
            "adminRemove of role %s for %s: %s", role_id, principal_id, payload.get("status")
        )

    async def current_assignment(self, principal_id: str, role_id: str) -> AssignmentWindow | None:
        """The principal's own active assignment of the role, or None when there is none."""
        return await read_current_assignment(self._http, principal_id, role_id)

    async def _schedule(
        self, action: str, request: ActivationRequest, *, end: datetime | None = None
    ) -> ActivationResult:
        start = self._now()
        payload, headers = await self._http.post_json(
            ASSIGNMENT_REQUESTS, schedule_request_body(action, request, start, end)
        )
        try:
            response = RoleAssignmentScheduleRequestResponse.model_validate(payload)
        except ValidationError as exc:
            raise GraphError(
                201, "InvalidResponse", f"unexpected schedule request answer: {exc}"
            ) from exc
        if response.status in UNSUCCESSFUL_STATUSES:
            raise GraphError(
                201,
                f"Request{response.status}",
                f"{action} of role {request.role.id} ended as {response.status}",
                request_id=headers.get("request-id"),
            )
        window_start, window_end = window_from_response(response, start, request.duration)
        confirmed = await self._confirmed_window(request, response.target_schedule_id)
        if confirmed is not None:
            window_start = confirmed.start or window_start
            window_end = confirmed.end
        logger.info(
            "%s of role %s for %s: %s until %s (request %s)",
            action,
            request.role.id,
            request.requester.id,
            response.status,
            window_end.isoformat() if window_end else "no end",
            response.id,
        )
        return ActivationResult(
            graph_request_id=response.id,
            status=response.status,
            start=window_start,
            end=window_end,
        )

    async def _confirmed_window(
        self, request: ActivationRequest, target_schedule_id: str | None
    ) -> AssignmentWindow | None:
        """The schedule instance Graph now holds. The role is granted already, so a failure to
        read it back only costs precision, not the activation."""
        try:
            return await read_current_assignment(
                self._http, request.requester.id, request.role.id, target_schedule_id
            )
        except GraphError as exc:
            logger.warning("could not read back the assignment of request %s: %s", request.id, exc)
            return None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
