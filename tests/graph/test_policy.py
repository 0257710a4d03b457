"""Reading a role's PIM policy rules as what an end-user activation must satisfy."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bot.domain import ApproverKind, ApproverRef
from bot.graph.models import (
    ApprovalRule,
    ExpirationRule,
    NotificationRule,
    OtherRule,
    PolicyRule,
    RoleManagementPolicyAssignment,
)
from bot.graph.policy import activation_policy_from_rules

FIXTURES = Path(__file__).parent / "fixtures"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"
RULES = TypeAdapter(list[PolicyRule])


def default_policy() -> dict[str, Any]:
    """The full default policy assignment Graph returns for a built-in role, verbatim."""
    data: dict[str, Any] = json.loads((FIXTURES / "default_policy_assignment.json").read_text())
    return data


def target() -> dict[str, Any]:
    return {"caller": "EndUser", "operations": ["all"], "level": "Assignment"}


def strict_rules() -> list[dict[str, Any]]:
    """Approval by a user and a group, MFA + justification + ticket, 2 hours at most."""
    return [
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_EndUser_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": "PT2H",
            "target": target(),
        },
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
            "id": "Enablement_EndUser_Assignment",
            "enabledRules": ["Justification", "MultiFactorAuthentication", "Ticketing"],
            "target": target(),
        },
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "target": target(),
            "setting": {
                "isApprovalRequired": True,
                "isApprovalRequiredForExtension": True,
                "isRequestorJustificationRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [
                    {
                        "approvalStageTimeOutInDays": 2,
                        "isApproverJustificationRequired": False,
                        "escalationTimeInMinutes": 0,
                        "isEscalationEnabled": False,
                        "primaryApprovers": [
                            {
                                "@odata.type": "#microsoft.graph.singleUser",
                                "isBackup": False,
                                "userId": "aaaaaaaa-0000-0000-0000-000000000001",
                                "description": "Grace Hopper",
                            },
                            {
                                "@odata.type": "#microsoft.graph.groupMembers",
                                "isBackup": False,
                                "groupId": "bbbbbbbb-0000-0000-0000-000000000002",
                                "description": "Exchange approvers",
                            },
                            {"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1},
                        ],
                        "escalationApprovers": [],
                    }
                ],
            },
        },
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
            "id": "AuthenticationContext_EndUser_Assignment",
            "isEnabled": False,
            "claimValue": None,
            "target": target(),
        },
    ]


def test_the_default_policy_parses_every_rule_into_its_type() -> None:
    assignment = RoleManagementPolicyAssignment.model_validate(default_policy())
    assert assignment.policy is not None
    rules = {rule.id: rule for rule in assignment.policy.rules}
    assert len(rules) == 17
    assert isinstance(rules["Expiration_EndUser_Assignment"], ExpirationRule)
    assert isinstance(rules["Approval_EndUser_Assignment"], ApprovalRule)
    assert isinstance(rules["Notification_Approver_EndUser_Assignment"], NotificationRule)
    assert rules["Expiration_Admin_Eligibility"].maximum_duration == timedelta(days=365)  # type: ignore[union-attr]


def test_the_default_policy_asks_for_mfa_and_justification_for_at_most_8_hours() -> None:
    assignment = RoleManagementPolicyAssignment.model_validate(default_policy())
    assert assignment.policy is not None

    policy = activation_policy_from_rules(GLOBAL_ADMIN, assignment.policy.rules)

    assert policy.role_id == GLOBAL_ADMIN
    assert policy.max_duration == timedelta(hours=8)
    assert policy.require_mfa
    assert policy.require_justification
    assert not policy.require_ticket
    assert not policy.require_approval
    assert not policy.require_approval_for_extension
    assert policy.approvers == ()
    assert policy.approval_timeout == timedelta(days=1)
    assert policy.approver_justification_required
    assert policy.authentication_context is None


def test_a_strict_policy_names_user_and_group_approvers() -> None:
    policy = activation_policy_from_rules(EXCHANGE_ADMIN, RULES.validate_python(strict_rules()))

    assert policy.max_duration == timedelta(hours=2)
    assert policy.require_mfa and policy.require_justification and policy.require_ticket
    assert policy.require_approval
    assert policy.require_approval_for_extension
    assert not policy.approver_justification_required
    assert policy.approval_timeout == timedelta(days=2)
    # The requestor's manager cannot be resolved to a person pimbot knows: left out.
    assert policy.approvers == (
        ApproverRef(
            kind=ApproverKind.USER,
            id="aaaaaaaa-0000-0000-0000-000000000001",
            description="Grace Hopper",
        ),
        ApproverRef(
            kind=ApproverKind.GROUP,
            id="bbbbbbbb-0000-0000-0000-000000000002",
            description="Exchange approvers",
        ),
    )


def test_an_enabled_authentication_context_is_reported_by_its_claim_value() -> None:
    rules = strict_rules()
    rules[3].update({"isEnabled": True, "claimValue": "c1"})
    rules[1]["enabledRules"] = ["Justification"]  # PIM: MFA and auth context exclude each other

    policy = activation_policy_from_rules(EXCHANGE_ADMIN, RULES.validate_python(rules))

    assert policy.authentication_context == "c1"
    assert not policy.require_mfa


def test_missing_rules_fall_back_to_microsofts_defaults() -> None:
    policy = activation_policy_from_rules(EXCHANGE_ADMIN, [])

    assert policy.max_duration == timedelta(hours=8)
    assert policy.require_mfa
    assert policy.require_justification
    assert not policy.require_ticket
    assert not policy.require_approval
    assert policy.approval_timeout == timedelta(days=1)


def test_an_empty_enablement_rule_requires_nothing() -> None:
    rules = strict_rules()
    rules[1]["enabledRules"] = []
    rules[2]["setting"]["isApprovalRequired"] = False

    policy = activation_policy_from_rules(EXCHANGE_ADMIN, RULES.validate_python(rules))

    assert not policy.require_mfa
    assert not policy.require_justification
    assert not policy.require_ticket
    assert not policy.require_approval


def test_rules_for_admins_do_not_shape_the_end_user_policy() -> None:
    rules = [
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_Admin_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": "PT1H",
        },
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
            "id": "Enablement_Admin_Assignment",
            "enabledRules": ["Ticketing"],
        },
    ]

    policy = activation_policy_from_rules(EXCHANGE_ADMIN, RULES.validate_python(rules))

    assert policy.max_duration == timedelta(hours=8)
    assert not policy.require_ticket


def test_an_unknown_rule_type_is_kept_but_not_read() -> None:
    rules = RULES.validate_python(
        [{"@odata.type": "#microsoft.graph.someFutureRule", "id": "Future_EndUser_Assignment"}]
    )
    assert isinstance(rules[0], OtherRule)
    assert activation_policy_from_rules(EXCHANGE_ADMIN, rules).max_duration == timedelta(hours=8)
