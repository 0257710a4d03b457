"""PIM role management policies: the 17 rules of a directory role's policy (expiration, enablement,
notification and approval rules for admins and end users) generated from the tenant's `PolicySpec`,
read back into the settings the twin enforces, and changed rule by rule (PATCH).

Rules are kept in their Graph JSON shape, because that is what a PATCH replaces and what a
GET returns; `EffectivePolicy` is the typed reading of them that the request rules use.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.sandbox.graph.errors import bad_request
from bot.sandbox.graph.values import format_duration, parse_duration
from bot.sandbox.tenant import DemoTenant, PolicySpec

Rule = dict[str, Any]

_TYPE = "#microsoft.graph.unifiedRoleManagementPolicy{}Rule"
EXPIRATION = _TYPE.format("Expiration")
ENABLEMENT = _TYPE.format("Enablement")
APPROVAL = _TYPE.format("Approval")
AUTH_CONTEXT = _TYPE.format("AuthenticationContext")
NOTIFICATION = _TYPE.format("Notification")
SINGLE_USER = "#microsoft.graph.singleUser"
GROUP_MEMBERS = "#microsoft.graph.groupMembers"
ENABLEMENT_VALUES = ("MultiFactorAuthentication", "Justification", "Ticketing")

# The fields a PATCH may set, per rule type (besides `id`, `target` and `@odata.type`).
_SETTABLE: dict[str, tuple[str, ...]] = {
    EXPIRATION: ("isExpirationRequired", "maximumDuration"),
    ENABLEMENT: ("enabledRules",),
    APPROVAL: ("setting",),
    AUTH_CONTEXT: ("isEnabled", "claimValue"),
    NOTIFICATION: (
        "notificationType",
        "recipientType",
        "notificationLevel",
        "isDefaultRecipientsEnabled",
        "notificationRecipients",
    ),
}


def _target(caller: str, level: str) -> dict[str, Any]:
    return {
        "caller": caller,
        "operations": ["all"],
        "level": level,
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def _notifications(caller: str, level: str, scope: str) -> list[Rule]:
    return [
        {
            "@odata.type": NOTIFICATION,
            "id": f"Notification_{recipient}_{scope}",
            "notificationType": "Email",
            "recipientType": recipient,
            "notificationLevel": "All",
            "isDefaultRecipientsEnabled": True,
            "notificationRecipients": [],
            "target": _target(caller, level),
        }
        for recipient in ("Admin", "Requestor", "Approver")
    ]


def _approvers(tenant: DemoTenant, spec: PolicySpec) -> list[dict[str, Any]]:
    if spec.approval is None:
        return []
    users = [tenant.user(handle) for handle in spec.approval.users]
    groups = [tenant.group(ref) for ref in spec.approval.groups]
    return [
        *(
            {
                "@odata.type": SINGLE_USER,
                "userId": u.id,
                "description": u.display_name,
                "isBackup": False,
            }
            for u in users
        ),
        *(
            {
                "@odata.type": GROUP_MEMBERS,
                "groupId": g.id,
                "description": g.display_name,
                "isBackup": False,
            }
            for g in groups
        ),
    ]


def build_rules(tenant: DemoTenant, spec: PolicySpec) -> list[Rule]:
    """The full rule set of one role's policy, in the order Graph lists them."""
    approval = spec.approval
    enduser_enabled = [
        name
        for name, enabled in (
            ("MultiFactorAuthentication", spec.require_mfa),
            ("Justification", spec.require_justification),
            ("Ticketing", spec.require_ticket),
        )
        if enabled
    ]
    admin_enabled = ["Justification"] if spec.admin_assignment_require_justification else []
    return [
        {
            "@odata.type": EXPIRATION,
            "id": "Expiration_Admin_Eligibility",
            "isExpirationRequired": False,
            "maximumDuration": "P365D",
            "target": _target("Admin", "Eligibility"),
        },
        {
            "@odata.type": ENABLEMENT,
            "id": "Enablement_Admin_Eligibility",
            "enabledRules": [],
            "target": _target("Admin", "Eligibility"),
        },
        *_notifications("Admin", "Eligibility", "Admin_Eligibility"),
        {
            "@odata.type": EXPIRATION,
            "id": "Expiration_Admin_Assignment",
            "isExpirationRequired": spec.admin_assignment_expiration_required,
            "maximumDuration": format_duration(spec.admin_assignment_max_duration),
            "target": _target("Admin", "Assignment"),
        },
        {
            "@odata.type": ENABLEMENT,
            "id": "Enablement_Admin_Assignment",
            "enabledRules": admin_enabled,
            "target": _target("Admin", "Assignment"),
        },
        *_notifications("Admin", "Assignment", "Admin_Assignment"),
        {
            "@odata.type": EXPIRATION,
            "id": "Expiration_EndUser_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": format_duration(spec.max_duration),
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": ENABLEMENT,
            "id": "Enablement_EndUser_Assignment",
            "enabledRules": enduser_enabled,
            "target": _target("EndUser", "Assignment"),
        },
        {
            "@odata.type": APPROVAL,
            "id": "Approval_EndUser_Assignment",
            "target": _target("EndUser", "Assignment"),
            "setting": {
                "isApprovalRequired": approval is not None,
                "isApprovalRequiredForExtension": bool(
                    approval and approval.required_for_extension
                ),
                "isRequestorJustificationRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [
                    {
                        "approvalStageTimeOutInDays": approval.timeout_days if approval else 1,
                        "isApproverJustificationRequired": (
                            approval.approver_justification_required if approval else True
                        ),
                        "escalationTimeInMinutes": 0,
                        "isEscalationEnabled": False,
                        "primaryApprovers": _approvers(tenant, spec),
                        "escalationApprovers": [],
                    }
                ],
            },
        },
        {
            "@odata.type": AUTH_CONTEXT,
            "id": "AuthenticationContext_EndUser_Assignment",
            "isEnabled": spec.authentication_context is not None,
            "claimValue": spec.authentication_context,
            "target": _target("EndUser", "Assignment"),
        },
        *_notifications("EndUser", "Assignment", "EndUser_Assignment"),
    ]


