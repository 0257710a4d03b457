"""Directory roles' PIM policies as `RoleSettings`: read from `roleManagementPolicies` rules and
written back rule by rule with PATCH (the policy object itself is read-only).

A PATCH carries the whole rule (its `@odata.type`, `id` and `target` included), as Microsoft's
"Update rules in PIM" guide does; fields pimbot does not model are sent back as Graph gave them.
https://learn.microsoft.com/graph/how-to-pim-update-rules
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.durations import format_duration, parse_duration
from bot.governance.domain import (
    ENABLEMENT_VALUES,
    Activation,
    Approval,
    ApprovalStage,
    Approver,
    Assignment,
    Notice,
    NoticeGroup,
    Notifications,
    RolePolicy,
    RoleSettings,
)
from bot.governance.policy_ports import PolicyRefused, PolicyWriteFailed
from bot.graph.errors import GraphError
from bot.graph.http import GraphHttp
from bot.graph.odata import path_segment

logger = logging.getLogger(__name__)

ROLE_DEFINITIONS = "/roleManagement/directory/roleDefinitions"
POLICY_ASSIGNMENTS = "/policies/roleManagementPolicyAssignments"
POLICIES = "/policies/roleManagementPolicies"
DIRECTORY_SCOPE = "scopeId eq '/' and scopeType eq 'DirectoryRole'"
SINGLE_USER = "#microsoft.graph.singleUser"
GROUP_MEMBERS = "#microsoft.graph.groupMembers"

Rule = dict[str, Any]
RuleFields = dict[str, dict[str, Any]]  # rule id -> the fields settings decide

# Notification rules: Notification_{recipient}_{event}; the events as the portal groups them.
_EVENTS = {
    "eligible_assignment": "Admin_Eligibility",
    "active_assignment": "Admin_Assignment",
    "activation": "EndUser_Assignment",
}
_RECIPIENTS = {"admin": "Admin", "requestor": "Requestor", "approver": "Approver"}


# --- rules -> settings -------------------------------------------------------------------------


def settings_from_rules(rules: Sequence[Mapping[str, Any]]) -> RoleSettings:
    """The settings the rules say; a missing rule reads as Microsoft's default for it."""
    by_id = {str(rule.get("id")): rule for rule in rules}

    def get(rule_id: str) -> Mapping[str, Any]:
        return by_id.get(rule_id) or {}

    enduser = _enabled(
        get("Enablement_EndUser_Assignment"), ("MultiFactorAuthentication", "Justification")
    )
    eligible = _enabled(get("Enablement_Admin_Eligibility"), ())
    active = _enabled(get("Enablement_Admin_Assignment"), ("Justification",))
    auth_context = get("AuthenticationContext_EndUser_Assignment")
    claim = auth_context.get("claimValue")
    eligible_expiry = get("Expiration_Admin_Eligibility")
    active_expiry = get("Expiration_Admin_Assignment")
    activation_defaults = Activation()
    assignment_defaults = Assignment()
    return RoleSettings(
        activation=Activation(
            maximum_duration=_duration(
                get("Expiration_EndUser_Assignment"), activation_defaults.maximum_duration
            ),
            require_mfa="MultiFactorAuthentication" in enduser,
            require_justification="Justification" in enduser,
            require_ticket="Ticketing" in enduser,
            authentication_context=str(claim) if auth_context.get("isEnabled") and claim else None,
            approval=_approval(get("Approval_EndUser_Assignment").get("setting")),
        ),
        assignment=Assignment(
            permanent_eligible_allowed=not eligible_expiry.get("isExpirationRequired", False),
            eligible_maximum_duration=_duration(
                eligible_expiry, assignment_defaults.eligible_maximum_duration
            ),
            eligible_require_mfa="MultiFactorAuthentication" in eligible,
            eligible_require_justification="Justification" in eligible,
            permanent_active_allowed=not active_expiry.get("isExpirationRequired", True),
            active_maximum_duration=_duration(
                active_expiry, assignment_defaults.active_maximum_duration
            ),
            active_require_mfa="MultiFactorAuthentication" in active,
            active_require_justification="Justification" in active,
        ),
        notifications=Notifications(
            **{
                event: NoticeGroup(
                    **{
                        recipient: _notice(get(f"Notification_{kind}_{suffix}"))
                        for recipient, kind in _RECIPIENTS.items()
                    }
                )
                for event, suffix in _EVENTS.items()
            }
        ),
    )


def _enabled(rule: Mapping[str, Any], default: Sequence[str]) -> frozenset[str]:
    values = rule.get("enabledRules") if rule else default
    return frozenset(str(v) for v in values or ())


def _duration(rule: Mapping[str, Any], default: Any) -> Any:
    text = rule.get("maximumDuration")
    return parse_duration(text) if isinstance(text, str) and text else default


