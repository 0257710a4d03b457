"""PIM's rules for `roleManagement/directory/roleEligibilityScheduleRequests`: an admin makes
someone eligible (`adminAssign`) or takes an eligibility away (`adminRemove`).

As Microsoft documents it (https://learn.microsoft.com/graph/api/rbacapplication-post-roleeligibilityschedulerequests):
the caller needs `RoleEligibilitySchedule.ReadWrite.Directory` (or `RoleManagement.ReadWrite.
Directory`); a signed-in caller must also hold Privileged Role Administrator or Global
Administrator; the role's `Expiration_Admin_Eligibility` rule bounds the schedule and
`Enablement_Admin_Eligibility` may ask for a justification or MFA; an eligibility that exists
already is refused with `RoleAssignmentExists`, a missing one with `RoleAssignmentDoesNotExist`.
An eligibility is for a user or a role-assignable group: Graph grants service principals active
assignments only, so `adminAssign` for one is refused (400; Microsoft documents the rule, not
its error code, and the twin answers with the generic `BadRequest`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.sandbox.graph.audit import AuditLog
from bot.sandbox.graph.auth import WRITE_ELIGIBILITY_REQUESTS, Caller
from bot.sandbox.graph.errors import (
    access_denied,
    assignment_does_not_exist,
    assignment_exists,
    bad_request,
    policy_failed,
)
from bot.sandbox.graph.requests import (
    ParsedRequest,
    expiration_failure,
    not_supported,
    parse_request,
)
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.graph.state import (
    Identity,
    RequestedSchedule,
    ScheduleRequest,
    TwinState,
)
from bot.sandbox.graph.values import new_guid, parse_duration
from bot.sandbox.tenant import DemoTenant

EXPIRATION_RULE = "Expiration_Admin_Eligibility"
ENABLEMENT_RULE = "Enablement_Admin_Eligibility"


class Roles(Protocol):
    """What of the twin's role management this needs (`RoleManagement`)."""

    tenant: DemoTenant
    state: TwinState
    now: Callable[[], datetime]

    def is_principal(self, object_id: str) -> bool: ...

    def is_service_principal(self, object_id: str) -> bool: ...

    def active_eligibility(self, principal_id: str, role_id: str) -> Schedule | None: ...

    def holds_active_role(self, user_id: str, role_ids: tuple[str, ...]) -> bool: ...