# --- reading the rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Approver:
    kind: str  # "user" | "group"
    id: str


@dataclass(frozen=True)
class ApprovalStage:
    timeout: timedelta
    approver_justification_required: bool
    approvers: tuple[Approver, ...]


@dataclass(frozen=True)
class EffectivePolicy:
    """What a policy's rules demand, in the twin's terms."""

    enduser_max_duration: timedelta
    enduser_expiration_required: bool
    enduser_enabled: frozenset[str]
    approval_required: bool
    approval_required_for_extension: bool
    approval_stages: tuple[ApprovalStage, ...]
    auth_context: str | None  # the claim value when the ACRS rule is enabled
    admin_enabled: frozenset[str]
    admin_expiration_required: bool
    admin_max_duration: timedelta


def _rule(rules: list[Rule], rule_id: str) -> Rule:
    for rule in rules:
        if rule.get("id") == rule_id:
            return rule
    raise bad_request(f"The policy has no rule '{rule_id}'.")


def _enabled(rule: Rule) -> frozenset[str]:
    values = rule.get("enabledRules")
    if not isinstance(values, list) or any(v not in ENABLEMENT_VALUES for v in values):
        raise bad_request(
            f"enabledRules of '{rule['id']}' must list values among {list(ENABLEMENT_VALUES)}."
        )
    return frozenset(values)


def _approver(entry: object) -> Approver:
    if isinstance(entry, dict):
        kind = str(entry.get("@odata.type", ""))
        if kind == SINGLE_USER and isinstance(entry.get("userId"), str):
            return Approver("user", entry["userId"])
        if kind == GROUP_MEMBERS and isinstance(entry.get("groupId"), str):
            return Approver("group", entry["groupId"])
    raise bad_request(
        "Each approver must be a #microsoft.graph.singleUser with userId or a "
        "#microsoft.graph.groupMembers with groupId."
    )