def _approval(setting: object) -> Approval:
    if not isinstance(setting, dict):
        return Approval()
    return Approval(
        required=bool(setting.get("isApprovalRequired")),
        required_for_extension=bool(setting.get("isApprovalRequiredForExtension")),
        requestor_justification_required=bool(setting.get("isRequestorJustificationRequired")),
        mode=setting.get("approvalMode") or "SingleStage",
        stages=tuple(
            ApprovalStage(
                timeout_days=int(stage.get("approvalStageTimeOutInDays") or 1),
                approver_justification_required=bool(stage.get("isApproverJustificationRequired")),
                escalation_enabled=bool(stage.get("isEscalationEnabled")),
                escalation_minutes=int(stage.get("escalationTimeInMinutes") or 0),
                approvers=tuple(_approver(a) for a in stage.get("primaryApprovers") or []),
                escalation_approvers=tuple(
                    _approver(a) for a in stage.get("escalationApprovers") or []
                ),
            )
            for stage in setting.get("approvalStages") or []
            if isinstance(stage, dict)
        ),
    )


def _approver(subject: Mapping[str, Any]) -> Approver:
    kind = subject.get("@odata.type")
    name = str(subject.get("description") or "")
    backup = bool(subject.get("isBackup"))
    if kind == SINGLE_USER and subject.get("userId"):
        return Approver(user=str(subject["userId"]), name=name, backup=backup)
    if kind == GROUP_MEMBERS and subject.get("groupId"):
        return Approver(group=str(subject["groupId"]), name=name, backup=backup)
    return Approver(other=dict(subject))


def _notice(rule: Mapping[str, Any]) -> Notice:
    if not rule:
        return Notice()
    return Notice(
        level=rule.get("notificationLevel") or "All",
        default_recipients=bool(rule.get("isDefaultRecipientsEnabled", True)),
        additional_recipients=tuple(str(r) for r in rule.get("notificationRecipients") or []),
        type=str(rule.get("notificationType") or "Email"),
    )


# --- settings -> rule fields -------------------------------------------------------------------


def rule_fields(settings: RoleSettings) -> RuleFields:
    """For each rule the settings decide, the fields they decide, in Graph's JSON."""
    activation, assignment = settings.activation, settings.assignment
    fields: RuleFields = {
        "Expiration_EndUser_Assignment": {
            "maximumDuration": format_duration(activation.maximum_duration)
        },
        "Enablement_EndUser_Assignment": {
            "enabledRules": _enablement(
                mfa=activation.require_mfa,
                justification=activation.require_justification,
                ticket=activation.require_ticket,
            )
        },
        "AuthenticationContext_EndUser_Assignment": {
            "isEnabled": activation.authentication_context is not None,
            "claimValue": activation.authentication_context,
        },
        "Approval_EndUser_Assignment": {"setting": _approval_json(activation.approval)},
        "Expiration_Admin_Eligibility": {
            "isExpirationRequired": not assignment.permanent_eligible_allowed,
            "maximumDuration": format_duration(assignment.eligible_maximum_duration),
        },
        "Enablement_Admin_Eligibility": {
            "enabledRules": _enablement(
                mfa=assignment.eligible_require_mfa,
                justification=assignment.eligible_require_justification,
            )
        },
        "Expiration_Admin_Assignment": {
            "isExpirationRequired": not assignment.permanent_active_allowed,
            "maximumDuration": format_duration(assignment.active_maximum_duration),
        },
        "Enablement_Admin_Assignment": {
            "enabledRules": _enablement(
                mfa=assignment.active_require_mfa,
                justification=assignment.active_require_justification,
            )
        },
    }
    for event, suffix in _EVENTS.items():
        group: NoticeGroup = getattr(settings.notifications, event)
        for recipient, kind in _RECIPIENTS.items():
            notice: Notice = getattr(group, recipient)
            fields[f"Notification_{kind}_{suffix}"] = {
                "notificationType": notice.type,
                "recipientType": kind,
                "notificationLevel": notice.level,
                "isDefaultRecipientsEnabled": notice.default_recipients,
                "notificationRecipients": list(notice.additional_recipients),
            }
    return fields


def _enablement(*, mfa: bool, justification: bool, ticket: bool = False) -> list[str]:
    wanted = {"MultiFactorAuthentication": mfa, "Justification": justification, "Ticketing": ticket}
    return [value for value in ENABLEMENT_VALUES if wanted[value]]


def _approval_json(approval: Approval) -> dict[str, Any]:
    return {
        "isApprovalRequired": approval.required,
        "isApprovalRequiredForExtension": approval.required_for_extension,
        "isRequestorJustificationRequired": approval.requestor_justification_required,
        "approvalMode": approval.mode,
        "approvalStages": [
            {
                "approvalStageTimeOutInDays": stage.timeout_days,
                "isApproverJustificationRequired": stage.approver_justification_required,
                "escalationTimeInMinutes": stage.escalation_minutes,
                "isEscalationEnabled": stage.escalation_enabled,
                "primaryApprovers": [_subject(a) for a in stage.approvers],
                "escalationApprovers": [_subject(a) for a in stage.escalation_approvers],
            }
            for stage in approval.stages
        ],
    }