class EligibilityRequests:
    def __init__(self, roles: Roles, audit: AuditLog) -> None:
        self._roles = roles
        self._audit = audit

    def submit(self, caller: Caller, body: object) -> ScheduleRequest:
        caller.require(WRITE_ELIGIBILITY_REQUESTS)
        parsed = parse_request(body)
        try:
            self._roles.tenant.role(parsed.role_id)
        except KeyError:
            raise bad_request(
                f"The role definition '{parsed.role_id}' does not exist.", "RoleNotFound"
            ) from None
        if not self._roles.is_principal(parsed.principal_id):
            raise bad_request(
                f"The principal '{parsed.principal_id}' does not exist.", "SubjectNotFound"
            )
        self._require_admin_role(caller)
        if parsed.action == "adminAssign":
            return self._assign(caller, parsed)
        if parsed.action == "adminRemove":
            return self._remove(caller, parsed)
        raise not_supported(parsed.action)

    def _assign(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        roles = self._roles
        if roles.is_service_principal(parsed.principal_id):
            # Graph: "Can be a user or a role-assignable group. You can grant only active
            # assignments service principals." (unifiedRoleEligibilityScheduleRequest)
            raise bad_request(
                f"The principal '{parsed.principal_id}' is a service principal: role "
                "eligibility can be granted to users and role-assignable groups only; grant "
                "service principals active assignments."
            )
        if roles.active_eligibility(parsed.principal_id, parsed.role_id) is not None:
            raise assignment_exists()
        now = roles.now()
        times = parsed.times
        start = times.resolved_start(now) if times else now
        self._check_rules(caller, parsed, start)
        end = times.end_from(start) if times else None
        request = self._new_request(caller, parsed, "Provisioned")
        request.schedule = RequestedSchedule(
            start=start,
            expiration_type=times.expiration_type if times else "noExpiration",
            end=end,
            duration=times.duration if times else None,
        )
        if parsed.is_validation_only:
            return request
        schedule = Schedule(
            id=request.id,
            kind="eligibility",
            principal_id=parsed.principal_id,
            role_id=parsed.role_id,
            created_using=request.id,
            created=now,
            start=start,
            end=end,
            expiration_type="afterDateTime" if end else "noExpiration",
        )
        roles.state.schedules.append(schedule)
        request.target_schedule_id = schedule.id
        request.completed = now
        kind = "timebound" if end else "permanent"
        self._write_audit(request, f"Add eligible member to role in PIM completed ({kind})")
        roles.state.eligibility_requests.append(request)
        return request

    def _remove(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        roles = self._roles
        schedule = roles.active_eligibility(parsed.principal_id, parsed.role_id)
        if schedule is None or schedule.principal_id.lower() != parsed.principal_id.lower():
            raise assignment_does_not_exist()
        request = self._new_request(caller, parsed, "Revoked")
        if parsed.is_validation_only:
            return request
        roles.state.schedules.remove(schedule)
        request.target_schedule_id = schedule.id
        kind = "timebound" if schedule.end else "permanent"
        self._write_audit(request, f"Remove eligible member from role in PIM completed ({kind})")
        roles.state.eligibility_requests.append(request)
        return request

    def _check_rules(self, caller: Caller, parsed: ParsedRequest, start: datetime) -> None:
        rules = {
            str(r.get("id")): r for r in self._roles.state.policy_for_role(parsed.role_id).rules
        }
        expiration = rules.get(EXPIRATION_RULE, {})
        enabled = set(rules.get(ENABLEMENT_RULE, {}).get("enabledRules") or [])
        failed = []
        if "MultiFactorAuthentication" in enabled and caller.user_id and not caller.has_mfa:
            failed.append("MfaRule")
        if "Justification" in enabled and not (parsed.justification or "").strip():
            failed.append("JustificationRule")
        maximum = parse_duration(expiration.get("maximumDuration") or "P365D", "maximumDuration")
        required = bool(expiration.get("isExpirationRequired"))
        if expiration_failure(parsed.times, start, required=required, maximum=maximum):
            failed.append("ExpirationRule")
        if failed:
            raise policy_failed(failed)

    def _require_admin_role(self, caller: Caller) -> None:
        user_id = caller.user_id
        if user_id and not self._roles.holds_active_role(user_id, _ADMIN_ROLES):
            raise access_denied(
                "The signed-in user needs an active Privileged Role Administrator or Global "
                "Administrator role for this operation."
            )

    def _new_request(self, caller: Caller, parsed: ParsedRequest, status: str) -> ScheduleRequest:
        now = self._roles.now()
        user = None
        if caller.user_id:
            try:
                name: str | None = self._roles.tenant.user(caller.user_id).display_name
            except KeyError:
                name = None
            user = Identity(id=caller.user_id, display_name=name)
        return ScheduleRequest(
            id=new_guid(),
            action=parsed.action,
            status=status,
            principal_id=parsed.principal_id,
            role_id=parsed.role_id,
            justification=parsed.justification,
            ticket_number=parsed.ticket_number,
            ticket_system=parsed.ticket_system,
            is_validation_only=parsed.is_validation_only,
            created=now,
            created_by_user=user,
            created_by_app=None if caller.user_id else Identity(id=caller.app_id),
        )

    def _write_audit(self, request: ScheduleRequest, activity: str) -> None:
        user, app = request.created_by_user, request.created_by_app
        initiated_by: dict[str, Any] = (
            {"user": {"id": user.id, "displayName": user.display_name}, "app": None}
            if user
            else {"user": None, "app": {"appId": app.id if app else "", "displayName": None}}
        )
        self._audit.write(
            activity,
            at=self._roles.now(),
            operation="Add" if request.action == "adminAssign" else "Delete",
            role_id=request.role_id,
            principal_id=request.principal_id,
            initiated_by=initiated_by,
            details={
                "RoleEligibilityRequestId": request.id,
                "Justification": request.justification,
            },
            correlation_id=request.id,
        )


_ADMIN_ROLES = (
    "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
    "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
)