def _stages(setting: dict[str, Any]) -> tuple[ApprovalStage, ...]:
    raw_stages = setting.get("approvalStages") or []
    if not isinstance(raw_stages, list):
        raise bad_request("approvalStages must be a list.")
    stages = []
    for raw in raw_stages:
        if not isinstance(raw, dict):
            raise bad_request("Each approval stage must be an object.")
        days = raw.get("approvalStageTimeOutInDays", 1)
        if not isinstance(days, int) or days < 1:
            raise bad_request("approvalStageTimeOutInDays must be a positive integer.")
        stages.append(
            ApprovalStage(
                timeout=timedelta(days=days),
                approver_justification_required=bool(raw.get("isApproverJustificationRequired")),
                approvers=tuple(_approver(a) for a in raw.get("primaryApprovers") or []),
            )
        )
    return tuple(stages)


def read_policy(rules: list[Rule]) -> EffectivePolicy:
    """Interpret the rules; 400 when they are not a coherent policy (after a bad PATCH)."""
    enduser_expiration = _rule(rules, "Expiration_EndUser_Assignment")
    admin_expiration = _rule(rules, "Expiration_Admin_Assignment")
    approval = _rule(rules, "Approval_EndUser_Assignment").get("setting")
    if not isinstance(approval, dict):
        raise bad_request("Approval_EndUser_Assignment needs a setting object.")
    approval_required = bool(approval.get("isApprovalRequired"))
    stages = _stages(approval)
    if approval_required and not 1 <= len(stages) <= 2:
        raise bad_request("An approval needs one or two approval stages.")
    if approval_required and any(not stage.approvers for stage in stages):
        raise bad_request("Every approval stage needs at least one primary approver.")
    auth_context = _rule(rules, "AuthenticationContext_EndUser_Assignment")
    claim = auth_context.get("claimValue")
    return EffectivePolicy(
        enduser_max_duration=parse_duration(
            enduser_expiration.get("maximumDuration"), "maximumDuration"
        ),
        enduser_expiration_required=bool(enduser_expiration.get("isExpirationRequired")),
        enduser_enabled=_enabled(_rule(rules, "Enablement_EndUser_Assignment")),
        approval_required=approval_required,
        approval_required_for_extension=bool(approval.get("isApprovalRequiredForExtension")),
        approval_stages=stages if approval_required else (),
        auth_context=str(claim) if auth_context.get("isEnabled") and claim else None,
        admin_enabled=_enabled(_rule(rules, "Enablement_Admin_Assignment")),
        admin_expiration_required=bool(admin_expiration.get("isExpirationRequired")),
        admin_max_duration=parse_duration(
            admin_expiration.get("maximumDuration"), "maximumDuration"
        ),
    )


def patched_rules(rules: list[Rule], rule_id: str, body: object) -> list[Rule]:
    """The rule set after a PATCH of one rule; 400 when the body is not a valid update."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    current = _rule(rules, rule_id)
    odata_type = body.get("@odata.type")
    if not odata_type:
        raise bad_request(
            "The request body must include '@odata.type' (the rule's derived type, e.g. "
            f"'{current['@odata.type']}')."
        )
    if str(odata_type).lstrip("#").lower() != str(current["@odata.type"]).lstrip("#").lower():
        raise bad_request(f"'{odata_type}' is not the type of rule '{rule_id}'.")
    if body.get("id", rule_id) != rule_id:
        raise bad_request("The id in the body does not match the rule in the URL.")
    settable = _SETTABLE[current["@odata.type"]]
    unknown = set(body) - {"@odata.type", "id", "target", *settable}
    if unknown:
        raise bad_request(f"Rule '{rule_id}' has no property {sorted(unknown)[0]!r}.")
    updated = copy.deepcopy(current)
    updated.update({key: copy.deepcopy(value) for key, value in body.items() if key in settable})
    if "maximumDuration" in body:
        updated["maximumDuration"] = format_duration(
            parse_duration(body["maximumDuration"], "maximumDuration")
        )
    new_rules = [updated if rule.get("id") == rule_id else rule for rule in rules]
    read_policy(new_rules)  # refuse an update that leaves an incoherent policy
    return new_rules
