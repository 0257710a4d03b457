"""Graph's JSON shapes of the twin's objects (camelCase, Graph's property names and nulls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.sandbox.graph import principals
from bot.sandbox.graph.principals import find_service_principal
from bot.sandbox.graph.schedules import ROOT_SCOPE, Schedule
from bot.sandbox.graph.state import (
    Approval,
    ApprovalStep,
    Identity,
    RequestedSchedule,
    ScheduleRequest,
    StoredPolicy,
)
from bot.sandbox.graph.values import eligibility_instance_id, format_datetime, format_duration
from bot.sandbox.tenant import DemoTenant, RoleSpec, TenantGroup, TenantUser

Json = dict[str, Any]


def role_definition(role: RoleSpec) -> Json:
    return {
        "id": role.id,
        "description": role.description,
        "displayName": role.display_name,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": [ROOT_SCOPE],
        "templateId": role.id,
        "version": "1",
        "rolePermissions": [],
    }


def user(tenant_user: TenantUser) -> Json:
    given, _, surname = tenant_user.display_name.partition(" ")
    return {
        "@odata.type": "#microsoft.graph.user",
        "id": tenant_user.id,
        "businessPhones": [],
        "displayName": tenant_user.display_name,
        "givenName": given or None,
        "jobTitle": tenant_user.job_title or None,
        "mail": tenant_user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": None,
        "surname": surname or None,
        "userPrincipalName": tenant_user.upn,
    }


def group(tenant_group: TenantGroup) -> Json:
    return {
        "@odata.type": "#microsoft.graph.group",
        "id": tenant_group.id,
        "displayName": tenant_group.display_name,
        "description": None,
        "groupTypes": [],
        "isAssignableToRole": True,
        "mail": None,
        "mailEnabled": False,
        "securityEnabled": True,
    }


def directory_object(tenant: DemoTenant, object_id: str) -> Json | None:
    try:
        return user(tenant.user(object_id))
    except KeyError:
        pass
    try:
        return group(tenant.group(object_id))
    except KeyError:
        pass
    found = find_service_principal(tenant, object_id)
    return None if found is None else principals.directory_object(found)


def _schedule_info(
    start: datetime | None,
    expiration_type: str,
    end: datetime | None,
    duration: Any,
) -> Json:
    return {
        "startDateTime": format_datetime(start),
        "recurrence": None,
        "expiration": {
            "type": expiration_type,
            "endDateTime": format_datetime(end) if expiration_type == "afterDateTime" else None,
            "duration": format_duration(duration) if duration is not None else None,
        },
    }


def schedule(item: Schedule) -> Json:
    shaped: Json = {
        "id": item.id if item.kind == "eligibility" or not item.outside_pim else item.assignment_id,
        "principalId": item.principal_id,
        "roleDefinitionId": item.role_id,
        "directoryScopeId": item.scope,
        "appScopeId": None,
        "createdUsing": item.created_using,
        "createdDateTime": format_datetime(item.created),
        "modifiedDateTime": format_datetime(item.modified),
        "status": item.status,
        "scheduleInfo": _schedule_info(
            None if item.outside_pim else item.start,
            item.expiration_type if item.end is None else "afterDateTime",
            item.end,
            None,
        ),
        "memberType": item.member_type,
    }
    if item.kind == "assignment":
        shaped["assignmentType"] = item.assignment_type
    return shaped


def assignment_instance(item: Schedule) -> Json:
    return {
        "id": item.assignment_id,
        "principalId": item.principal_id,
        "roleDefinitionId": item.role_id,
        "directoryScopeId": item.scope,
        "appScopeId": None,
        "startDateTime": None if item.outside_pim else format_datetime(item.start),
        "endDateTime": format_datetime(item.end),
        "assignmentType": item.assignment_type,
        "memberType": item.member_type,
        "roleAssignmentOriginId": item.assignment_id,
        "roleAssignmentScheduleId": item.assignment_id if item.outside_pim else item.id,
    }


def eligibility_instance(item: Schedule) -> Json:
    return {
        "id": eligibility_instance_id(item.role_id, item.principal_id),
        "principalId": item.principal_id,
        "roleDefinitionId": item.role_id,
        "directoryScopeId": item.scope,
        "appScopeId": None,
        "startDateTime": format_datetime(item.start),
        "endDateTime": format_datetime(item.end),
        "memberType": item.member_type,
        "roleEligibilityScheduleId": item.id,
    }


def role_assignment(item: Schedule) -> Json:
    return {
        "id": item.assignment_id,
        "principalId": item.principal_id,
        "roleDefinitionId": item.role_id,
        "directoryScopeId": item.scope,
        "appScopeId": None,
        "condition": None,
    }


def _identity_set(user_identity: Identity | None, app: Identity | None) -> Json:
    return {
        "application": (
            {"id": app.id, "displayName": app.display_name} if app is not None else None
        ),
        "device": None,
        "user": (
            {"id": user_identity.id, "displayName": user_identity.display_name}
            if user_identity is not None
            else None
        ),
    }


def _requested_schedule(requested: RequestedSchedule | None) -> Json | None:
    if requested is None:
        return None
    return _schedule_info(
        requested.start, requested.expiration_type, requested.end, requested.duration
    )


def schedule_request(item: ScheduleRequest) -> Json:
    return {
        "id": item.id,
        "status": item.status,
        "createdDateTime": format_datetime(item.created),
        "completedDateTime": format_datetime(item.completed),
        "approvalId": item.approval_id,
        "customData": None,
        "action": item.action,
        "principalId": item.principal_id,
        "roleDefinitionId": item.role_id,
        "directoryScopeId": item.scope,
        "appScopeId": item.app_scope,
        "isValidationOnly": item.is_validation_only,
        "targetScheduleId": item.target_schedule_id,
        "justification": item.justification,
        "createdBy": _identity_set(item.created_by_user, item.created_by_app),
        "scheduleInfo": _requested_schedule(item.schedule),
        "ticketInfo": {"ticketNumber": item.ticket_number, "ticketSystem": item.ticket_system},
    }


def approval_step(step: ApprovalStep, caller_id: str | None) -> Json:
    assigned = caller_id is not None and caller_id.lower() in (a.lower() for a in step.approver_ids)
    return {
        "id": step.id,
        "displayName": None,
        "reviewedDateTime": format_datetime(step.reviewed_at),
        "reviewResult": step.review_result,
        "status": step.status,
        "assignedToMe": assigned,
        "justification": step.justification,
        "reviewedBy": (
            [{"id": step.reviewed_by.id, "displayName": step.reviewed_by.display_name}]
            if step.reviewed_by
            else []
        ),
    }


def approval(item: Approval) -> Json:
    return {"id": item.id}


def policy(item: StoredPolicy) -> Json:
    return {
        "id": item.id,
        "displayName": "DirectoryRole",
        "description": "DirectoryRole",
        "isOrganizationDefault": False,
        "scopeId": ROOT_SCOPE,
        "scopeType": "DirectoryRole",
        "lastModifiedDateTime": format_datetime(item.last_modified),
        "lastModifiedBy": {
            "displayName": item.last_modified_by.display_name if item.last_modified_by else None,
            "id": item.last_modified_by.id if item.last_modified_by else None,
        },
    }


def policy_assignment(item: StoredPolicy) -> Json:
    return {
        "id": f"{item.id}_{item.role_id}",
        "policyId": item.id,
        "scopeId": ROOT_SCOPE,
        "scopeType": "DirectoryRole",
        "roleDefinitionId": item.role_id,
    }


# Property names, for $select and $filter checks on collections that may be empty.
ROLE_DEFINITION_PROPERTIES = (*role_definition(RoleSpec(id="", display_name="")), "inheritsFrom")
USER_PROPERTIES = (
    *(k for k in user(TenantUser(id="", handle="", upn="", display_name="")) if k[0] != "@"),
    "accountEnabled",
    "department",
)
GROUP_PROPERTIES = tuple(
    k for k in group(TenantGroup(id="", display_name="")) if not k.startswith("@")
)
SCHEDULE_PROPERTIES = (
    "id",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "createdUsing",
    "createdDateTime",
    "modifiedDateTime",
    "status",
    "scheduleInfo",
    "memberType",
    "assignmentType",
)
ASSIGNMENT_INSTANCE_PROPERTIES = (
    "id",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "startDateTime",
    "endDateTime",
    "assignmentType",
    "memberType",
    "roleAssignmentOriginId",
    "roleAssignmentScheduleId",
)
ELIGIBILITY_INSTANCE_PROPERTIES = (
    "id",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "startDateTime",
    "endDateTime",
    "memberType",
    "roleEligibilityScheduleId",
)
ROLE_ASSIGNMENT_PROPERTIES = (
    "id",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "condition",
)
REQUEST_PROPERTIES = (
    "id",
    "status",
    "createdDateTime",
    "completedDateTime",
    "approvalId",
    "customData",
    "action",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "isValidationOnly",
    "targetScheduleId",
    "justification",
    "createdBy",
    "scheduleInfo",
    "ticketInfo",
)
POLICY_PROPERTIES = (
    "id",
    "displayName",
    "description",
    "isOrganizationDefault",
    "scopeId",
    "scopeType",
    "lastModifiedDateTime",
    "lastModifiedBy",
)
POLICY_ASSIGNMENT_PROPERTIES = ("id", "policyId", "scopeId", "scopeType", "roleDefinitionId")
AUDIT_PROPERTIES = (
    "id",
    "category",
    "correlationId",
    "result",
    "resultReason",
    "activityDisplayName",
    "activityDateTime",
    "loggedByService",
    "operationType",
    "initiatedBy",
    "targetResources",
    "additionalDetails",
)