def _subject(approver: Approver) -> dict[str, Any]:
    if approver.other is not None:
        return dict(approver.other)
    if approver.user is not None:
        return {
            "@odata.type": SINGLE_USER,
            "userId": approver.user,
            "description": approver.name,
            "isBackup": approver.backup,
        }
    return {
        "@odata.type": GROUP_MEMBERS,
        "groupId": approver.group,
        "description": approver.name,
        "isBackup": approver.backup,
    }


def changed_rules(rules: Sequence[Rule], desired: RoleSettings) -> list[Rule]:
    """The PATCH bodies that make `rules` say `desired`: only the rules whose decided fields
    differ (compared through the settings, so order and spelling alone are no change)."""
    current = rule_fields(settings_from_rules(rules))
    wanted = rule_fields(desired)
    by_id = {str(rule.get("id")): rule for rule in rules}
    bodies = []
    for rule_id, fields in wanted.items():
        if fields == current[rule_id]:
            continue
        rule = by_id.get(rule_id)
        if rule is None:
            raise PolicyRefused(404, "RuleMissing", f"the policy has no rule {rule_id}")
        bodies.append(_patch_body(rule, fields))
    return bodies


def _patch_body(rule: Mapping[str, Any], fields: Mapping[str, Any]) -> Rule:
    body = {
        k: copy.deepcopy(v)
        for k, v in rule.items()
        if not k.startswith("@odata.") or k == "@odata.type"
    }
    body.update(copy.deepcopy(dict(fields)))
    return body


# --- Graph -------------------------------------------------------------------------------------


class GraphRolePolicies:
    """`RolePolicies` over Graph. Reads need RoleManagementPolicy.Read.Directory; a PATCH needs a
    signed-in admin (delegated RoleManagementPolicy.ReadWrite.Directory): Graph does not offer
    that write to applications."""

    def __init__(self, http: GraphHttp) -> None:
        self._http = http

    async def read_all(self) -> list[RolePolicy]:
        try:
            names, assignments = await asyncio.gather(self._role_names(), self._assignments())
        except GraphError as exc:
            raise _refused(exc) from exc
        policies = []
        for assignment in assignments:
            role_id = str(assignment.get("roleDefinitionId") or "")
            policy = assignment.get("policy")
            if not role_id or not isinstance(policy, dict):
                continue
            policies.append(
                RolePolicy(
                    role_id=role_id,
                    role_name=names.get(role_id, role_id),
                    policy_id=str(policy.get("id") or assignment.get("policyId")),
                    settings=settings_from_rules(policy.get("rules") or []),
                )
            )
        return sorted(policies, key=lambda p: (p.role_name.lower(), p.role_id))

    async def write(self, policy_id: str, settings: RoleSettings) -> tuple[str, ...]:
        try:
            rules = await self._rules(policy_id)
        except GraphError as exc:
            raise PolicyWriteFailed(_refused(exc)) from exc
        previous = {str(rule["id"]): rule for rule in rules}
        written: list[str] = []
        try:
            for body in changed_rules(rules, settings):
                await self._patch(policy_id, body)
                written.append(str(body["id"]))
        except (GraphError, PolicyRefused) as exc:
            refusal = exc if isinstance(exc, PolicyRefused) else _refused(exc)
            left = await self._put_back(policy_id, [previous[i] for i in written])
            raise PolicyWriteFailed(refusal, left) from exc
        return tuple(written)

    async def _put_back(self, policy_id: str, rules: Sequence[Rule]) -> tuple[str, ...]:
        left = []
        for rule in reversed(rules):
            try:
                await self._patch(policy_id, _patch_body(rule, {}))
            except GraphError as exc:
                logger.error(
                    "could not put back rule %s of policy %s: %s", rule["id"], policy_id, exc
                )
                left.append(str(rule["id"]))
        return tuple(left)

    async def _patch(self, policy_id: str, body: Rule) -> None:
        path = f"{POLICIES}/{path_segment(policy_id)}/rules/{path_segment(str(body['id']))}"
        await self._http.patch_json(path, body)

    async def _rules(self, policy_id: str) -> list[Rule]:
        return [
            item async for item in self._http.get_all(f"{POLICIES}/{path_segment(policy_id)}/rules")
        ]

    async def _role_names(self) -> dict[str, str]:
        params = {"$select": "id,displayName"}
        return {
            str(item["id"]): str(item.get("displayName") or item["id"])
            async for item in self._http.get_all(ROLE_DEFINITIONS, params)
        }

    async def _assignments(self) -> list[dict[str, Any]]:
        params = {"$filter": DIRECTORY_SCOPE, "$expand": "policy($expand=rules)"}
        return [item async for item in self._http.get_all(POLICY_ASSIGNMENTS, params)]


def _refused(exc: GraphError) -> PolicyRefused:
    return PolicyRefused(exc.status, exc.code, exc.message)
