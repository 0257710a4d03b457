"""Standing access over Graph: the reads of `standing` and the two writes of a conversion
(`bot.governance.ports.StandingReads` and `StandingWrites`).

Reads page through whole collections (`roleAssignmentScheduleInstances` with `$expand=principal`,
`roleAssignmentSchedules`, self-activation requests, users' `signInActivity`, and, when apps hold
roles, the service principal sign-in activity report) concurrently, so that 10,000 assignments
take a handful of round trips of up to 999 items rather than one call per person. Both sign-in
reads need `AuditLog.Read.All` and an Entra ID P1 licence; without them Graph refuses them and the
report says the last sign-in is unknown instead of failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.domain import Person, Role
from bot.governance.domain import (
    STANDING_HORIZON,
    EligibilityLimit,
    StandingAssignment,
    StandingSnapshot,
)
from bot.graph.assignments import (
    ASSIGNMENT_INSTANCES,
    ASSIGNMENT_REQUESTS,
    TENANT_SCOPE,
    remove_assignment,
)
from bot.graph.directory import ELIGIBILITY_INSTANCES, POLICY_ASSIGNMENTS, ROLE_DEFINITIONS
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp, Params
from bot.graph.models import (
    AssignmentScheduleInstance,
    ExpirationPattern,
    ExpirationRule,
    GraphModel,
    RequestSchedule,
    RoleAssignmentScheduleRequest,
    RoleAssignmentScheduleRequestResponse,
    RoleDefinition,
    RoleManagementPolicyAssignment,
)
from bot.graph.odata import odata_string

log = logging.getLogger(__name__)

ASSIGNMENT_SCHEDULES = "/roleManagement/directory/roleAssignmentSchedules"
ELIGIBILITY_REQUESTS = "/roleManagement/directory/roleEligibilityScheduleRequests"
PAGE = 999
# What the pim engine asks an admin to delegate for a change they decide: a conversion
# (adminAssign of an eligibility, adminRemove of an assignment), an alert's fix (adminRemove of an
# eligibility, the PATCH of a policy rule, which Graph offers to signed-in admins only).
ADMIN_DELEGATED_SCOPES = (
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleManagementPolicy.ReadWrite.Directory",
)
SIGN_IN_UNKNOWN = "last sign-in (Graph refused signInActivity: it needs AuditLog.Read.All)"
APP_SIGN_INS = "/reports/servicePrincipalSignInActivities"
APP_SIGN_IN_UNKNOWN = (
    "apps' last sign-in (Graph refused reports/servicePrincipalSignInActivities: it needs "
    "AuditLog.Read.All and Entra ID P1)"
)
ACTIVATION_UNKNOWN = "last activation (Graph refused to list activation requests)"
_PRINCIPAL_TYPES: dict[str, Literal["user", "group", "servicePrincipal"]] = {
    "#microsoft.graph.user": "user",
    "#microsoft.graph.group": "group",
    "#microsoft.graph.serviceprincipal": "servicePrincipal",
}


class _Principal(GraphModel):
    id: str
    display_name: str | None = None
    user_principal_name: str | None = None
    app_id: str | None = None


class _Schedule(GraphModel):
    id: str
    principal_id: str
    role_definition_id: str
    created_date_time: datetime | None = None


class _SignInActivity(GraphModel):
    last_sign_in_date_time: datetime | None = None
    last_non_interactive_sign_in_date_time: datetime | None = None


class AppSignInActivity(GraphModel):
    """An item of `reports/servicePrincipalSignInActivities` (beta)."""

    app_id: str | None = None
    last_sign_in_activity: _SignInActivity | None = None
    application_authentication_client_sign_in_activity: _SignInActivity | None = None
    application_authentication_resource_sign_in_activity: _SignInActivity | None = None
    delegated_client_sign_in_activity: _SignInActivity | None = None
    delegated_resource_sign_in_activity: _SignInActivity | None = None

    @property
    def last(self) -> datetime | None:
        if self.last_sign_in_activity and self.last_sign_in_activity.last_sign_in_date_time:
            return self.last_sign_in_activity.last_sign_in_date_time
        flows = (
            self.application_authentication_client_sign_in_activity,
            self.application_authentication_resource_sign_in_activity,
            self.delegated_client_sign_in_activity,
            self.delegated_resource_sign_in_activity,
        )
        times = [f.last_sign_in_date_time for f in flows if f and f.last_sign_in_date_time]
        return max(times, default=None)


class _UserSignIns(GraphModel):
    id: str
    sign_in_activity: _SignInActivity | None = None


class _Activation(GraphModel):
    principal_id: str
    role_definition_id: str
    status: str | None = None
    created_date_time: datetime | None = None


class GraphStanding:
    def __init__(self, http: GraphHttp, *, tenant_id: str, now: Callable[[], datetime]) -> None:
        self._http = http
        self._tenant_id = tenant_id
        self._now = now

    # --- reads --------------------------------------------------------------------------------

    async def standing_assignments(self, now: datetime) -> StandingSnapshot:
        horizon = now + STANDING_HORIZON
        unknown: list[str] = []
        # Every collection at once: Graph pages each one by nextLink, one page after another.
        # Apps' sign-ins are read once the assignments show that apps hold roles, alongside the
        # rest.
        listed = asyncio.ensure_future(self._instances({"$expand": "principal", "$top": PAGE}))

        async def apps_signed_in() -> dict[str, datetime]:
            apps = {_app_id(p) for _, p in await listed if _kind_of(p) == "servicePrincipal"}
            apps.discard("")
            return await self.app_sign_ins(unknown) if apps else {}

        instances, schedules, roles, sign_ins, activations, app_sign_ins = await asyncio.gather(
            listed,
            self._all(
                ASSIGNMENT_SCHEDULES,
                {"$select": "id,principalId,roleDefinitionId,createdDateTime", "$top": PAGE},
            ),
            self._roles(),
            self._sign_ins(unknown),
            self._last_activations(unknown),
            apps_signed_in(),
        )
        standing = [
            (instance, principal)
            for instance, principal in instances
            if instance.assignment_type != "Activated"
            and (instance.end_date_time is None or instance.end_date_time > horizon)
        ]
        created = {
            (s.principal_id, s.role_definition_id): s.created_date_time
            for s in (_Schedule.model_validate(item) for item in schedules)
        }
        found = [
            StandingAssignment(
                principal=self._person(instance.principal_id, principal),
                principal_type=_kind_of(principal),
                role=roles.get(instance.role_definition_id)
                or Role(id=instance.role_definition_id, display_name=instance.role_definition_id),
                assignment_id=instance.id,
                origin=_origin(instance),
                since=instance.start_date_time
                or created.get((instance.principal_id, instance.role_definition_id)),
                end=instance.end_date_time,
                last_sign_in=app_sign_ins.get(_app_id(principal))
                if _kind_of(principal) == "servicePrincipal"
                else sign_ins.get(instance.principal_id),
                last_activation=activations.get(
                    (instance.principal_id, instance.role_definition_id)
                ),
            )
            for instance, principal in standing
        ]
        return StandingSnapshot(assignments=tuple(found), unknown=tuple(unknown))

    async def active_assignment(self, principal_id: str, role_id: str) -> StandingAssignment | None:
        params = {
            "$filter": f"principalId eq {odata_string(principal_id)} "
            f"and roleDefinitionId eq {odata_string(role_id)}",
            "$expand": "principal",
        }
        own = [
            (instance, principal)
            for instance, principal in await self._instances(params)
            if instance.principal_id.lower() == principal_id.lower()
            and instance.role_definition_id == role_id
        ]
        if not own:
            return None
        instance, principal = max(own, key=lambda pair: _end_key(pair[0].end_date_time))
        roles = await self._roles()
        return StandingAssignment(
            principal=self._person(instance.principal_id, principal),
            principal_type=_kind_of(principal),
            role=roles.get(role_id) or Role(id=role_id, display_name=role_id),
            assignment_id=instance.id,
            origin=_origin(instance),
            since=instance.start_date_time,
            end=instance.end_date_time,
        )

    async def active_principals(self, role_id: str) -> list[str]:
        params: Params = {"$filter": f"roleDefinitionId eq {odata_string(role_id)}", "$top": PAGE}
        return sorted({i.principal_id for i, _ in await self._instances(params)})

    async def is_eligible(self, principal_id: str, role_id: str) -> bool:
        params = {
            "$filter": f"principalId eq {odata_string(principal_id)} "
            f"and roleDefinitionId eq {odata_string(role_id)}"
        }
        items = await self._all(ELIGIBILITY_INSTANCES, params)
        return any(
            str(item.get("principalId", "")).lower() == principal_id.lower()
            and item.get("roleDefinitionId") == role_id
            and (item.get("directoryScopeId") or TENANT_SCOPE) == TENANT_SCOPE
            for item in items
        )

    async def eligibility_limit(self, role_id: str) -> EligibilityLimit:
        params = {
            "$filter": "scopeId eq '/' and scopeType eq 'DirectoryRole' "
            f"and roleDefinitionId eq {odata_string(role_id)}",
            "$expand": "policy($expand=rules)",
        }
        page = await self._http.get_json(POLICY_ASSIGNMENTS, params)
        for item in page.get("value") or []:
            policy = RoleManagementPolicyAssignment.model_validate(item).policy
            for rule in policy.rules if policy else []:
                if rule.id == "Expiration_Admin_Eligibility" and isinstance(rule, ExpirationRule):
                    return EligibilityLimit(
                        maximum=rule.maximum_duration,
                        expiration_required=rule.is_expiration_required,
                    )
        return EligibilityLimit(maximum=timedelta(days=365))  # Microsoft's default policy

    # --- writes -------------------------------------------------------------------------------

    async def make_eligible(
        self, principal_id: str, role_id: str, start: datetime, end: datetime, justification: str
    ) -> str:
        body = RoleAssignmentScheduleRequest(
            action="adminAssign",
            principal_id=principal_id,
            role_definition_id=role_id,
            directory_scope_id=TENANT_SCOPE,
            justification=justification,
            schedule_info=RequestSchedule(
                start_date_time=start.astimezone(UTC),
                expiration=ExpirationPattern(
                    type="afterDateTime", end_date_time=end.astimezone(UTC)
                ),
            ),
        ).to_wire()
        answer, _ = await self._http.post_json(ELIGIBILITY_REQUESTS, body)
        return RoleAssignmentScheduleRequestResponse.model_validate(answer).id

    async def remove_assignment(self, principal_id: str, role_id: str, justification: str) -> str:
        return await remove_assignment(self._http, principal_id, role_id, justification)

    # --- helpers ------------------------------------------------------------------------------

    async def _all(self, path: str, params: Params) -> list[dict[str, Any]]:
        return [item async for item in self._http.get_all(path, params)]

    async def _instances(
        self, params: Params
    ) -> list[tuple[AssignmentScheduleInstance, dict[str, Any] | None]]:
        found = []
        for item in await self._all(ASSIGNMENT_INSTANCES, params):
            instance = AssignmentScheduleInstance.model_validate(item)
            if (instance.directory_scope_id or TENANT_SCOPE) != TENANT_SCOPE:
                continue
            principal = item.get("principal")
            found.append((instance, principal if isinstance(principal, dict) else None))
        return found

    async def _roles(self) -> dict[str, Role]:
        items = await self._all(ROLE_DEFINITIONS, {"$select": "id,displayName,description"})
        roles = {}
        for item in items:
            definition = RoleDefinition.model_validate(item)
            roles[definition.id] = Role(
                id=definition.id,
                display_name=definition.display_name or definition.id,
                description=definition.description or "",
            )
        return roles

    async def _sign_ins(self, unknown: list[str]) -> dict[str, datetime]:
        """Last sign-in (interactive or not) per user; `signInActivity` only comes on $select."""
        params: dict[str, str | int] = {"$select": "id,signInActivity", "$top": PAGE}
        try:
            items = await self._all("/users", params)
        except GraphError as exc:
            if exc.status not in (400, 403):
                raise
            log.warning("signInActivity refused (%s %s)", exc.status, exc.code)
            unknown.append(SIGN_IN_UNKNOWN)
            return {}
        found: dict[str, datetime] = {}
        for item in items:
            user = _UserSignIns.model_validate(item)
            activity = user.sign_in_activity
            if activity is None:
                continue
            times = [
                t
                for t in (
                    activity.last_sign_in_date_time,
                    activity.last_non_interactive_sign_in_date_time,
                )
                if t is not None
            ]
            if times:
                found[user.id] = max(times)
        return found

    async def app_sign_ins(self, unknown: list[str]) -> dict[str, datetime]:
        """Last sign-in per app id, from the service principal sign-in activity report (beta;
        AuditLog.Read.All and Entra ID P1). An app missing from it has no sign-in recorded.
        When Graph refuses the report, `unknown` says so and nothing is known."""
        params: dict[str, str | int] = {"$top": PAGE}
        try:
            items = [
                item async for item in self._http.get_all(APP_SIGN_INS, params, version="beta")
            ]
        except GraphError as exc:
            if exc.status not in (400, 403, 404):
                raise
            log.warning("service principal sign-in activity refused (%s %s)", exc.status, exc.code)
            unknown.append(APP_SIGN_IN_UNKNOWN)
            return {}
        return app_sign_ins_of(items)

    async def _last_activations(self, unknown: list[str]) -> dict[tuple[str, str], datetime]:
        params: dict[str, str | int] = {
            "$filter": "action eq 'selfActivate'",
            "$select": "principalId,roleDefinitionId,status,createdDateTime",
            "$top": PAGE,
        }
        try:
            items = await self._all(ASSIGNMENT_REQUESTS, params)
        except GraphError as exc:
            if exc.status not in (400, 403):
                raise
            unknown.append(ACTIVATION_UNKNOWN)
            return {}
        latest: dict[tuple[str, str], datetime] = {}
        for item in items:
            activation = _Activation.model_validate(item)
            when = activation.created_date_time
            if when is None or activation.status in ("Denied", "Failed", "Canceled"):
                continue
            key = (activation.principal_id, activation.role_definition_id)
            if key not in latest or latest[key] < when:
                latest[key] = when
        return latest

    def _person(self, principal_id: str, principal: dict[str, Any] | None) -> Person:
        parsed = _Principal.model_validate(principal) if principal else None
        return Person(
            id=principal_id,
            tenant_id=self._tenant_id,
            display_name=(parsed.display_name if parsed else None) or principal_id,
            upn=(parsed.user_principal_name if parsed else None) or "",
        )


def app_sign_ins_of(items: Iterable[Mapping[str, Any]]) -> dict[str, datetime]:
    """App id → last sign-in (`lastSignInActivity`, else the latest of the four flows) from the
    items of `reports/servicePrincipalSignInActivities`."""
    found: dict[str, datetime] = {}
    for item in items:
        activity = AppSignInActivity.model_validate(item)
        if activity.app_id and (last := activity.last) is not None:
            found[activity.app_id] = max(last, found.get(activity.app_id, last))
    return found


def _app_id(principal: Mapping[str, Any] | None) -> str:
    return str((principal or {}).get("appId") or "")


def _kind_of(
    principal: Mapping[str, Any] | None,
) -> Literal["user", "group", "servicePrincipal", "unknown"]:
    if principal is None:
        return "unknown"
    return _PRINCIPAL_TYPES.get(str(principal.get("@odata.type", "")).lower(), "unknown")


def _origin(instance: AssignmentScheduleInstance) -> Literal["pim", "direct"]:
    """Made outside PIM (`POST /roleManagement/directory/roleAssignments`): Graph shows such an
    instance without a start, and its schedule id is the assignment's own id."""
    if instance.start_date_time is None or instance.role_assignment_schedule_id == instance.id:
        return "direct"
    return "pim"


def _end_key(end: datetime | None) -> datetime:
    return end if end is not None else datetime.max.replace(tzinfo=UTC)
