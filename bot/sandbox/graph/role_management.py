"""PIM's rules for directory roles: schedule requests (admin and self actions), approvals,
cancellation, direct role assignments, and what the clock does (the sweep).

Every method works on `TwinState` in memory and raises `GraphHttpError` with Graph's codes and
messages; the HTTP layer only translates. Methods return True (or an object)
when they changed the state, so the caller knows when to save it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.graph.audit import PIM_SYSTEM_USER, AuditLog
from bot.sandbox.graph.auth import (
    DECIDE_APPROVALS,
    WRITE_ASSIGNMENT_REQUESTS,
    WRITE_DIRECT_ASSIGNMENTS,
    WRITE_POLICIES,
    Caller,
)
from bot.sandbox.graph.errors import (
    GraphHttpError,
    access_denied,
    acrs_failed,
    active_duration_too_short,
    assignment_does_not_exist,
    assignment_exists,
    bad_request,
    not_found,
    pending_request_exists,
    policy_failed,
)
from bot.sandbox.graph.policies import EffectivePolicy, patched_rules, read_policy
from bot.sandbox.graph.principals import find_service_principal
from bot.sandbox.graph.requests import (
    ParsedRequest,
    expiration_failure,
    not_supported,
    parse_request,
)
from bot.sandbox.graph.schedules import Schedule
from bot.sandbox.graph.state import (
    Approval,
    ApprovalStep,
    Identity,
    RequestedSchedule,
    ScheduleRequest,
    TwinState,
)
from bot.sandbox.graph.values import new_guid
from bot.sandbox.tenant import DemoTenant

MINIMUM_ACTIVE_DURATION = timedelta(minutes=5)
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
_CANCELABLE = ("Granted", "PendingApproval", "PendingAdminDecision")


class RoleManagement:
    """PIM for directory roles over one tenant and its `TwinState`."""

    def __init__(self, tenant: DemoTenant, state: TwinState, now: Callable[[], datetime]) -> None:
        self.tenant = tenant
        self.state = state
        self.now = now
        self.audit = AuditLog(tenant, state.audits)

    # --- queries -----------------------------------------------------------------------------

    def is_principal(self, object_id: str) -> bool:
        """A user, a group or a service principal (an app or managed identity) of the tenant."""
        return (
            self._user_exists(object_id)
            or self._group_exists(object_id)
            or self.is_service_principal(object_id)
        )

    def is_service_principal(self, object_id: str) -> bool:
        return find_service_principal(self.tenant, object_id) is not None

    def groups_of(self, principal_id: str) -> list[str]:
        if not self._user_exists(principal_id):
            return []
        user_id = self.tenant.user(principal_id).id
        return [g.id for g in self.tenant.groups_of(user_id)]

    def live_assignments(self, principal_id: str, role_id: str) -> list[Schedule]:
        """Assignment schedules in force now or later (not yet ended)."""
        now = self.now()
        return [
            s
            for s in self.state.schedules_of("assignment", principal_id, role_id)
            if not s.ended(now)
        ]

    def active_eligibility(self, principal_id: str, role_id: str) -> Schedule | None:
        """The eligibility in force now, held directly or through a group."""
        now = self.now()
        for holder in (principal_id, *self.groups_of(principal_id)):
            for schedule in self.state.schedules_of("eligibility", holder, role_id):
                if schedule.in_force(now):
                    return schedule
        return None

    def holds_active_role(self, user_id: str, role_ids: tuple[str, ...]) -> bool:
        now = self.now()
        return any(
            s.kind == "assignment" and s.role_id in role_ids and s.in_force(now)
            for holder in (user_id, *self.groups_of(user_id))
            for s in self.state.schedules.of(holder)
        )

    def effective_policy(self, role_id: str) -> EffectivePolicy:
        return read_policy(self.state.policy_for_role(role_id).rules)

    def approver_of(self, approval: Approval, user_id: str) -> bool:
        return any(user_id.lower() in (a.lower() for a in s.approver_ids) for s in approval.steps)

    # --- schedule requests -------------------------------------------------------------------

    def submit(self, caller: Caller, body: object) -> ScheduleRequest:
        caller.require(WRITE_ASSIGNMENT_REQUESTS)
        parsed = parse_request(body)
        try:
            self.tenant.role(parsed.role_id)
        except KeyError:
            raise bad_request(
                f"The role definition '{parsed.role_id}' does not exist.", "RoleNotFound"
            ) from None
        if not self.is_principal(parsed.principal_id):
            raise bad_request(
                f"The principal '{parsed.principal_id}' does not exist.", "SubjectNotFound"
            )
        handlers: dict[str, Callable[[Caller, ParsedRequest], ScheduleRequest]] = {
            "adminAssign": self._admin_assign,
            "adminRemove": self._admin_remove,
            "adminExtend": self._admin_extend,
            "selfActivate": self._self_activate,
            "selfDeactivate": self._self_deactivate,
            "selfExtend": self._self_extend,
        }
        handler = handlers.get(parsed.action)
        if handler is None:
            raise not_supported(parsed.action)
        return handler(caller, parsed)

    def _new_request(self, caller: Caller, parsed: ParsedRequest, status: str) -> ScheduleRequest:
        now = self.now()
        times = parsed.times
        schedule = None
        if times is not None:
            start = times.resolved_start(now)
            schedule = RequestedSchedule(
                start=start,
                expiration_type=times.expiration_type,
                end=times.end if times.expiration_type == "afterDateTime" else None,
                duration=times.duration,
            )
        return ScheduleRequest(
            id=new_guid(),
            action=parsed.action,
            status=status,
            principal_id=parsed.principal_id,
            role_id=parsed.role_id,
            justification=parsed.justification,
            ticket_number=parsed.ticket_number,
            ticket_system=parsed.ticket_system,
            schedule=schedule,
            is_validation_only=parsed.is_validation_only,
            created=now,
            created_by_user=self._identity_of_user(caller),
            created_by_app=None if caller.user_id else Identity(id=caller.app_id),
        )

    def _record(self, request: ScheduleRequest) -> ScheduleRequest:
        if not request.is_validation_only:
            self.state.requests.append(request)
        return request

    def _require_admin_role(self, caller: Caller) -> None:
        """Delegated admin writes need the signed-in user to hold an admin role (Privileged Role
        Administrator or Global Administrator, as Graph documents for these operations)."""
        user_id = caller.user_id
        if user_id and not self.holds_active_role(
            user_id, (GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR)
        ):
            raise access_denied(
                "The signed-in user needs an active Privileged Role Administrator or Global "
                "Administrator role for this operation."
            )

    def _check_admin_rules(self, caller: Caller, parsed: ParsedRequest, start: datetime) -> None:
        policy = self.effective_policy(parsed.role_id)
        failed = []
        # Only a signed-in admin can prove MFA; app-only callers are not asked to.
        mfa_needed = "MultiFactorAuthentication" in policy.admin_enabled and caller.user_id
        if mfa_needed and not caller.has_mfa:
            failed.append("MfaRule")
        if "Justification" in policy.admin_enabled and not parsed.has_justification:
            failed.append("JustificationRule")
        if "Ticketing" in policy.admin_enabled and not parsed.has_ticket:
            failed.append("TicketingRule")
        if expiration_failure(
            parsed.times,
            start,
            required=policy.admin_expiration_required,
            maximum=policy.admin_max_duration,
        ):
            failed.append("ExpirationRule")
        if failed:
            raise policy_failed(failed)

    def _admin_assign(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        self._require_admin_role(caller)
        if self.live_assignments(parsed.principal_id, parsed.role_id):
            raise assignment_exists()
        now = self.now()
        request = self._new_request(caller, parsed, "Provisioned")
        start = request.schedule.start if request.schedule else now
        self._check_admin_rules(caller, parsed, start)
        if request.schedule is None:
            request.schedule = RequestedSchedule(start=now, expiration_type="noExpiration")
        if parsed.is_validation_only:
            return request
        schedule = self._create_assignment(request, "Assigned", activated_using=None)
        kind = "timebound" if schedule.end else "permanent"
        self._audit_request(request, f"Add member to role in PIM requested ({kind})", "Add")
        self._finish_if_started(request, schedule)
        return self._record(request)

    def _admin_remove(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        self._require_admin_role(caller)
        schedule = self._removable(parsed.principal_id, parsed.role_id, kinds=None)
        request = self._new_request(caller, parsed, "Revoked")
        request.schedule = None
        if parsed.is_validation_only:
            return request
        self.state.schedules.remove(schedule)
        kind = "timebound" if schedule.end else "permanent"
        self._audit_request(request, f"Remove member from role in PIM requested ({kind})", "Delete")
        self._audit_request(request, f"Remove member from role in PIM completed ({kind})", "Delete")
        return self._record(request)

    def _admin_extend(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        self._require_admin_role(caller)
        candidates = [
            s
            for s in self.live_assignments(parsed.principal_id, parsed.role_id)
            if s.assignment_type == "Assigned" and s.end is not None and not s.outside_pim
        ]
        if not candidates:
            raise assignment_does_not_exist()
        if parsed.times is None:
            raise bad_request("adminExtend needs a scheduleInfo with the new expiration.")
        schedule = candidates[0]
        start = parsed.times.start or schedule.start
        end = parsed.times.end_from(start)
        self._check_admin_rules(caller, parsed, start)
        if end is not None and end <= self.now():
            raise bad_request("The extended schedule must end in the future.")
        request = self._new_request(caller, parsed, "Provisioned")
        request.schedule = RequestedSchedule(
            start=start,
            expiration_type=parsed.times.expiration_type,
            end=parsed.times.end if parsed.times.expiration_type == "afterDateTime" else None,
            duration=parsed.times.duration,
        )
        request.completed = self.now()
        request.target_schedule_id = schedule.id
        if parsed.is_validation_only:
            return request
        schedule.start, schedule.end = start, end
        schedule.expiration_type = parsed.times.expiration_type
        schedule.duration = parsed.times.duration
        schedule.modified = self.now()
        self.state.schedules.moved(schedule)
        self._audit_request(request, "Add member to role in PIM requested (extend)", "Update")
        self._audit_request(request, "Add member to role in PIM completed (extend)", "Update")
        return self._record(request)

    def _self_principal(self, caller: Caller, parsed: ParsedRequest) -> str:
        """Self actions: a signed-in user acting as themself (or as a group they are in)."""
        user_id = caller.require_user()
        allowed = {user_id.lower(), *(g.lower() for g in self.groups_of(user_id))}
        if parsed.principal_id.lower() not in allowed:
            raise access_denied(
                f"The action '{parsed.action}' can only be requested by the principal itself."
            )
        return user_id

    def _self_activate(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        self._self_principal(caller, parsed)
        eligibility = self.active_eligibility(parsed.principal_id, parsed.role_id)
        if eligibility is None:
            raise policy_failed(["EligibilityRule"])
        if self.live_assignments(parsed.principal_id, parsed.role_id):
            raise assignment_exists()
        if any(
            r.status == "PendingApproval"
            and r.principal_id.lower() == parsed.principal_id.lower()
            and r.role_id.lower() == parsed.role_id.lower()
            for r in self.state.requests
        ):
            raise pending_request_exists()
        policy = self.effective_policy(parsed.role_id)
        request = self._new_request(caller, parsed, "Granted")
        start = request.schedule.start if request.schedule else self.now()
        failed = []
        if "MultiFactorAuthentication" in policy.enduser_enabled and not caller.has_mfa:
            failed.append("MfaRule")
        if "Justification" in policy.enduser_enabled and not parsed.has_justification:
            failed.append("JustificationRule")
        if "Ticketing" in policy.enduser_enabled and not parsed.has_ticket:
            failed.append("TicketingRule")
        if expiration_failure(
            parsed.times,
            start,
            required=policy.enduser_expiration_required,
            maximum=policy.enduser_max_duration,
        ):
            failed.append("ExpirationRule")
        if failed:
            raise policy_failed(failed)
        if policy.auth_context and policy.auth_context not in caller.auth_contexts:
            raise acrs_failed(policy.auth_context)
        if parsed.is_validation_only:
            return request
        self._audit_request(request, "Add member to role requested (PIM activation)", "Add")
        if policy.approval_required:
            self._await_approval(request, policy)
        else:
            schedule = self._create_assignment(request, "Activated", eligibility.id)
            self._finish_if_started(request, schedule)
        return self._record(request)

    def _self_deactivate(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        self._self_principal(caller, parsed)
        schedule = self._removable(parsed.principal_id, parsed.role_id, kinds=("Activated",))
        request = self._new_request(caller, parsed, "Revoked")
        request.schedule = None
        if parsed.is_validation_only:
            return request
        self.state.schedules.remove(schedule)
        request.target_schedule_id = None
        self._audit_request(request, "Remove member from role requested (PIM deactivate)", "Delete")
        self._audit_request(request, "Remove member from role completed (PIM deactivate)", "Delete")
        return self._record(request)

    def _self_extend(self, caller: Caller, parsed: ParsedRequest) -> ScheduleRequest:
        """A user asks an admin to extend their time-bound assignment; an admin then extends
        it with adminExtend. (Activations cannot be extended: deactivate and activate again.)"""
        self._self_principal(caller, parsed)
        if not any(
            s.assignment_type == "Assigned" and s.end is not None and not s.outside_pim
            for s in self.live_assignments(parsed.principal_id, parsed.role_id)
        ):
            raise assignment_does_not_exist()
        request = self._new_request(caller, parsed, "PendingAdminDecision")
        if not parsed.is_validation_only:
            self._audit_request(request, "Add member to role in PIM requested (extend)", "Update")
        return self._record(request)

    def _removable(
        self, principal_id: str, role_id: str, kinds: tuple[str, ...] | None
    ) -> Schedule:
        """The assignment to deactivate or remove, honouring the five-minute rule."""
        now = self.now()
        candidates = [
            s
            for s in self.live_assignments(principal_id, role_id)
            if kinds is None or s.assignment_type in kinds
        ]
        if not candidates:
            raise assignment_does_not_exist()
        schedule = candidates[0]
        if schedule.in_force(now) and now - schedule.start < MINIMUM_ACTIVE_DURATION:
            raise active_duration_too_short()
        return schedule

    def _create_assignment(
        self, request: ScheduleRequest, assignment_type: str, activated_using: str | None
    ) -> Schedule:
        now = self.now()
        requested = request.schedule or RequestedSchedule(start=now, expiration_type="notSpecified")
        start = max(requested.start, now)  # an approval may come after the requested start
        end: datetime | None
        if requested.expiration_type == "afterDuration" and requested.duration is not None:
            end = start + requested.duration
        else:
            end = requested.effective_end
        schedule = Schedule(
            id=request.id,
            kind="assignment",
            principal_id=request.principal_id,
            role_id=request.role_id,
            created_using=request.id,
            created=now,
            start=start,
            end=end,
            expiration_type=requested.expiration_type,
            duration=requested.duration,
            assignment_type="Assigned" if assignment_type == "Assigned" else "Activated",
            activated_using=activated_using,
        )
        self.state.schedules.append(schedule)
        request.target_schedule_id = schedule.id
        return schedule

    def _finish_if_started(self, request: ScheduleRequest, schedule: Schedule) -> None:
        """Provisioned when the schedule is in force now; Granted until its start otherwise
        (the sweep provisions it then)."""
        now = self.now()
        if schedule.start <= now:
            request.status, request.completed = "Provisioned", now
            self._audit_request(request, _completion_activity(request), "Add")
        else:
            request.status, request.completed = "Granted", schedule.start

    # --- approvals -----------------------------------------------------------------------------

    def _await_approval(self, request: ScheduleRequest, policy: EffectivePolicy) -> None:
        now = self.now()
        steps = []
        for index, stage in enumerate(policy.approval_stages):
            approver_ids: list[str] = []
            for approver in stage.approvers:
                ids = (
                    [approver.id] if approver.kind == "user" else self._group_user_ids(approver.id)
                )
                approver_ids += [i for i in ids if i not in approver_ids]
            steps.append(
                ApprovalStep(
                    id=new_guid(),
                    approver_ids=approver_ids,
                    status="InProgress" if index == 0 else "Initializing",
                    started_at=now if index == 0 else None,
                    timeout=stage.timeout,
                    approver_justification_required=stage.approver_justification_required,
                )
            )
        self.state.approvals.append(Approval(id=request.id, request_id=request.id, steps=steps))
        request.status, request.approval_id = "PendingApproval", request.id
        self._audit_request(
            request, "Add member to role approval requested (PIM activation)", "Add"
        )

    def decide(self, caller: Caller, approval_id: str, step_id: str, body: object) -> None:
        caller.require(DECIDE_APPROVALS, app_allowed=False)
        user_id = caller.require_user()
        approval = self.state.approval(approval_id)
        if approval is None:
            raise not_found(f"The approval '{approval_id}' does not exist.")
        step = next((s for s in approval.steps if s.id.lower() == step_id.lower()), None)
        if step is None:
            raise not_found(f"The approval step '{step_id}' does not exist.")
        request = self.state.request(approval.request_id)
        assert request is not None
        requester_ids = {request.principal_id.lower()}
        if request.created_by_user:
            requester_ids.add(request.created_by_user.id.lower())
        if user_id.lower() in requester_ids:
            raise access_denied("Requestors cannot approve their own request.")
        if user_id.lower() not in (a.lower() for a in step.approver_ids):
            raise access_denied("The signed-in user is not an approver of this stage.")
        if step.status in ("Completed", "Expired") or request.status != "PendingApproval":
            raise GraphHttpError(409, "Conflict", "The approval stage has already been completed.")
        if step.status != "InProgress":
            raise bad_request("This approval stage has not started yet.")
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        result = str(body.get("reviewResult") or "").lower()
        if result not in ("approve", "deny"):
            raise bad_request("reviewResult must be 'Approve' or 'Deny'.")
        justification = body.get("justification") or ""
        if not isinstance(justification, str):
            raise bad_request("justification must be a string.")
        if step.approver_justification_required and not justification.strip():
            raise bad_request("A justification is required to decide this approval stage.")
        now = self.now()
        step.status, step.reviewed_at, step.justification = "Completed", now, justification
        step.review_result = "Approved" if result == "approve" else "Denied"
        step.reviewed_by = self._identity_of_user(caller)
        initiated = {"user": self._user_ref(user_id), "app": None}
        if result == "deny":
            request.status, request.completed = "Denied", now
            self._audit_request(
                request, "Add member to role request denied (PIM activation)", "Update", initiated
            )
            return
        self._audit_request(
            request, "Add member to role request approved (PIM activation)", "Update", initiated
        )
        following = [s for s in approval.steps if s.status == "Initializing"]
        if following:
            following[0].status, following[0].started_at = "InProgress", now
            return
        self._provision_approved(request)

    def _provision_approved(self, request: ScheduleRequest) -> None:
        eligibility = self.active_eligibility(request.principal_id, request.role_id)
        if eligibility is None or self.live_assignments(request.principal_id, request.role_id):
            request.status, request.completed = "Failed", self.now()
            return
        schedule = self._create_assignment(request, "Activated", eligibility.id)
        self._finish_if_started(request, schedule)

    def cancel(self, caller: Caller, request_id: str) -> None:
        caller.require(WRITE_ASSIGNMENT_REQUESTS)
        request = self.state.request(request_id)
        if request is None:
            raise not_found(f"The request '{request_id}' does not exist.")
        user_id = caller.user_id
        if user_id and user_id.lower() not in (
            request.principal_id.lower(),
            (request.created_by_user.id.lower() if request.created_by_user else ""),
        ):
            self._require_admin_role(caller)
        if request.status not in _CANCELABLE:
            raise bad_request(f"The request cannot be canceled: its status is '{request.status}'.")
        if request.status == "Granted":
            for schedule in self.state.schedules.of(request.principal_id):
                if schedule.id == request.target_schedule_id:
                    self.state.schedules.remove(schedule)
        request.status, request.completed = "Canceled", self.now()
        self._audit_request(request, "Process request", "Update")

    # --- policies ------------------------------------------------------------------------------

    def patch_rule(self, caller: Caller, policy_id: str, rule_id: str, body: object) -> None:
        caller.require(WRITE_POLICIES, app_allowed=False)
        policy = self.state.policy(policy_id)
        if policy is None:
            raise not_found(f"The policy '{policy_id}' does not exist.")
        if not any(rule.get("id") == rule_id for rule in policy.rules):
            raise not_found(f"The rule '{rule_id}' does not exist.")
        self._require_admin_role(caller)
        policy.rules = patched_rules(policy.rules, rule_id, body)
        policy.last_modified = self.now()
        policy.last_modified_by = self._identity_of_user(caller)

    # --- direct role assignments (outside PIM) -------------------------------------------------

    def assign_directly(self, caller: Caller, body: object) -> Schedule:
        caller.require(WRITE_DIRECT_ASSIGNMENTS)
        self._require_admin_role(caller)
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object.")
        role_id, principal_id = body.get("roleDefinitionId"), body.get("principalId")
        if not isinstance(role_id, str) or not isinstance(principal_id, str):
            raise bad_request("roleDefinitionId and principalId are required.")
        if body.get("directoryScopeId", "/") != "/":
            raise bad_request("The sandbox Graph supports only the tenant-wide scope '/'.")
        try:
            role_id = self.tenant.role(role_id).id
        except KeyError:
            raise bad_request(f"The role definition '{role_id}' does not exist.") from None
        if not self.is_principal(principal_id):
            raise bad_request(f"The principal '{principal_id}' does not exist.")
        if self.live_assignments(principal_id, role_id):
            raise bad_request(
                "A conflicting object with one or more of the specified property values is "
                "present in the directory.",
                "Request_BadRequest",
            )
        now = self.now()
        schedule = Schedule(
            id=new_guid(),
            kind="assignment",
            principal_id=principal_id,
            role_id=role_id,
            created_using="",
            created=now,
            start=now,
            assignment_type="Assigned",
            outside_pim=True,
        )
        schedule.created_using = schedule.assignment_id
        self.state.schedules.append(schedule)
        self._audit_schedule(schedule, "Add member to role", "Assign", caller, "Core Directory")
        return schedule

    def remove_directly(self, caller: Caller, assignment_id: str) -> None:
        caller.require(WRITE_DIRECT_ASSIGNMENTS)
        self._require_admin_role(caller)
        now = self.now()
        schedule = next(
            (
                s
                for s in self.state.schedules
                if s.kind == "assignment" and s.in_force(now) and s.assignment_id == assignment_id
            ),
            None,
        )
        if schedule is None:
            raise not_found(f"The role assignment '{assignment_id}' does not exist.")
        self.state.schedules.remove(schedule)
        self._audit_schedule(
            schedule, "Remove member from role", "Unassign", caller, "Core Directory"
        )

    # --- the clock -----------------------------------------------------------------------------

    def sweep(self) -> bool:
        """Apply the clock: end schedules that reached their end, provision granted requests
        whose start came, and deny approvals whose stage timed out."""
        now = self.now()
        changed = False
        for schedule in self.state.schedules.take_ended(now):
            self._audit_expiry(schedule)
            changed = True
        for request in self.state.requests:
            if request.status == "Granted" and request.completed and request.completed <= now:
                request.status = "Provisioned"  # its schedule's start came
                self._audit_request(request, _completion_activity(request), "Add")
                changed = True
            if request.status == "PendingApproval":
                changed |= self._time_out_approval(request, now)
        return changed

    def _time_out_approval(self, request: ScheduleRequest, now: datetime) -> bool:
        approval = self.state.approval(request.approval_id or "")
        step = approval.current_step if approval else None
        deadline = step.times_out_at() if step else None
        if step is None or deadline is None or now < deadline:
            return False
        step.status = "Expired"
        request.status, request.completed = "Denied", deadline
        self._audit_request(
            request,
            "Process request",
            "Update",
            {"user": PIM_SYSTEM_USER, "app": None},
            reason="The approval stage timed out.",
        )
        return True

    def _audit_expiry(self, schedule: Schedule) -> None:
        if schedule.kind == "eligibility":
            activity, audit_type = (
                "Remove eligible member from role in PIM completed (timebound)",
                "RemoveEligibleRole",
            )
        elif schedule.assignment_type == "Activated":
            activity, audit_type = (
                "Remove member from role (PIM activation expired)",
                "RemoveActivatedRole",
            )
        else:
            activity, audit_type = (
                "Remove member from role in PIM completed (timebound)",
                "RemoveAssignedRole",
            )
        self.audit.write(
            activity,
            at=schedule.end or self.now(),
            operation="Delete",
            role_id=schedule.role_id,
            principal_id=schedule.principal_id,
            initiated_by={"user": PIM_SYSTEM_USER, "app": None},
            details={
                "AuditType": audit_type,
                "ActionType": "Revoke",
                "OriginRoleAssignmentId": schedule.assignment_id,
                "RoleAssignmentRequestId": schedule.created_using,
            },
            correlation_id=schedule.created_using,
        )

    # --- helpers -------------------------------------------------------------------------------

    def _audit_request(
        self,
        request: ScheduleRequest,
        activity: str,
        operation: str,
        initiated_by: dict[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        self.audit.write(
            activity,
            at=self.now(),
            operation=operation,
            role_id=request.role_id,
            principal_id=request.principal_id,
            initiated_by=initiated_by or self._initiator(request),
            details={
                "RoleAssignmentRequestId": request.id,
                "Justification": request.justification,
                "TicketNumber": request.ticket_number,
            },
            correlation_id=request.id,
            result_reason=reason,
        )

    def _audit_schedule(
        self, schedule: Schedule, activity: str, operation: str, caller: Caller, service: str
    ) -> None:
        self.audit.write(
            activity,
            at=self.now(),
            operation=operation,
            role_id=schedule.role_id,
            principal_id=schedule.principal_id,
            initiated_by=self._caller_ref(caller),
            details={"OriginRoleAssignmentId": schedule.assignment_id},
            service=service,
        )

    def _initiator(self, request: ScheduleRequest) -> dict[str, Any]:
        if request.created_by_user:
            return {"user": self._user_ref(request.created_by_user.id), "app": None}
        app_id = request.created_by_app.id if request.created_by_app else ""
        return {"user": None, "app": self._app_ref(app_id)}

    def _caller_ref(self, caller: Caller) -> dict[str, Any]:
        if caller.user_id:
            return {"user": self._user_ref(caller.user_id), "app": None}
        return {"user": None, "app": self._app_ref(caller.app_id)}

    def _user_ref(self, user_id: str) -> dict[str, Any]:
        try:
            user = self.tenant.user(user_id)
            return {"id": user.id, "displayName": user.display_name, "userPrincipalName": user.upn}
        except KeyError:
            return {"id": user_id, "displayName": None, "userPrincipalName": None}

    def _app_ref(self, app_id: str) -> dict[str, Any]:
        name = next((a.display_name for a in self.tenant.apps if a.client_id == app_id), None)
        return {"appId": app_id, "displayName": name, "servicePrincipalId": None}

    def _identity_of_user(self, caller: Caller) -> Identity | None:
        user_id = caller.user_id
        if user_id is None:
            return None
        try:
            return Identity(id=user_id, display_name=self.tenant.user(user_id).display_name)
        except KeyError:
            return Identity(id=user_id, display_name=caller.display_name)

    def _group_user_ids(self, group_id: str) -> list[str]:
        try:
            return self.tenant.transitive_user_ids(group_id)
        except KeyError:
            return []

    def _user_exists(self, object_id: str) -> bool:
        try:
            self.tenant.user(object_id)
        except KeyError:
            return False
        return True

    def _group_exists(self, object_id: str) -> bool:
        try:
            self.tenant.group(object_id)
        except KeyError:
            return False
        return True


def _completion_activity(request: ScheduleRequest) -> str:
    if request.action == "selfActivate":
        return "Add member to role completed (PIM activation)"
    permanent = request.schedule is None or request.schedule.effective_end is None
    return f"Add member to role in PIM completed ({'permanent' if permanent else 'timebound'})"
